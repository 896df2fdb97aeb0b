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

// maxKept bounds the output lines, and separately the trial updates, a run keeps in memory for
// clients that follow it late: output.log on the store has every line, the catalog every value.
const maxKept = 20000

// feed is the event log of one run: appended to by the run, read by any number of followers.
type feed struct {
	mu       sync.Mutex
	events   []Event
	kept     map[string]int // output and trial events in events, by kind
	lastSeq  int            // the seq of the newest event
	holes    int            // dropped events not yet compacted away
	dropFrom map[string]int // where to look for the oldest event of a kind
	changed  chan struct{}  // closed and replaced on every append
	done     bool
}

func newFeed() *feed {
	return &feed{changed: make(chan struct{}), kept: map[string]int{}, dropFrom: map[string]int{}}
}

func (f *feed) append(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return
	}
	f.lastSeq++
	e.Seq = f.lastSeq
	if e.Kind == "output" || e.Kind == "trial" {
		f.kept[e.Kind]++
		if f.kept[e.Kind] > maxKept {
			f.dropOldest(e.Kind)
		}
	}
	f.events = append(f.events, e)
	if e.Kind == "end" {
		f.done = true
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// dropOldest drops the oldest event of kind: it becomes a hole, skipped by followers, and holes are
// compacted away in one pass once they are half the log, so that dropping stays cheap.
func (f *feed) dropOldest(kind string) {
	for i := f.dropFrom[kind]; i < len(f.events); i++ {
		if f.events[i].Kind == kind {
			f.events[i] = Event{Seq: f.events[i].Seq}
			f.kept[kind]--
			f.dropFrom[kind] = i + 1
			f.holes++
			break
		}
	}
	if f.holes > len(f.events)/2 {
		kept := f.events[:0]
		for _, e := range f.events {
			if e.Kind != "" {
				kept = append(kept, e)
			}
		}
		clear(f.events[len(kept):])
		f.events, f.holes = kept, 0
		clear(f.dropFrom)
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
			if e.Kind == "" { // dropped
				continue
			}
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
