package experiments

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments/search"
)

// State is where an experiment or a trial is, HopsML's RUNNING/FINISHED/FAILED/KILLED plus the
// states a trial passes through before it runs.
type State string

// States.
const (
	Queued   State = "queued"   // a trial waiting for an executor
	Waiting  State = "waiting"  // a trial waiting for free GPUs
	Running  State = "running"  // running
	Finished State = "finished" // ended by itself (an experiment: every trial ended; some may have failed)
	Failed   State = "failed"   // a trial that raised or exited non-zero; an experiment whose trials all failed
	Killed   State = "killed"   // stopped by the user, a timeout, or the server going away
)

// Ended reports whether s is final.
func (s State) Ended() bool { return s == Finished || s == Failed || s == Killed }

// Experiment is the record of one %%hops run: what ran, from which notebook version, with what, and
// what came out. It is what /api/hops/experiments/{id} serves and Experiments/<id>/experiment.json
// holds.
type Experiment struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	User    string    `json:"user"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	State   State     `json:"state"`
	// Note says what the user should know about the outcome: why it was killed, that no trial
	// logged the metric to optimize.
	Note string `json:"note,omitempty"`

	Code     string `json:"code"`     // the cell body, exactly as executed
	Cell     string `json:"cell"`     // the whole cell, %%hops line included
	Notebook string `json:"notebook"` // workspace path of the notebook that ran it; "" outside one
	// Commit is the notebook's last saved version (a git commit) when the run started.
	Commit string `json:"commit,omitempty"`
	// CodeChanged is true when the executed cell is not in the notebook at Commit: it was edited (or
	// written) after the last save.
	CodeChanged bool   `json:"code_changed"`
	KernelID    string `json:"kernel_id,omitempty"`
	// RerunOf is the experiment this one ran again (same code, same trials' parameters).
	RerunOf string `json:"rerun_of,omitempty"`

	Method      search.Method     `json:"method"`
	Objective   *search.Objective `json:"objective,omitempty"`
	Seed        int64             `json:"seed,omitempty"`
	Executors   int               `json:"executors"`
	GPUs        int               `json:"gpus_per_trial"`
	Timeout     Duration          `json:"timeout,omitzero"`
	TrialsTotal int               `json:"trials_total"`
	Trials      []*Trial          `json:"trials"`
	// Best is the id of the best trial by the objective, BestValue its value; "" and nil without one.
	Best      string   `json:"best,omitempty"`
	BestValue *float64 `json:"best_value,omitempty"`

	// Location is where the record lives on the project store: Experiments/<id>.
	Location    string       `json:"location"`
	Environment *Environment `json:"environment,omitempty"`
}

// Trial is one run of the cell with one assignment of parameters.
type Trial struct {
	ID         string        `json:"id"` // t00, t01, ...
	Index      int           `json:"index"`
	Generation int           `json:"generation,omitempty"` // differential evolution's generation
	Params     search.Params `json:"params"`
	State      State         `json:"state"`
	Started    time.Time     `json:"started,omitzero"` // when the cell's code began
	Ended      time.Time     `json:"ended,omitzero"`
	// Metrics are the last value logged of each metric.
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	ExitCode *int               `json:"exit_code,omitempty"`
	// Error is the exception the code raised (or why the trial did not run), Traceback its trace.
	Error     string   `json:"error,omitempty"`
	Traceback string   `json:"traceback,omitempty"`
	GPUs      []int    `json:"gpus,omitempty"` // host indices of the GPUs it held
	Artifacts []string `json:"artifacts,omitempty"`
	Models    []Model  `json:"models,omitempty"`
	// Tensorboard is the store path of the trial's TensorBoard logdir, when it wrote one.
	Tensorboard string `json:"tensorboard,omitempty"`
	// Timeline is every value logged, per metric, in order; only in full records.
	Timeline map[string][]Point `json:"timeline,omitempty"`
	// GPUSamples are the per-second readings of the trial's GPUs; only in full records.
	GPUSamples []gpu.Sample `json:"gpu_samples,omitempty"`
}

// Duration is the trial's run time so far.
func (t *Trial) Duration(now time.Time) time.Duration {
	switch {
	case t.Started.IsZero():
		return 0
	case t.Ended.IsZero():
		return now.Sub(t.Started)
	}
	return t.Ended.Sub(t.Started)
}

// Point is one logged value of a metric.
type Point struct {
	Step  int64     `json:"step"`
	Value float64   `json:"value"`
	Time  time.Time `json:"time"`
}

// Model is a model a trial exported with hops.model.export.
type Model struct {
	Name     string             `json:"name"`
	Version  int                `json:"version"`
	Location string             `json:"location"` // Models/<name>/<version>
	Metrics  map[string]float64 `json:"metrics,omitempty"`
}

// Duration is a time.Duration that reads and writes as a string like "1m30s".
type Duration time.Duration

// MarshalText writes the duration as Go formats it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a duration like "90s" or "1h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// NewID returns a new experiment id: the UTC start time to the second and 4 random hex digits, so
// ids sort by time and are short enough to type.
func NewID(now time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
