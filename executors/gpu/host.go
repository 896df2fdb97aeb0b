package gpu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// errClosed is returned by a Host's methods after Close.
var errClosed = errors.New("NVML is closed: the GPU host was already shut down")

// Host is an initialized NVML for the life of a server: Open once, Close at shutdown.
// Its methods are safe for concurrent use.
type Host struct {
	lib nvml.Interface

	mu      sync.RWMutex // read-held while NVML is in use, write-held by Close
	closed  bool
	devices []nvml.Device // handles by index, resolved at Open
}

// Open initializes NVML and resolves a handle for every GPU. It returns ErrNoDriver when the NVML
// library or the driver is missing.
func Open(lib nvml.Interface) (*Host, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND || ret == nvml.ERROR_DRIVER_NOT_LOADED {
			return nil, ErrNoDriver
		}
		return nil, fmt.Errorf("initialize NVML: %w", ret)
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		lib.Shutdown()
		return nil, fmt.Errorf("count GPUs: %w", ret)
	}
	h := &Host{lib: lib, devices: make([]nvml.Device, n)}
	for i := range n {
		d, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			lib.Shutdown()
			return nil, fmt.Errorf("GPU %d: %w", i, ret)
		}
		h.devices[i] = d
	}
	return h, nil
}

// Inventory reads the driver and every device (same content as Discover, without re-initializing NVML).
func (h *Host) Inventory() (Inventory, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return Inventory{}, errClosed
	}
	var inv Inventory
	if v, ret := h.lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		inv.Driver = v
	}
	if v, ret := h.lib.SystemGetCudaDriverVersion(); ret == nvml.SUCCESS {
		inv.CUDA = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	for i, d := range h.devices {
		dev := Device{Index: i}
		dev.Name, _ = d.GetName()
		dev.UUID, _ = d.GetUUID()
		if m, ret := d.GetMemoryInfo(); ret == nvml.SUCCESS {
			dev.MemoryTotal, dev.MemoryUsed = m.Total, m.Used
		}
		if u, ret := d.GetUtilizationRates(); ret == nvml.SUCCESS {
			dev.UtilizationGPU = u.Gpu
		}
		inv.Devices = append(inv.Devices, dev)
	}
	return inv, nil
}

// Sample is one reading of one GPU.
type Sample struct {
	Time           time.Time `json:"time"`
	Index          int       `json:"index"`
	UtilizationGPU uint32    `json:"utilization_gpu_percent"`
	MemoryUsed     uint64    `json:"memory_used_bytes"`
	MemoryTotal    uint64    `json:"memory_total_bytes"`
}

// Sample reads the utilization and memory of the given devices, one Sample per index in the given
// order, all stamped with the same time. It fails if any index is unknown or any reading fails.
func (h *Host) Sample(indices []int) ([]Sample, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return nil, errClosed
	}
	for _, i := range indices {
		if i < 0 || i >= len(h.devices) {
			return nil, fmt.Errorf("sample GPU %d: no such GPU (this host has %d)", i, len(h.devices))
		}
	}
	now := time.Now()
	out := make([]Sample, 0, len(indices))
	for _, i := range indices {
		d := h.devices[i]
		m, ret := d.GetMemoryInfo()
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("sample GPU %d memory: %w", i, ret)
		}
		u, ret := d.GetUtilizationRates()
		if ret != nvml.SUCCESS {
			return nil, fmt.Errorf("sample GPU %d utilization: %w", i, ret)
		}
		out = append(out, Sample{Time: now, Index: i, UtilizationGPU: u.Gpu, MemoryUsed: m.Used, MemoryTotal: m.Total})
	}
	return out, nil
}

// Close shuts NVML down. It waits for readings in flight; later calls to the Host fail. Closing twice
// is a no-op.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	if ret := h.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("shut down NVML: %w", ret)
	}
	return nil
}

// Monitor samples the given devices at once and then every interval (a second when interval is not
// positive) until ctx ends, passing each reading to fn. fn is called from Monitor's goroutine, one
// reading at a time, never after Monitor returns. A failed reading is skipped, not fatal. Monitor
// returns when ctx is done, or at once when there is nothing to sample.
func Monitor(ctx context.Context, h *Host, indices []int, interval time.Duration, fn func([]Sample)) {
	if len(indices) == 0 {
		return
	}
	if interval <= 0 {
		interval = time.Second
	}
	indices = append([]int(nil), indices...) // the caller may reuse its slice
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if s, err := h.Sample(indices); err == nil && ctx.Err() == nil {
			fn(s)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
