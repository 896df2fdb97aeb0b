package experiments

import (
	"context"
	"sort"
	"sync"
)

// Event is one thing that happened in a running experiment, as GET
// /api/hops/experiments/{id}/events streams it (one JSON object per line). Seq numbers events from 1
// so that a client that reconnects asks for what it has not seen.
type Event struct {
	Seq  int    `json:"seq"`
	Kind string `json:"kind"` // "start", "trial", "output", "end"
	// Experiment is the record: without trials on "start", whole (timelines too) on "end".
	Experiment *Experiment `json:"experiment,omitempty"`
	// Trial is a trial's new state ("trial"), without its timeline.
	Trial *Trial `json:"trial,omitempty"`
	// TrialID, Stream and Text are one line of a trial's output ("output").
	TrialID string `json:"trial_id,omitempty"`
	Stream  string `json:"stream,omitempty"`
	Text    string `json:"text,omitempty"`
}

// maxOutputEvents bounds the output lines a run keeps in memory for clients that follow it late;
// the trial's output.log on the store has every line.
const maxOutputEvents = 20000

// feed is the event log of one run: appended to by the run, read by any number of followers.
type feed struct {
	mu      sync.Mutex
	events  []Event
	outputs int           // output events in events
	changed chan struct{} // closed and replaced on every append
	done    bool
}

func newFeed() *feed { return &feed{changed: make(chan struct{})} }

func (f *feed) append(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return
	}
	e.Seq = 1
	if n := len(f.events); n > 0 {
		e.Seq = f.events[n-1].Seq + 1
	}
	if e.Kind == "output" {
		f.outputs++
		if f.outputs > maxOutputEvents {
			f.dropOldestOutput()
		}
	}
	f.events = append(f.events, e)
	if e.Kind == "end" {
		f.done = true
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *feed) dropOldestOutput() {
	for i, e := range f.events {
		if e.Kind == "output" {
			f.events = append(f.events[:i:i], f.events[i+1:]...)
			f.outputs--
			return
		}
	}
}

// follow calls fn with every event after seq since, in order, until the "end" event was passed on,
// ctx ends or fn fails.
func (f *feed) follow(ctx context.Context, since int, fn func(Event) error) error {
	for {
		f.mu.Lock()
		i := sort.Search(len(f.events), func(i int) bool { return f.events[i].Seq > since })
		pending := append([]Event(nil), f.events[i:]...)
		changed := f.changed
		f.mu.Unlock()
		for _, e := range pending {
			if err := fn(e); err != nil {
				return err
			}
			since = e.Seq
			if e.Kind == "end" {
				return nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
