package nbdiff

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCellsAreMatchedByIDThenContentThenSimilarity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new []map[string]any
		want     []string
	}{{
		name: "identical notebooks",
		old:  []map[string]any{markdown("m", "# Title"), code("a", "import os")},
		new:  []map[string]any{markdown("m", "# Title"), code("a", "import os")},
		want: []string{"unchanged 0→0", "unchanged 1→1"},
	}, {
		name: "a cell edited beyond recognition keeps its id",
		old:  []map[string]any{code("a", "x = 1\ny = 2"), code("b", "print(x)")},
		new:  []map[string]any{code("a", "model.fit(data)"), code("b", "print(x)")},
		want: []string{"modified 0→0", "unchanged 1→1"},
	}, {
		name: "a cell inserted without ids",
		old:  []map[string]any{code("", "import os"), code("", "print(os.sep)")},
		new:  []map[string]any{code("", "import os"), markdown("", "Separator:"), code("", "print(os.sep)")},
		want: []string{"unchanged 0→0", "added -→1", "unchanged 1→2"},
	}, {
		name: "a cell deleted without ids",
		old:  []map[string]any{code("", "import os"), code("", "x = 1"), code("", "print(os.sep)")},
		new:  []map[string]any{code("", "import os"), code("", "print(os.sep)")},
		want: []string{"unchanged 0→0", "removed 1→-", "unchanged 2→1"},
	}, {
		name: "a cell edited without ids is matched by its common lines",
		old:  []map[string]any{code("", "import os"), code("", "a = 1\nb = 2\nc = 3\nprint(a, b, c)")},
		new:  []map[string]any{code("", "import os"), code("", "a = 1\nb = 20\nc = 3\nprint(a, b, c)")},
		want: []string{"unchanged 0→0", "modified 1→1"},
	}, {
		name: "a one-line cell edited without ids is matched by its characters",
		old:  []map[string]any{code("", "import os"), code("", "learning_rate = 0.01"), markdown("", "End")},
		new:  []map[string]any{code("", "import os"), code("", "learning_rate = 0.02"), markdown("", "End")},
		want: []string{"unchanged 0→0", "modified 1→1", "unchanged 2→2"},
	}, {
		name: "an unrelated replacement without ids is a removal then an addition",
		old:  []map[string]any{code("", "import os"), code("", "x = compute()"), markdown("", "End")},
		new:  []map[string]any{code("", "import os"), code("", "plt.show()"), markdown("", "End")},
		want: []string{"unchanged 0→0", "removed 1→-", "added -→1", "unchanged 2→2"},
	}, {
		name: "a cell moved down",
		old:  []map[string]any{code("a", "A"), code("b", "B"), code("c", "C"), code("d", "D")},
		new:  []map[string]any{code("b", "B"), code("c", "C"), code("a", "A"), code("d", "D")},
		want: []string{"unchanged 1→0", "unchanged 2→1", "moved unchanged 0→2", "unchanged 3→3"},
	}, {
		name: "a cell moved and edited",
		old:  []map[string]any{code("a", "A"), code("b", "B"), code("c", "C")},
		new:  []map[string]any{code("b", "B"), code("c", "C"), code("a", "A2")},
		want: []string{"unchanged 1→0", "unchanged 2→1", "moved modified 0→2"},
	}, {
		name: "a cell moved without ids",
		old:  []map[string]any{code("", "A"), code("", "B"), code("", "C"), code("", "D")},
		new:  []map[string]any{code("", "D"), code("", "A"), code("", "B"), code("", "C")},
		want: []string{"moved unchanged 3→0", "unchanged 0→1", "unchanged 1→2", "unchanged 2→3"},
	}, {
		name: "a cell cut and pasted elsewhere gets a new id and is matched by content",
		old:  []map[string]any{code("a", "A"), code("b", "B"), code("c", "C")},
		new:  []map[string]any{code("b", "B"), code("c", "C"), code("z", "A")},
		want: []string{"unchanged 1→0", "unchanged 2→1", "moved unchanged 0→2"},
	}, {
		name: "empty cells are not moved, they are removed and added",
		old:  []map[string]any{code("", ""), code("", "A"), code("", "B")},
		new:  []map[string]any{code("", "A"), code("", "B"), code("", "")},
		want: []string{"removed 0→-", "unchanged 1→0", "unchanged 2→1", "added -→2"},
	}, {
		name: "a split cell keeps its id in its first part",
		old:  []map[string]any{code("a", "import os\nimport sys\nx = 1\ny = 2")},
		new:  []map[string]any{code("a", "import os\nimport sys"), code("n", "x = 1\ny = 2")},
		want: []string{"modified 0→0", "added -→1"},
	}, {
		name: "a split cell without ids",
		old:  []map[string]any{markdown("", "Intro"), code("", "import os\nimport sys\nx = 1\ny = 2")},
		new:  []map[string]any{markdown("", "Intro"), code("", "import os\nimport sys"), code("", "x = 1\ny = 2")},
		want: []string{"unchanged 0→0", "modified 1→1", "added -→2"},
	}, {
		name: "a cell whose type changed",
		old:  []map[string]any{code("a", "Some notes")},
		new:  []map[string]any{markdown("a", "Some notes")},
		want: []string{"modified 0→0"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d := diff(t, notebookOf(tc.old...), notebookOf(tc.new...), Options{})
			if got := shape(d); !slices.Equal(got, tc.want) {
				t.Errorf("cells:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSummaryCountsMovedCellsAlsoUnderTheirStatus(t *testing.T) {
	d := diff(t,
		notebookOf(code("a", "A"), code("b", "B"), code("c", "C"), code("d", "D"), code("e", "E")),
		notebookOf(code("b", "B2"), code("c", "C"), code("a", "A2"), code("f", "F"), code("e", "E")),
		Options{})
	want := Summary{Added: 1, Removed: 1, Modified: 2, Moved: 1, Unchanged: 2}
	if d.Summary != want {
		t.Errorf("summary %+v, want %+v (cells %q)", d.Summary, want, shape(d))
	}
}

func TestRemovedCellsAreShownWhereTheyWere(t *testing.T) {
	d := diff(t,
		notebookOf(code("r0", "R0"), code("a", "A"), code("r1", "R1"), code("r2", "R2"), code("b", "B"), code("r3", "R3")),
		notebookOf(code("a", "A"), code("n", "N"), code("b", "B")),
		Options{})
	want := []string{"removed 0→-", "unchanged 1→0", "removed 2→-", "removed 3→-", "added -→1", "unchanged 4→2", "removed 5→-"}
	if got := shape(d); !slices.Equal(got, want) {
		t.Errorf("cells:\n got %q\nwant %q", got, want)
	}
}

func TestCellSourcesAreDiffedByLine(t *testing.T) {
	d := diff(t,
		notebookOf(code("a", "import numpy as np\nx = np.ones(3)\nprint(x)"), code("gone", "del x")),
		notebookOf(code("a", "import numpy as np\nx = np.zeros(3)\ny = x + 1\nprint(x)"), code("new", "z = 0\n")),
		Options{})
	for _, want := range []struct {
		cell  int
		lines string
	}{
		{0, " import numpy as np\n-x = np.ones(3)\n+x = np.zeros(3)\n+y = x + 1\n print(x)\n"},
		{1, "-del x\n"},
		{2, "+z = 0\n"},
	} {
		if got := lineOps(d.Cells[want.cell].Source.Lines); got != want.lines {
			t.Errorf("cell %d lines:\n%s\nwant:\n%s", want.cell, got, want.lines)
		}
	}
	numbers := [][2]int{}
	for _, l := range d.Cells[0].Source.Lines {
		numbers = append(numbers, [2]int{l.Old, l.New})
	}
	if want := [][2]int{{1, 1}, {2, 0}, {0, 2}, {0, 3}, {3, 4}}; !slices.Equal(numbers, want) {
		t.Errorf("line numbers %v, want %v", numbers, want)
	}
}

func TestSourceMayBeAListOfLines(t *testing.T) {
	listed := code("a", "")
	listed["source"] = []string{"x = 1\n", "print(x)"}
	d := diff(t, notebookOf(code("a", "x = 1\nprint(x)")), notebookOf(listed), Options{})
	if d.Cells[0].Status != Unchanged {
		t.Errorf("status %s, want unchanged", d.Cells[0].Status)
	}
}

func TestExecutionCountsAndOutputsCanBeIgnored(t *testing.T) {
	old := notebookOf(markdown("m", "# Run"), ran(code("a", "print(1)", stream("1\n")), 1), ran(code("b", "2 * 3", result(2, map[string]any{"text/plain": "6"})), 2))
	rerun := notebookOf(markdown("m", "# Run"), ran(code("a", "print(1)", stream("1\n"), stream("warning\n")), 7), ran(code("b", "2 * 3", result(8, map[string]any{"text/plain": "6"})), 8))
	for _, tc := range []struct {
		name string
		opt  Options
		want Summary
	}{
		{"counted", Options{}, Summary{Modified: 2, Unchanged: 1}},
		{"counts ignored", Options{IgnoreExecutionCounts: true}, Summary{Modified: 1, Unchanged: 2}},
		{"outputs ignored", Options{IgnoreOutputs: true}, Summary{Modified: 2, Unchanged: 1}},
		{"both ignored", Options{IgnoreExecutionCounts: true, IgnoreOutputs: true}, Summary{Unchanged: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := diff(t, old, rerun, tc.opt)
			if d.Summary != tc.want {
				t.Errorf("summary %+v, want %+v", d.Summary, tc.want)
			}
			for _, c := range d.Cells {
				if tc.opt.IgnoreExecutionCounts && c.ExecutionCount != nil {
					t.Errorf("cell %d reports its execution count", *c.NewIndex)
				}
				if tc.opt.IgnoreOutputs && c.Outputs != nil {
					t.Errorf("cell %d reports outputs", *c.NewIndex)
				}
			}
		})
	}
	d := diff(t, old, rerun, Options{})
	if e := d.Cells[1].ExecutionCount; e == nil || *e.Old != 1 || *e.New != 7 {
		t.Errorf("execution count change %+v, want 1 → 7", e)
	}
}

func TestMetadataChangesAreFlattenedToDottedKeys(t *testing.T) {
	old := notebookOf(tagged(code("a", "x"), map[string]any{"tags": []string{"setup"}, "collapsed": false}))
	old["metadata"] = map[string]any{
		"kernelspec":    map[string]any{"name": "python3", "display_name": "Python 3"},
		"language_info": map[string]any{"name": "python", "version": "3.11.4"},
	}
	old["nbformat_minor"] = 4
	new := notebookOf(tagged(code("a", "x"), map[string]any{"tags": []string{"setup", "slow"}, "hops": map[string]any{}}))
	new["metadata"] = map[string]any{
		"kernelspec":    map[string]any{"name": "hops", "display_name": "Python 3 (hops)"},
		"language_info": map[string]any{"name": "python"},
		"hops":          map[string]any{"experiment": 12},
	}
	d := diff(t, old, new, Options{})

	describe := func(changes []Change) []string {
		var s []string
		for _, c := range changes {
			s = append(s, string(c.Op)+" "+c.Key+" "+string(c.Old)+" "+string(c.New))
		}
		return s
	}
	wantNotebook := []string{
		`added hops.experiment  12`,
		`changed kernelspec.display_name "Python 3" "Python 3 (hops)"`,
		`changed kernelspec.name "python3" "hops"`,
		`removed language_info.version "3.11.4" `,
	}
	if got := describe(d.Metadata); !slices.Equal(got, wantNotebook) {
		t.Errorf("notebook metadata:\n got %q\nwant %q", got, wantNotebook)
	}
	wantCell := []string{
		`removed collapsed false `,
		`added hops  {}`,
		`changed tags ["setup"] ["setup","slow"]`,
	}
	if got := describe(d.Cells[0].Metadata); !slices.Equal(got, wantCell) {
		t.Errorf("cell metadata:\n got %q\nwant %q", got, wantCell)
	}
	if d.Cells[0].Status != Modified {
		t.Errorf("a cell with only metadata changes is %s, want modified", d.Cells[0].Status)
	}
	if d.NBFormat == nil || *d.NBFormat != (VersionChange{Old: "4.4", New: "4.5"}) {
		t.Errorf("nbformat change %+v, want 4.4 → 4.5", d.NBFormat)
	}
	if same := diff(t, new, new, Options{}); same.NBFormat != nil || same.Metadata != nil {
		t.Errorf("an unchanged notebook reports nbformat %+v and metadata %+v", same.NBFormat, same.Metadata)
	}
}

func TestInputsThatAreNotNotebooksAreRefused(t *testing.T) {
	good := encode(t, notebookOf(code("a", "x")))
	for _, tc := range []struct {
		name, input, says string
	}{
		{"invalid JSON", `{"cells": [`, "invalid JSON"},
		{"a JSON array", `[1, 2]`, "a JSON array, want an object"},
		{"cells that are not a list", `{"nbformat": 4, "nbformat_minor": 5, "cells": {}}`, "cells is a JSON object"},
		{"an output that is not an object", `{"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code", "outputs": [1]}]}`, "cells.outputs is a JSON number"},
		{"no cells", `{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}`, "no cells list"},
		{"no version", `{"cells": []}`, "no nbformat version"},
		{"nbformat 3", `{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}`, "nbformat 3"},
		{"a source that is a number", `{"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code", "source": 42}]}`, "source or text is 42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, side := range []struct {
				name     string
				old, new []byte
			}{{"old", []byte(tc.input), good}, {"new", good, []byte(tc.input)}} {
				_, err := Diff(side.old, side.new, Options{})
				if !errors.Is(err, ErrNotNotebook) {
					t.Fatalf("%s side: got %v, want ErrNotNotebook", side.name, err)
				}
				if msg := err.Error(); !strings.HasPrefix(msg, side.name+" notebook: ") || !strings.Contains(msg, tc.says) {
					t.Errorf("%s side: message %q does not say %q", side.name, msg, tc.says)
				}
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	d := diff(t,
		notebookOf(code("a", "", stream("x\n")), code("gone", "y")),
		notebookOf(code("a", ""), code("new", "z", display(map[string]any{"text/plain": "z"}))),
		Options{})
	var got struct {
		Summary map[string]int   `json:"summary"`
		Cells   []map[string]any `json:"cells"`
	}
	if err := json.Unmarshal(encode(t, d), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Summary) != 5 {
		t.Errorf("summary %v, want five counts", got.Summary)
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	want := [][]string{
		{"cell_type", "id", "moved", "new_index", "old_index", "outputs", "source", "status"},
		{"cell_type", "id", "moved", "old_index", "source", "status"},
		{"cell_type", "id", "moved", "new_index", "outputs", "source", "status"},
	}
	for i, c := range got.Cells {
		if k := keys(c); !slices.Equal(k, want[i]) {
			t.Errorf("cell %d keys %q, want %q", i, k, want[i])
		}
	}
	if lines := got.Cells[0]["source"].(map[string]any)["lines"]; lines == nil {
		t.Errorf("an empty source has lines %v, want []", lines)
	}
	empty, err := json.Marshal(diff(t, notebookOf(), notebookOf(), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"summary":{"added":0,"removed":0,"modified":0,"moved":0,"unchanged":0},"cells":[]}`; string(empty) != want {
		t.Errorf("two empty notebooks:\n got %s\nwant %s", empty, want)
	}
}

// FuzzDiff checks that any two inputs either are refused as not notebooks or give a diff that shows
// every cell of each side exactly once.
func FuzzDiff(f *testing.F) {
	seeds := []map[string]any{
		notebookOf(),
		notebookOf(markdown("m", "# Title"), code("a", "x = 1\nprint(x)", stream("1\n")), code("b", "plot()", display(map[string]any{"image/png": pngA}))),
		notebookOf(code("b", "plot()", display(map[string]any{"image/png": pngB, "text/plain": "<Figure>"})), code("", "x = 2\nprint(x)", failure("E", "v", "tb"))),
		notebookOf(code("", ""), code("", "x = 1"), markdown("", "x = 1"), code("", "")),
	}
	for _, old := range seeds {
		for _, new := range seeds {
			f.Add(encode(f, old), encode(f, new))
		}
	}
	f.Fuzz(func(t *testing.T, old, new []byte) {
		d, err := Diff(old, new, Options{})
		if err != nil {
			if !errors.Is(err, ErrNotNotebook) {
				t.Fatalf("error %v does not wrap ErrNotNotebook", err)
			}
			return
		}
		seenOld, seenNew := map[int]int{}, map[int]int{}
		for _, c := range d.Cells {
			if c.OldIndex != nil {
				seenOld[*c.OldIndex]++
			}
			if c.NewIndex != nil {
				seenNew[*c.NewIndex]++
			}
		}
		for side, seen := range map[string]map[int]int{"old": seenOld, "new": seenNew} {
			for i, n := range seen {
				if n != 1 || i < 0 || i >= len(seen) {
					t.Fatalf("%s cell %d shown %d times (cells %q)", side, i, n, shape(d))
				}
			}
		}
		s := d.Summary
		if s.Added+s.Removed+s.Modified+s.Unchanged != len(d.Cells) {
			t.Fatalf("summary %+v does not add up to %d cells", s, len(d.Cells))
		}
	})
}
