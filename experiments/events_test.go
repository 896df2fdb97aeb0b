package experiments

import (
	"context"
	"testing"
)

func TestAFeedKeepsTheLatestOutputAndTrialEventsAndAlwaysItsStartAndEnd(t *testing.T) {
	f := newFeed()
	f.append(Event{Kind: "start"})
	for i := 0; i < maxKept+10; i++ {
		f.append(Event{Kind: "output", TrialID: "t0", Text: "line"})
		f.append(Event{Kind: "trial", Trial: &Trial{ID: "t0"}})
	}
	f.append(Event{Kind: "end"})
	var kinds = map[string]int{}
	var lastSeq int
	err := f.follow(context.Background(), 0, func(e Event) error {
		if e.Seq <= lastSeq {
			t.Fatalf("seq %d after %d", e.Seq, lastSeq)
		}
		lastSeq = e.Seq
		kinds[e.Kind]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if kinds["start"] != 1 || kinds["end"] != 1 || kinds["output"] != maxKept || kinds["trial"] != maxKept {
		t.Errorf("a late follower got %v", kinds)
	}
	if lastSeq != 2*(maxKept+10)+2 {
		t.Errorf("the end is seq %d: dropping events must not renumber the rest", lastSeq)
	}
}
