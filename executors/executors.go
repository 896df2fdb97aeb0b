// Package executors runs the trials of an experiment. Backend is the one interface; each kind of
// executor is a subpackage: executors/local runs trials as processes on this host with GPUs from
// executors/gpu. A trial is a program (the cell's code) plus parameters; what it reports comes back
// through a Sink while it runs.
package executors

import (
	"context"
	"errors"

	"github.com/hopsml/hops/executors/gpu"
)

// Task is one trial to run.
type Task struct {
	// Label names the trial in messages and as the holder of its GPUs, e.g. "20261125-103012-3f9a/t03".
	Label string
	// Program is the path of the file with the code to run.
	Program string
	// Dir is the working directory: the notebook's directory, so relative paths mean what they mean
	// in the notebook.
	Dir string
	// Scratch is a directory of the trial's own (TensorBoard logdir and other local files).
	Scratch string
	// Params is the trial's parameters as a JSON object.
	Params []byte
	// GPUs is how many whole GPUs the trial gets.
	GPUs int
	// Env is extra environment (KEY=value) on top of the executor's.
	Env []string
}

// Sink receives what a running trial produces, from the backend's goroutines: calls for one trial
// may come concurrently (stdout, stderr and events are read apart) and must not block for long.
type Sink interface {
	// Waiting says the trial waits for free GPUs.
	Waiting()
	// Started says the trial's process runs, on these GPUs (host indices).
	Started(gpus []int)
	// Output is one line the trial wrote to stream ("stdout" or "stderr"), without its newline.
	Output(stream string, line string)
	// Event is one line the trial's SDK wrote to the events pipe (a JSON object).
	Event(line []byte)
	// GPUSamples are readings of the trial's GPUs.
	GPUSamples(samples []gpu.Sample)
}

// Result is how a trial's process ended.
type Result struct {
	ExitCode int  // the process's exit code; -1 when killed by a signal
	Stopped  bool // it was stopped because its context ended
}

// Backend runs trials.
type Backend interface {
	// Run runs one trial and waits for it to end. When ctx ends, the trial is stopped: its whole
	// process group gets SIGTERM, then SIGKILL after a grace period, and Run returns with Stopped.
	// The error is for a trial that could not be started at all (no such interpreter, too many
	// GPUs asked for).
	Run(ctx context.Context, t Task, sink Sink) (Result, error)
	// GPUs is how many GPUs trials can ask for at most (0 without GPUs), and why there are none.
	GPUs() (n int, why error)
}

// ErrNoGPUs wraps the reason a trial cannot get the GPUs it asks for.
var ErrNoGPUs = errors.New("not enough GPUs")
