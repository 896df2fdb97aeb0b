// Package gpu owns the NVIDIA GPUs of this host for the local executor. It discovers them through NVML
// (github.com/NVIDIA/go-nvml): model, memory, utilization, driver and CUDA versions (Discover, or Open a
// Host that stays initialized for the life of a server); it samples the utilization and memory of given
// GPUs (Host.Sample, Monitor); and it allocates whole GPUs to trials by index (Allocator), so that each
// trial gets its own CUDA_VISIBLE_DEVICES and waits in line while none are free.
//
// Everything takes an nvml.Interface so that tests run against go-nvml's mock servers and hosts without
// a driver get ErrNoDriver instead of a crash.
package gpu

import (
	"errors"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrNoDriver means NVML could not be loaded: no NVIDIA driver on this host.
var ErrNoDriver = errors.New("no NVIDIA driver (libnvidia-ml.so.1 not found): GPUs are unavailable on this host")

// Device is one GPU as NVML reports it.
type Device struct {
	Index          int    `json:"index"`
	UUID           string `json:"uuid"`
	Name           string `json:"name"`
	MemoryTotal    uint64 `json:"memory_total_bytes"`
	MemoryUsed     uint64 `json:"memory_used_bytes"`
	UtilizationGPU uint32 `json:"utilization_gpu_percent"`
}

// Inventory is the GPUs of a host with the driver that runs them.
type Inventory struct {
	Driver  string   `json:"driver"`
	CUDA    string   `json:"cuda"` // highest CUDA version the driver supports, e.g. "12.4"
	Devices []Device `json:"devices"`
}

// System returns the host's NVML library (loaded lazily by Discover and Open).
func System() nvml.Interface { return nvml.New() }

// Discover initializes NVML, reads every device and shuts NVML down again.
// A server that reads the GPUs repeatedly should Open a Host once instead.
func Discover(lib nvml.Interface) (Inventory, error) {
	h, err := Open(lib)
	if err != nil {
		return Inventory{}, err
	}
	defer h.Close()
	return h.Inventory()
}
