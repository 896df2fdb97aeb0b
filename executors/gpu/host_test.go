package gpu

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

func TestHostInventoryReadsEveryDeviceWithoutReinitializing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		srv   *server.Server
		model string
	}{
		{"dgxa100", withUtilization(dgxa100.New()), "A100"},
		{"dgxh100", withUtilization(dgxh100.New()), "H100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inits, shutdowns atomic.Int32
			tc.srv.InitFunc = func() nvml.Return { inits.Add(1); return nvml.SUCCESS }
			tc.srv.ShutdownFunc = func() nvml.Return { shutdowns.Add(1); return nvml.SUCCESS }
			h, err := Open(tc.srv)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				inv, err := h.Inventory()
				if err != nil {
					t.Fatal(err)
				}
				if len(inv.Devices) != 8 || inv.Driver != "550.54.15" || inv.CUDA == "" {
					t.Fatalf("got %d devices, driver %q, cuda %q", len(inv.Devices), inv.Driver, inv.CUDA)
				}
				for i, d := range inv.Devices {
					if d.Index != i || d.UUID == "" || d.MemoryTotal == 0 || d.UtilizationGPU != uint32(10*i) ||
						!strings.Contains(d.Name, tc.model) {
						t.Errorf("device %d: %+v", i, d)
					}
				}
			}
			if inits.Load() != 1 || shutdowns.Load() != 0 {
				t.Errorf("NVML initialized %d times and shut down %d times while open, want 1 and 0", inits.Load(), shutdowns.Load())
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			if err := h.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if shutdowns.Load() != 1 {
				t.Errorf("NVML shut down %d times, want 1", shutdowns.Load())
			}
			if _, err := h.Inventory(); err == nil {
				t.Error("Inventory after Close succeeded")
			}
			if _, err := h.Sample([]int{0}); err == nil {
				t.Error("Sample after Close succeeded")
			}
		})
	}
}

func TestOpenWithoutDriverSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ret      nvml.Return
		noDriver bool
	}{
		{"library not found", nvml.ERROR_LIBRARY_NOT_FOUND, true},
		{"driver not loaded", nvml.ERROR_DRIVER_NOT_LOADED, true},
		{"other failure", nvml.ERROR_NO_PERMISSION, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib := &mock.Interface{InitFunc: func() nvml.Return { return tc.ret }}
			h, err := Open(lib)
			if h != nil || err == nil {
				t.Fatalf("got host %v, error %v", h, err)
			}
			if errors.Is(err, ErrNoDriver) != tc.noDriver {
				t.Errorf("got %v, want ErrNoDriver: %v", err, tc.noDriver)
			}
			if !tc.noDriver && !strings.Contains(err.Error(), "initialize NVML") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func TestSampleReadsLiveValuesOfExactlyTheGivenDevices(t *testing.T) {
	srv, live := withLiveReadings(dgxa100.New())
	h := openHost(t, srv)

	for _, tc := range []struct {
		name    string
		indices []int
	}{
		{"one", []int{3}},
		{"several in the given order", []int{5, 0, 2}},
		{"none", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range uint32(3) {
				for _, i := range tc.indices {
					live[i].util.Store(round*10 + uint32(i))
					live[i].used.Store(uint64(round+1) << 30)
				}
				before := time.Now()
				got, err := h.Sample(tc.indices)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.indices) {
					t.Fatalf("got %d samples, want %d", len(got), len(tc.indices))
				}
				for k, s := range got {
					i := tc.indices[k]
					want := Sample{Time: s.Time, Index: i, UtilizationGPU: round*10 + uint32(i),
						MemoryUsed: uint64(round+1) << 30, MemoryTotal: live[i].total}
					if s != want {
						t.Errorf("round %d: got %+v, want %+v", round, s, want)
					}
					if s.Time.Before(before) || !s.Time.Equal(got[0].Time) {
						t.Errorf("round %d: sample time %v, want one time after %v", round, s.Time, before)
					}
				}
			}
		})
	}
}

func TestSampleOfAnUnknownDeviceFails(t *testing.T) {
	h := openHost(t, dgxa100.New())
	for _, idx := range [][]int{{8}, {-1}, {0, 9}} {
		if _, err := h.Sample(idx); err == nil || !strings.Contains(err.Error(), "this host has 8") {
			t.Errorf("Sample(%v): got %v, want an error naming the 8 GPUs", idx, err)
		}
	}
}

func TestMonitorSamplesTheGivenDevicesEveryIntervalUntilCancelled(t *testing.T) {
	srv, live := withLiveReadings(dgxa100.New())
	h := openHost(t, srv)
	indices := []int{1, 6}
	var reads atomic.Uint32 // every reading sees its own utilization
	for _, i := range indices {
		live[i].onRead = func() uint32 { return reads.Add(1) }
	}

	ctx, cancel := context.WithCancel(t.Context())
	var (
		mu       sync.Mutex
		readings [][]Sample
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Monitor(ctx, h, indices, 10*time.Millisecond, func(s []Sample) {
			mu.Lock()
			defer mu.Unlock()
			readings = append(readings, s)
			if len(readings) == 3 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("Monitor did not return after its context was cancelled")
	}

	mu.Lock()
	defer mu.Unlock()
	if len(readings) < 2 {
		t.Fatalf("got %d readings, want at least 2", len(readings))
	}
	if len(readings) != 3 {
		t.Errorf("got %d readings, want none after cancel (3)", len(readings))
	}
	for k, r := range readings {
		got := []int{}
		for _, s := range r {
			got = append(got, s.Index)
		}
		if !slices.Equal(got, indices) {
			t.Errorf("reading %d is of GPUs %v, want %v", k, got, indices)
		}
		if k > 0 && r[0].UtilizationGPU == readings[k-1][0].UtilizationGPU {
			t.Errorf("reading %d repeats utilization %d: not a live reading", k, r[0].UtilizationGPU)
		}
	}
}

func TestMonitorSkipsFailedReadings(t *testing.T) {
	srv, live := withLiveReadings(dgxa100.New())
	h := openHost(t, srv)
	var calls atomic.Int32
	live[0].fail = func() bool { return calls.Add(1) <= 2 } // the first two readings fail

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var got int
	Monitor(ctx, h, []int{0}, 10*time.Millisecond, func(s []Sample) {
		got++
		if len(s) != 1 || s[0].Index != 0 {
			t.Errorf("reading %+v, want one of GPU 0", s)
		}
		if got == 2 {
			cancel()
		}
	})
	if got != 2 || calls.Load() < 4 {
		t.Errorf("got %d readings after %d attempts, want 2 after the 2 failures", got, calls.Load())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("Monitor stopped passing readings on after a failure")
	}
}

func TestMonitorOfNoDevicesReturnsAtOnce(t *testing.T) {
	h := openHost(t, dgxa100.New())
	Monitor(t.Context(), h, nil, time.Hour, func([]Sample) { t.Error("reading of no GPUs") })
}

func openHost(t *testing.T, lib nvml.Interface) *Host {
	t.Helper()
	h, err := Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// liveReading is what one mock device reports; the test changes it between samples.
type liveReading struct {
	total  uint64
	used   atomic.Uint64
	util   atomic.Uint32
	onRead func() uint32 // when set, the utilization of each reading
	fail   func() bool   // when set and true, the memory reading fails
}

// withLiveReadings makes the mock's memory and utilization readings come from values the test changes
// while a Host samples them (the mock's own MemoryInfo is a plain field, unsafe to change concurrently).
// Set the returned readings' onRead and fail before sampling starts.
func withLiveReadings(s *server.Server) (*server.Server, []*liveReading) {
	live := make([]*liveReading, len(s.Devices))
	for i, d := range s.Devices {
		dev := d.(*server.Device)
		r := &liveReading{total: dev.MemoryInfo.Total}
		live[i] = r
		dev.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
			if r.fail != nil && r.fail() {
				return nvml.Memory{}, nvml.ERROR_UNKNOWN
			}
			used := r.used.Load()
			return nvml.Memory{Total: r.total, Used: used, Free: r.total - used}, nvml.SUCCESS
		}
		dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			if r.onRead != nil {
				return nvml.Utilization{Gpu: r.onRead()}, nvml.SUCCESS
			}
			return nvml.Utilization{Gpu: r.util.Load()}, nvml.SUCCESS
		}
	}
	return s, live
}
