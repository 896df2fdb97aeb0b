package gpu

import (
	"errors"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

func TestDiscoverReadsEveryDeviceOfAServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lib    nvml.Interface
		model  string
		driver string
	}{
		{"dgxa100", withUtilization(dgxa100.New()), "A100", "550.54.15"},
		{"dgxh100", withUtilization(dgxh100.New()), "H100", "550.54.15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Discover(tc.lib)
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Devices) != 8 {
				t.Fatalf("got %d devices, want 8", len(inv.Devices))
			}
			if inv.Driver != tc.driver || inv.CUDA == "" {
				t.Errorf("driver %q cuda %q", inv.Driver, inv.CUDA)
			}
			seen := map[string]bool{}
			for i, d := range inv.Devices {
				if d.Index != i || d.UUID == "" || seen[d.UUID] || d.MemoryTotal == 0 {
					t.Errorf("device %d: %+v", i, d)
				}
				seen[d.UUID] = true
				if d.UtilizationGPU != uint32(10*i) {
					t.Errorf("device %d utilization %d, want %d", i, d.UtilizationGPU, 10*i)
				}
				if !strings.Contains(d.Name, tc.model) {
					t.Errorf("device %d name %q, want a %s", i, d.Name, tc.model)
				}
			}
		})
	}
}

func TestDiscoverWithoutDriverSaysSo(t *testing.T) {
	lib := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
	if _, err := Discover(lib); !errors.Is(err, ErrNoDriver) {
		t.Fatalf("got %v, want ErrNoDriver", err)
	}
}

func TestDiscoverOnThisHostNeverFails(t *testing.T) {
	// Whatever this host has, discovery either lists GPUs or reports the missing driver.
	if _, err := Discover(System()); err != nil && !errors.Is(err, ErrNoDriver) {
		t.Fatal(err)
	}
}

// withUtilization gives the mock's devices a utilization reading (the mock has none): 10% per index.
func withUtilization(s *server.Server) *server.Server {
	for i, d := range s.Devices {
		util := uint32(10 * i)
		d.(*server.Device).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: util}, nvml.SUCCESS
		}
	}
	return s
}
