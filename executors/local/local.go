// Package local is the executor that runs trials as processes on this host: each trial is the
// project's Python running hops' trial runner (python -m hops._trial) in its own process group,
// with whole GPUs from an executors/gpu Allocator named in CUDA_VISIBLE_DEVICES, its stdout and
// stderr read line by line and its SDK events read from an inherited pipe (fd 3).
package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hopsml/hops/executors"
	"github.com/hopsml/hops/executors/gpu"
)

// Config is how the local executor runs trials.
type Config struct {
	// Python is the project's interpreter, which has the hops SDK importable.
	Python string
	// Env is the environment every trial starts from (KEY=value); nil means this process's.
	Env []string
	// GPUs hands out the host's GPUs; nil when there are none, and NoGPUs says why.
	GPUs   *gpu.Allocator
	NoGPUs error
	// Host samples the GPUs a trial holds every SampleEvery (default 1s); nil: no sampling.
	Host        *gpu.Host
	SampleEvery time.Duration
	// Grace is how long a stopped trial has between SIGTERM and SIGKILL (default 1s).
	Grace time.Duration
}

// Backend runs trials as local processes.
type Backend struct{ cfg Config }

// New returns a local executor.
func New(cfg Config) *Backend {
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Second
	}
	return &Backend{cfg: cfg}
}

// GPUs is how many GPUs a trial may ask for.
func (b *Backend) GPUs() (int, error) {
	if b.cfg.GPUs == nil || b.cfg.GPUs.Total() == 0 {
		why := b.cfg.NoGPUs
		if why == nil {
			why = gpu.ErrNoGPU
		}
		return 0, why
	}
	return b.cfg.GPUs.Total(), nil
}

// Run runs one trial to its end.
func (b *Backend) Run(ctx context.Context, t executors.Task, sink executors.Sink) (executors.Result, error) {
	gpus, err := b.acquire(ctx, t, sink)
	if err != nil {
		if ctx.Err() != nil {
			return executors.Result{ExitCode: -1, Stopped: true}, nil
		}
		return executors.Result{}, err
	}
	if len(gpus) > 0 {
		defer b.cfg.GPUs.Release(gpus)
	}

	events, eventsW, err := os.Pipe()
	if err != nil {
		return executors.Result{}, err
	}
	defer events.Close()
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		eventsW.Close()
		return executors.Result{}, err
	}
	defer stdout.Close()
	stderr, stderrW, err := os.Pipe()
	if err != nil {
		eventsW.Close()
		stdoutW.Close()
		return executors.Result{}, err
	}
	defer stderr.Close()

	cmd := exec.Command(b.cfg.Python, "-u", "-m", "hops._trial")
	cmd.Dir = t.Dir
	cmd.Env = b.env(t, gpus)
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	cmd.ExtraFiles = []*os.File{eventsW} // fd 3 in the trial
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	// The trial holds the write ends now; closing ours lets the readers see EOF when it is gone.
	eventsW.Close()
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		return executors.Result{}, fmt.Errorf("start trial %s with %s: %w", t.Label, b.cfg.Python, err)
	}
	sink.Started(gpus)

	var readers sync.WaitGroup
	readers.Add(3)
	go func() { defer readers.Done(); readLines(stdout, func(l string) { sink.Output("stdout", l) }) }()
	go func() { defer readers.Done(); readLines(stderr, func(l string) { sink.Output("stderr", l) }) }()
	go func() { defer readers.Done(); readLines(events, func(l string) { sink.Event([]byte(l)) }) }()

	monitorCtx, stopMonitor := context.WithCancel(context.Background())
	var monitor sync.WaitGroup
	if b.cfg.Host != nil && len(gpus) > 0 {
		monitor.Add(1)
		go func() {
			defer monitor.Done()
			gpu.Monitor(monitorCtx, b.cfg.Host, gpus, b.cfg.SampleEvery, sink.GPUSamples)
		}()
	}

	exited := make(chan struct{})
	killerDone := make(chan struct{})
	stopped := false
	go func() {
		defer close(killerDone)
		select {
		case <-ctx.Done():
		case <-exited:
			return
		}
		stopped = true
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(b.cfg.Grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
	waitErr := cmd.Wait()
	stopMonitor()
	monitor.Wait()
	// Whatever the trial left running in its group goes with it; then the pipes reach EOF.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	close(exited)
	<-killerDone
	readers.Wait()

	res := executors.Result{ExitCode: cmd.ProcessState.ExitCode(), Stopped: stopped}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return res, fmt.Errorf("trial %s: %w", t.Label, waitErr)
	}
	return res, nil
}

// acquire gets the trial its GPUs, telling the sink when it has to wait for them.
func (b *Backend) acquire(ctx context.Context, t executors.Task, sink executors.Sink) ([]int, error) {
	if t.GPUs == 0 {
		return nil, nil
	}
	if n, why := b.GPUs(); t.GPUs > n {
		if n == 0 {
			return nil, fmt.Errorf("%w: trial %s asks for %d GPU(s): %v; use --gpus 0", executors.ErrNoGPUs, t.Label, t.GPUs, why)
		}
		return nil, fmt.Errorf("%w: trial %s asks for %d GPUs and this host has %d: ask for --gpus %d or fewer",
			executors.ErrNoGPUs, t.Label, t.GPUs, n, n)
	}
	if b.cfg.GPUs.Total()-len(b.cfg.GPUs.Holders()) < t.GPUs {
		sink.Waiting()
	}
	return b.cfg.GPUs.Acquire(ctx, t.GPUs, t.Label)
}

func (b *Backend) env(t executors.Task, gpus []int) []string {
	env := append([]string{}, b.cfg.Env...)
	env = append(env, t.Env...)
	env = append(env,
		"HOPS_PROGRAM="+t.Program,
		"HOPS_PARAMS="+string(t.Params),
		"HOPS_EVENTS_FD=3",
		"HOPS_TRIAL_DIR="+t.Scratch,
		"PYTHONUNBUFFERED=1",
		// CUDA numbers GPUs fastest first unless told otherwise; NVML, which allocated them, by PCI bus.
		"CUDA_DEVICE_ORDER=PCI_BUS_ID",
	)
	if len(gpus) > 0 || (b.cfg.GPUs != nil && b.cfg.GPUs.Total() > 0) {
		ids := make([]string, len(gpus))
		for i, g := range gpus {
			ids[i] = strconv.Itoa(g)
		}
		// Empty for a trial that asked for none: it must not use GPUs other trials were given.
		env = append(env, "CUDA_VISIBLE_DEVICES="+strings.Join(ids, ","))
	}
	return env
}

// maxLine caps a line; a longer one is passed on in pieces.
const maxLine = 64 << 10

// readLines calls fn with each line of r, without its newline. A carriage return inside a line (a
// progress bar redrawing itself) keeps only what follows the last one, as a terminal would show.
func readLines(r io.Reader, fn func(string)) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			s := strings.TrimSuffix(string(line), "\n")
			s = strings.TrimSuffix(s, "\r")
			if i := strings.LastIndexByte(s, '\r'); i >= 0 {
				s = s[i+1:]
			}
			if s != "" || len(line) > 0 && line[len(line)-1] == '\n' {
				fn(s)
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
