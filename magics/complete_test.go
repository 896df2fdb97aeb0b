package magics

import (
	"slices"
	"testing"
)

func TestComplete(t *testing.T) {
	all := []string{"checkout", "diff", "env", "experiments", "gpus", "help", "pip", "rerun", "run", "version", "versions"}
	for _, tc := range []struct {
		line       string
		pos        int // -1: the end of the line
		want       []string
		start, end int
		ok         bool
	}{
		// The magic name itself: see also TestCompleteOffersBothMagicsAfterOnePercent.
		{"%", -1, []string{"%hops", "%%hops"}, 0, 1, true},
		{"%%", -1, []string{"%%hops"}, 0, 2, true},
		{"%%h", -1, []string{"%%hops"}, 0, 3, true},
		{"%%hop", -1, []string{"%%hops"}, 0, 5, true},
		// Command names.
		{"%hops ", -1, all, 6, 6, true},
		{"%hops  ", -1, all, 7, 7, true},
		{"%hops ve", -1, []string{"version", "versions"}, 6, 8, true},
		{"%hops versi", -1, []string{"version", "versions"}, 6, 11, true},
		{"%hops d", -1, []string{"diff"}, 6, 7, true},
		{"%hops en", -1, []string{"env"}, 6, 8, true},
		{"%hops x", -1, nil, 6, 7, true},
		{"%%hops ver", -1, []string{"version", "versions"}, 7, 10, true},
		{"%hops ve rest of the line", 8, []string{"version", "versions"}, 6, 8, true},
		{"%hops ve", 99, []string{"version", "versions"}, 6, 8, true},
		// Flags.
		{"%hops env --g", -1, []string{"--grep"}, 10, 13, true},
		{"%hops env --", -1, []string{"--grep", "--help", "--json"}, 10, 12, true},
		{"%hops env -", -1, []string{"--grep", "--help", "--json"}, 10, 11, true},
		{"%hops env --grep torch --j", -1, []string{"--json"}, 23, 26, true},
		{"%hops env --grep ü --j", -1, []string{"--json"}, 19, 22, true}, // rune offsets
		{"%hops version --", -1, []string{"--help"}, 14, 16, true},
		{"%hops diff --i", -1, []string{"--ignore-execution-counts", "--ignore-outputs"}, 11, 14, true},
		{"%hops nosuch --", -1, nil, 13, 15, true},
		// Commands after help.
		{"%hops help e", -1, []string{"env", "experiments"}, 11, 12, true},
		{"%hops help ", -1, all, 11, 11, true},
		{"%hops help env ", -1, nil, 15, 15, true},
		{"%hops env ", -1, nil, 10, 10, true},
		// Not a %hops line: the engine completes it.
		{"print(1)", -1, nil, 0, 0, false},
		{"%matplotlib", -1, nil, 0, 0, false},
		{"%matplotlib inline", -1, nil, 0, 0, false},
		{"%hopsfoo ", -1, nil, 0, 0, false},
		{"", -1, nil, 0, 0, false},
	} {
		pos := tc.pos
		if pos < 0 {
			pos = len([]rune(tc.line))
		}
		c, ok := Standard().Complete(tc.line, pos)
		if ok != tc.ok {
			t.Errorf("Complete(%q, %d) ok = %v, want %v", tc.line, pos, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if !slices.Equal(c.Matches, tc.want) || c.Start != tc.start || c.End != tc.end {
			t.Errorf("Complete(%q, %d) = %q [%d:%d], want %q [%d:%d]",
				tc.line, pos, c.Matches, c.Start, c.End, tc.want, tc.start, tc.end)
		}
	}
}

// TestCompleteOffersBothMagicsAfterOnePercent: as in IPython, where "%h" completes to line magics
// and to cell magics ("%%html"), a line starting with one % is completed to %hops and to %%hops.
func TestCompleteOffersBothMagicsAfterOnePercent(t *testing.T) {
	for _, line := range []string{"%h", "%ho", "%hop"} {
		c, ok := Standard().Complete(line, len(line))
		want := []string{"%hops", "%%hops"}
		if !ok || !slices.Equal(c.Matches, want) || c.Start != 0 || c.End != len(line) {
			t.Errorf("Complete(%q) = %q [%d:%d], %v; want %q [0:%d]", line, c.Matches, c.Start, c.End, ok, want, len(line))
		}
	}
}

func TestInspect(t *testing.T) {
	r := Standard()
	for _, tc := range []struct {
		line      string
		want, not []string
		ok        bool
	}{
		{"%hops env", []string{"%hops env", "--grep PATTERN", "%hops env --grep torch"}, []string{"%hops version"}, true},
		{"%%hops env --json", []string{"%hops env"}, []string{"%hops version"}, true},
		{"%hops version", []string{"%hops version"}, []string{"%hops env"}, true},
		{"%hops", []string{"%hops env", "%hops help", "%hops version"}, nil, true},
		{"%hops nosuch", []string{"%hops env", "%hops help", "%hops version"}, nil, true},
		{"x=1", nil, nil, false},
		{"%matplotlib inline", nil, nil, false},
	} {
		b, ok := r.Inspect(tc.line)
		if ok != tc.ok {
			t.Errorf("Inspect(%q) ok = %v, want %v", tc.line, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		plain, _ := b["text/plain"].(string)
		if _, ok := b["text/html"].(string); !ok {
			t.Errorf("Inspect(%q) has no text/html", tc.line)
		}
		mentions(t, "Inspect("+tc.line+")", plain, tc.want, tc.not)
	}
}
