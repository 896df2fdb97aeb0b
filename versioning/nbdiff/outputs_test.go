package nbdiff

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

const (
	pngA = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	pngB = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

// outputsOf diffs the outputs of one code cell.
func outputsOf(t *testing.T, old, new []map[string]any) (Status, []OutputDiff) {
	t.Helper()
	d := diff(t, notebookOf(code("a", "x", old...)), notebookOf(code("a", "x", new...)), Options{})
	return d.Cells[0].Status, d.Cells[0].Outputs
}

func statuses(outputs []OutputDiff) []string {
	var s []string
	for _, o := range outputs {
		s = append(s, string(o.Status)+" "+o.OutputType)
	}
	return s
}

func TestOutputsAreAlignedInOrder(t *testing.T) {
	text := func(s string) map[string]any { return display(map[string]any{"text/plain": s}) }
	for _, tc := range []struct {
		name     string
		old, new []map[string]any
		want     []string
	}{
		{"unchanged", []map[string]any{stream("a\n"), text("b")}, []map[string]any{stream("a\n"), text("b")},
			[]string{"unchanged stream", "unchanged display_data"}},
		{"one appended", []map[string]any{stream("a\n")}, []map[string]any{stream("a\n"), text("b")},
			[]string{"unchanged stream", "added display_data"}},
		{"one removed from the middle", []map[string]any{text("a"), stream("b\n"), text("c")}, []map[string]any{text("a"), text("c")},
			[]string{"unchanged display_data", "removed stream", "unchanged display_data"}},
		{"one changed between unchanged ones", []map[string]any{text("a"), stream("b\n"), text("c")}, []map[string]any{text("a"), stream("B\n"), text("c")},
			[]string{"unchanged display_data", "modified stream", "unchanged display_data"}},
		{"a change of output type is a removal and an addition", []map[string]any{stream("b\n")}, []map[string]any{text("b")},
			[]string{"removed stream", "added display_data"}},
		{"all cleared", []map[string]any{stream("a\n"), text("b")}, nil,
			[]string{"removed stream", "removed display_data"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, outputs := outputsOf(t, tc.old, tc.new)
			if got := statuses(outputs); !slices.Equal(got, tc.want) {
				t.Errorf("outputs:\n got %q\nwant %q", got, tc.want)
			}
			changed := slices.ContainsFunc(tc.want, func(s string) bool { return !strings.HasPrefix(s, "unchanged") })
			if changed != (status == Modified) {
				t.Errorf("cell status %s", status)
			}
		})
	}
}

func TestOutputsEqualAsNotebookValuesAreUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new map[string]any
	}{
		{"stream text as a list of lines", stream("a\nb\n"), stream([]string{"a\n", "b\n"})},
		{"mime data as a list of lines", display(map[string]any{"text/html": "<b>\nx</b>"}), display(map[string]any{"text/html": []string{"<b>\n", "x</b>"}})},
		{"base64 wrapped in lines", display(map[string]any{"image/png": pngA}), display(map[string]any{"image/png": []string{pngA[:40] + "\n", pngA[40:]}})},
		{"an execute_result rerun", result(1, map[string]any{"text/plain": "6"}), result(9, map[string]any{"text/plain": "6"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, outputs := outputsOf(t, []map[string]any{tc.old}, []map[string]any{tc.new})
			if status != Unchanged || len(outputs) != 1 || outputs[0].Status != Unchanged {
				t.Errorf("cell %s, outputs %+v; want both unchanged", status, outputs)
			}
		})
	}
}

func TestJSONDataIsComparedWhateverItsLayout(t *testing.T) {
	old := encode(t, notebookOf(code("a", "x", display(map[string]any{"application/json": map[string]any{"a": 1}}))))
	new := []byte(strings.Replace(string(old), `{"a":1}`, "{\n  \"a\" : 1\n}", 1))
	d, err := Diff(old, new, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Summary.Unchanged != 1 {
		t.Errorf("cells %q, want unchanged", shape(d))
	}
}

func TestUnchangedOutputsCarryOnlyTheirStatusAndType(t *testing.T) {
	_, outputs := outputsOf(t,
		[]map[string]any{display(map[string]any{"image/png": pngA, "text/plain": "<Figure>"}), stream("a\n")},
		[]map[string]any{display(map[string]any{"image/png": pngA, "text/plain": "<Figure>"}), stream("b\n")})
	got, err := json.Marshal(outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"status":"unchanged","output_type":"display_data"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestModifiedOutputsAreDiffedByMimeType(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new map[string]any
		want     []MimeDiff
	}{{
		name: "a changed image carries both sides",
		old:  display(map[string]any{"image/png": pngA, "text/plain": "<Figure>"}),
		new:  display(map[string]any{"image/png": pngB, "text/plain": "<Figure>"}),
		want: []MimeDiff{
			{Mime: "image/png", Status: Modified, Old: pngA, New: pngB},
			{Mime: "text/plain", Status: Unchanged, Lines: []Line{{Op: Equal, Old: 1, New: 1, Text: "<Figure>"}}},
		},
	}, {
		name: "an image added to a text result",
		old:  result(1, map[string]any{"text/plain": "<Figure>"}),
		new:  result(2, map[string]any{"text/plain": "<Figure>", "image/png": pngB}),
		want: []MimeDiff{
			{Mime: "image/png", Status: Added, New: pngB},
			{Mime: "text/plain", Status: Unchanged, Lines: []Line{{Op: Equal, Old: 1, New: 1, Text: "<Figure>"}}},
		},
	}, {
		name: "an SVG is shown, not diffed",
		old:  display(map[string]any{"image/svg+xml": []string{"<svg>\n", "<circle/>\n", "</svg>"}}),
		new:  display(map[string]any{"image/svg+xml": "<svg>\n<rect/>\n</svg>"}),
		want: []MimeDiff{{Mime: "image/svg+xml", Status: Modified, Old: "<svg>\n<circle/>\n</svg>", New: "<svg>\n<rect/>\n</svg>"}},
	}, {
		name: "text is diffed by line",
		old:  stream("epoch 1\nloss 0.5\n"),
		new:  stream("epoch 1\nloss 0.4\n"),
		want: []MimeDiff{{Mime: "text/plain", Status: Modified, Lines: []Line{
			{Op: Equal, Old: 1, New: 1, Text: "epoch 1"},
			{Op: Delete, Old: 2, Text: "loss 0.5"},
			{Op: Insert, New: 2, Text: "loss 0.4"},
		}}},
	}, {
		name: "JSON is diffed by line, indented",
		old:  display(map[string]any{"application/json": map[string]any{"a": 1, "b": 2}}),
		new:  display(map[string]any{"application/json": map[string]any{"a": 1, "b": 3}}),
		want: []MimeDiff{{Mime: "application/json", Status: Modified, Lines: []Line{
			{Op: Equal, Old: 1, New: 1, Text: "{"},
			{Op: Equal, Old: 2, New: 2, Text: `  "a": 1,`},
			{Op: Delete, Old: 3, Text: `  "b": 2`},
			{Op: Insert, New: 3, Text: `  "b": 3`},
			{Op: Equal, Old: 4, New: 4, Text: "}"},
		}}},
	}, {
		name: "an error is its name, value and traceback without colours",
		old:  failure("ValueError", "bad", "\x1b[0;31mValueError\x1b[0m: bad"),
		new:  failure("ValueError", "worse", "\x1b[0;31mValueError\x1b[0m: worse"),
		want: []MimeDiff{{Mime: "text/plain", Status: Modified, Lines: []Line{
			{Op: Delete, Old: 1, Text: "ValueError: bad"},
			{Op: Delete, Old: 2, Text: "ValueError: bad"},
			{Op: Insert, New: 1, Text: "ValueError: worse"},
			{Op: Insert, New: 2, Text: "ValueError: worse"},
		}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			status, outputs := outputsOf(t, []map[string]any{tc.old}, []map[string]any{tc.new})
			if status != Modified || len(outputs) != 1 || outputs[0].Status != Modified {
				t.Fatalf("cell %s, outputs %q; want one modified output", status, statuses(outputs))
			}
			got := outputs[0].Mimes
			if len(got) != len(tc.want) {
				t.Fatalf("mimes %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].Mime != tc.want[i].Mime || got[i].Status != tc.want[i].Status || got[i].Old != tc.want[i].Old ||
					got[i].New != tc.want[i].New || !slices.Equal(got[i].Lines, tc.want[i].Lines) {
					t.Errorf("mime %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestAddedAndRemovedOutputsCarryTheirData(t *testing.T) {
	d := diff(t,
		notebookOf(code("a", "x", failure("KeyError", "'k'", "\x1b[31mKeyError\x1b[0m", "line 2")), code("b", "y")),
		notebookOf(code("a", "x"), code("b", "y", display(map[string]any{"image/png": pngA, "text/plain": []string{"<Figure\n", "size>"}}))),
		Options{})
	removed, added := d.Cells[0].Outputs, d.Cells[1].Outputs
	if want := map[string]string{"text/plain": "KeyError: 'k'\nKeyError\nline 2"}; len(removed) != 1 || removed[0].Status != Removed ||
		!equalData(removed[0].Data, want) {
		t.Errorf("removed outputs %+v, want the error's text %q", removed, want)
	}
	if want := map[string]string{"image/png": pngA, "text/plain": "<Figure\nsize>"}; len(added) != 1 || added[0].Status != Added ||
		!equalData(added[0].Data, want) {
		t.Errorf("added outputs %+v, want data %q", added, want)
	}
	for _, c := range d.Cells {
		if c.Status != Modified {
			t.Errorf("cell %d is %s, want modified", *c.NewIndex, c.Status)
		}
	}
}

func TestOutputsOfAddedCellsAreAdded(t *testing.T) {
	d := diff(t, notebookOf(), notebookOf(code("a", "print(1)", stream([]string{"1\n", "2\n"}))), Options{})
	outputs := d.Cells[0].Outputs
	if len(outputs) != 1 || outputs[0].Status != Added || outputs[0].Data["text/plain"] != "1\n2\n" {
		t.Errorf("outputs %+v, want the added stream", outputs)
	}
	if d := diff(t, notebookOf(markdown("m", "text")), notebookOf(markdown("m", "more text")), Options{}); d.Cells[0].Outputs != nil {
		t.Errorf("a markdown cell has outputs %+v", d.Cells[0].Outputs)
	}
}

func equalData(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestTextMimesAreThoseDiffedByLine(t *testing.T) {
	var text []string
	for _, mime := range []string{"text/plain", "text/html", "text/markdown", "application/json",
		"application/vnd.jupyter.widget-view+json", "image/png", "image/svg+xml", "application/pdf"} {
		if isTextMime(mime) {
			text = append(text, mime)
		}
	}
	if got, want := strings.Join(text, " "), "text/plain text/html text/markdown application/json application/vnd.jupyter.widget-view+json"; got != want {
		t.Errorf("text mimes %q, want %q", got, want)
	}
}
