package local

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/hopsml/hops/executors"
	"github.com/hopsml/hops/executors/gpu"
)

// recorder is a Sink that keeps what a trial produced.
type recorder struct {
	mu      sync.Mutex
	waited  bool
	started chan []int
	lines   []string
	events  []string
}

func newRecorder() *recorder { return &recorder{started: make(chan []int, 1)} }

func (r *recorder) Waiting()                  { r.mu.Lock(); r.waited = true; r.mu.Unlock() }
func (r *recorder) Started(g []int)           { r.started <- g }
func (r *recorder) GPUSamples(_ []gpu.Sample) {}
func (r *recorder) Event(l []byte) {
	r.mu.Lock()
	r.events = append(r.events, string(l))
	r.mu.Unlock()
}
func (r *recorder) Output(stream, l string) {
	r.mu.Lock()
	r.lines = append(r.lines, stream+": "+l)
	r.mu.Unlock()
}

// trialTask is a trial of code with x=1.5, run by the project's interpreter (python3 outside CI)
// with the SDK from this repository.
func trialTask(t *testing.T, code string) (executors.Task, string) {
	t.Helper()
	py, err := filepath.Abs("../../.venv/bin/python")
	if err == nil {
		_, err = os.Stat(py)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the project venv is missing: run make venv")
		}
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("no Python")
		}
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "program.py")
	if err := os.WriteFile(prog, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	sdk, _ := filepath.Abs("../../python")
	return executors.Task{Label: "e/t0", Program: prog, Dir: dir, Scratch: dir, Params: []byte(`{"x": 1.5}`),
		Env: []string{"PYTHONPATH=" + sdk}}, py
}

func TestATrialStreamsItsOutputAndEventsAndExitsWithItsCode(t *testing.T) {
	task, py := trialTask(t, "import sys, hops\nprint('x is', x)\nprint('careful', file=sys.stderr)\nhops.log(y=x)\nsys.exit(3)\n")
	rec := newRecorder()
	res, err := New(Config{Python: py}).Run(context.Background(), task, rec)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.Stopped {
		t.Errorf("result %+v, want exit code 3", res)
	}
	got := strings.Join(rec.lines, "\n")
	if !strings.Contains(got, "stdout: x is 1.5") || !strings.Contains(got, "stderr: careful") {
		t.Errorf("output:\n%s", got)
	}
	if events := strings.Join(rec.events, "\n"); !strings.Contains(events, `"type": "log"`) && !strings.Contains(events, `"type":"log"`) {
		t.Errorf("events:\n%s", events)
	}
}

func TestAStoppedTrialThatIgnoresSIGTERMIsKilledAfterTheGracePeriod(t *testing.T) {
	task, py := trialTask(t, "import signal, subprocess, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"+
		"subprocess.Popen(['sleep', '60'])\nprint('up', flush=True)\ntime.sleep(60)\n")
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan executors.Result, 1)
	go func() {
		res, _ := New(Config{Python: py, Grace: 300 * time.Millisecond}).Run(ctx, task, rec)
		done <- res
	}()
	<-rec.started
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rec.mu.Lock()
		up := len(rec.lines) > 0
		rec.mu.Unlock()
		if up || time.Now().After(deadline) {
			break
		}
	}
	cancel()
	select {
	case res := <-done:
		if !res.Stopped {
			t.Errorf("result %+v, want stopped", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the trial (or the child it started, holding its output pipe) was not killed")
	}
}

func TestGPUsAreGivenThroughCUDAVisibleDevicesAndAskingForMoreThanExistFails(t *testing.T) {
	task, py := trialTask(t, "import os\nprint(repr(os.environ.get('CUDA_VISIBLE_DEVICES')), os.environ['CUDA_DEVICE_ORDER'])\n")
	alloc := gpu.NewAllocator([]gpu.Device{{Index: 0}, {Index: 1}, {Index: 2}})
	b := New(Config{Python: py, GPUs: alloc})

	for _, tc := range []struct {
		gpus int
		want string
	}{{2, "'0,1' PCI_BUS_ID"}, {0, "'' PCI_BUS_ID"}} {
		task.GPUs = tc.gpus
		rec := newRecorder()
		if _, err := b.Run(context.Background(), task, rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.lines) != 1 || rec.lines[0] != "stdout: "+tc.want {
			t.Errorf("--gpus %d: %v, want %q", tc.gpus, rec.lines, tc.want)
		}
	}
	task.GPUs = 4
	if _, err := b.Run(context.Background(), task, newRecorder()); !errors.Is(err, executors.ErrNoGPUs) || !strings.Contains(err.Error(), "--gpus 3 or fewer") {
		t.Errorf("4 GPUs of 3: %v", err)
	}
	task.GPUs = 1
	_, err := New(Config{Python: py, NoGPUs: gpu.ErrNoDriver}).Run(context.Background(), task, newRecorder())
	if !errors.Is(err, executors.ErrNoGPUs) || !strings.Contains(err.Error(), "--gpus 0") || !strings.Contains(err.Error(), "driver") {
		t.Errorf("a GPU on a host without a driver: %v", err)
	}
}

func TestATrialWaitsForGPUsHeldByAnother(t *testing.T) {
	task, py := trialTask(t, "pass\n")
	alloc := gpu.NewAllocator([]gpu.Device{{Index: 0}})
	held, err := alloc.Acquire(context.Background(), 1, "other")
	if err != nil {
		t.Fatal(err)
	}
	task.GPUs = 1
	rec := newRecorder()
	done := make(chan error, 1)
	go func() {
		_, err := New(Config{Python: py, GPUs: alloc}).Run(context.Background(), task, rec)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	rec.mu.Lock()
	waited := rec.waited
	rec.mu.Unlock()
	if !waited {
		t.Error("the trial did not say it waits for a GPU")
	}
	alloc.Release(held)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if g := <-rec.started; len(g) != 1 || g[0] != 0 {
		t.Errorf("started on %v", g)
	}
}

func TestReadLinesKeepsWhatAProgressBarShowsLast(t *testing.T) {
	var got []string
	readLines(strings.NewReader("a\n 10%\r 50%\r100%\nlast"), func(l string) { got = append(got, l) })
	if strings.Join(got, "|") != "a|100%|last" {
		t.Errorf("%q", got)
	}
}

// sampler records GPU readings.
type sampler struct {
	*recorder
	mu      sync.Mutex
	samples []gpu.Sample
}

func (s *sampler) GPUSamples(g []gpu.Sample) {
	s.mu.Lock()
	s.samples = append(s.samples, g...)
	s.mu.Unlock()
}

func TestATrialOnAMockDGXA100GetsTwoGPUsAndOnlyThoseAreSampled(t *testing.T) {
	lib := dgxa100.New()
	for i, d := range lib.Devices {
		util := uint32(40 + i)
		d.(*server.Device).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: util}, nvml.SUCCESS
		}
	}
	host, err := gpu.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	inv, err := host.Inventory()
	if err != nil || len(inv.Devices) != 8 {
		t.Fatalf("inventory: %v %d devices", err, len(inv.Devices))
	}
	alloc := gpu.NewAllocator(inv.Devices)
	held, _ := alloc.Acquire(context.Background(), 1, "someone else") // GPU 0 is taken
	task, py := trialTask(t, "import os, time\nprint(os.environ['CUDA_VISIBLE_DEVICES'])\ntime.sleep(0.5)\n")
	task.GPUs = 2
	s := &sampler{recorder: newRecorder()}
	if _, err := New(Config{Python: py, GPUs: alloc, Host: host, SampleEvery: 50 * time.Millisecond}).Run(context.Background(), task, s); err != nil {
		t.Fatal(err)
	}
	if got := <-s.started; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("given GPUs %v, want the lowest free: [1 2]", got)
	}
	if s.lines[0] != "stdout: 1,2" {
		t.Errorf("the trial saw %v", s.lines)
	}
	if len(s.samples) < 4 {
		t.Fatalf("%d samples in 0.5 s at 50 ms", len(s.samples))
	}
	for _, x := range s.samples {
		if (x.Index != 1 && x.Index != 2) || x.UtilizationGPU != uint32(40+x.Index) || x.MemoryTotal == 0 {
			t.Errorf("sample of a GPU the trial does not hold, or wrong values: %+v", x)
		}
	}
	if h := alloc.Holders(); len(h) != 1 || h[held[0]] != "someone else" {
		t.Errorf("after the trial the holders are %v", h)
	}
}
