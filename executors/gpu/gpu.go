// Package gpu discovers the NVIDIA GPUs of this host through NVML (github.com/NVIDIA/go-nvml): model,
// memory, utilization, driver and CUDA versions. It takes an nvml.Interface so that tests run against
// go-nvml's mock servers and hosts without a driver get ErrNoDriver instead of a crash.
package gpu

import (
	"errors"
	"fmt"

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

// System returns the host's NVML library (loaded lazily by Discover).
func System() nvml.Interface { return nvml.New() }

// Discover initializes NVML, reads every device and shuts NVML down again.
func Discover(lib nvml.Interface) (Inventory, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND || ret == nvml.ERROR_DRIVER_NOT_LOADED {
			return Inventory{}, ErrNoDriver
		}
		return Inventory{}, fmt.Errorf("initialize NVML: %s", lib.ErrorString(ret))
	}
	defer lib.Shutdown()
	var inv Inventory
	if v, ret := lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		inv.Driver = v
	}
	if v, ret := lib.SystemGetCudaDriverVersion(); ret == nvml.SUCCESS {
		inv.CUDA = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return inv, fmt.Errorf("count GPUs: %s", lib.ErrorString(ret))
	}
	for i := 0; i < n; i++ {
		d, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return inv, fmt.Errorf("GPU %d: %s", i, lib.ErrorString(ret))
		}
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
