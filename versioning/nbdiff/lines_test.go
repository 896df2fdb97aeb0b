package nbdiff

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestDiffLines(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"equal", "a\nb", "a\nb", " a\n b\n"},
		{"both empty", "", "", ""},
		{"from empty", "", "a\nb", "+a\n+b\n"},
		{"to empty", "a\nb", "", "-a\n-b\n"},
		{"insert in the middle", "a\nc", "a\nb\nc", " a\n+b\n c\n"},
		{"delete at the start", "a\nb\nc", "b\nc", "-a\n b\n c\n"},
		{"a replaced block shows its deletions first", "a\nb\nc\nd", "a\nx\ny\nd", " a\n-b\n-c\n+x\n+y\n d\n"},
		{"a final newline ends the last line", "a\nb\n", "a\nb", " a\n b\n"},
		{"blank lines count", "a\n\nb", "a\nb", " a\n-\n b\n"},
		{"a line moved is deleted and inserted", "a\nb\nc", "b\nc\na", "-a\n b\n c\n+a\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lineOps(diffLines(splitLines(tc.old), splitLines(tc.new))); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestDiffSeqFindsAShortestEditScript checks, on random sequences over a small alphabet, that the
// script turns a into b and keeps as many elements as a longest common subsequence has.
func TestDiffSeqFindsAShortestEditScript(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() []byte {
		s := make([]byte, rng.IntN(30))
		for i := range s {
			s[i] = "abcd"[rng.IntN(4)]
		}
		return s
	}
	for range 2000 {
		a, b := random(), random()
		script := diffSeq(a, b)
		got, kept := apply(script, a, b)
		if !slices.Equal(got, b) {
			t.Fatalf("%q → %q: script %v makes %q", a, b, script, got)
		}
		if want := lcsLength(a, b); kept != want {
			t.Fatalf("%q → %q: script keeps %d, a longest common subsequence has %d", a, b, kept, want)
		}
	}
}

func TestDiffSeqGivesUpOnUnrelatedHugeInputs(t *testing.T) {
	a, b := make([]string, 100_000), make([]string, 100_000)
	for i := range a {
		a[i] = fmt.Sprint("old ", i)
		b[i] = fmt.Sprint("new ", i)
	}
	a[0], b[0] = "same start", "same start"
	start := time.Now()
	script := diffSeq(a, b)
	elapsed := time.Since(start)
	got, kept := apply(script, a, b)
	if !slices.Equal(got, b) || kept != 1 {
		t.Fatalf("the script does not turn a into b keeping only the common start (kept %d)", kept)
	}
	if elapsed > time.Second {
		t.Errorf("took %v; the cost bounds should make it milliseconds", elapsed)
	}
}

// apply runs an edit script on a, taking insertions from b, and counts the kept elements.
func apply[T comparable](script []edit, a, b []T) (result []T, kept int) {
	i, j := 0, 0
	for _, e := range script {
		switch e {
		case editKeep:
			if a[i] != b[j] {
				panic(fmt.Sprintf("keeps a[%d] %v as b[%d] %v", i, a[i], j, b[j]))
			}
			result, kept = append(result, a[i]), kept+1
			i, j = i+1, j+1
		case editDelete:
			i++
		case editInsert:
			result = append(result, b[j])
			j++
		}
	}
	if i != len(a) || j != len(b) {
		panic(fmt.Sprintf("the script stops at a[%d] b[%d] of %d and %d", i, j, len(a), len(b)))
	}
	return result, kept
}

func lcsLength(a, b []byte) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
