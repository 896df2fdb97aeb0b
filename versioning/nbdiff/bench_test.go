package nbdiff

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// BenchmarkDiff diffs two versions of an image-heavy notebook of about 20 MB: 200 cells, 100 of
// them with a 200 KB base64 image; the new version has three cells edited, one image changed and
// one cell moved.
func BenchmarkDiff(b *testing.B) {
	old, new := imageHeavyNotebooks(b)
	b.SetBytes(int64(len(old) + len(new)))
	b.ReportAllocs()
	var d *NotebookDiff
	for b.Loop() {
		var err error
		if d, err = Diff(old, new, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	if want := (Summary{Modified: 4, Moved: 1, Unchanged: 196}); d.Summary != want {
		b.Fatalf("summary %+v, want %+v", d.Summary, want)
	}
}

func imageHeavyNotebooks(b *testing.B) (old, new []byte) {
	rng := rand.New(rand.NewPCG(3, 4))
	image := func() string {
		raw := make([]byte, 150_000) // 200 KB in base64
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		return base64.StdEncoding.EncodeToString(raw)
	}
	var cells []map[string]any
	for i := range 200 {
		source := fmt.Sprintf("# step %d\nimport numpy as np\nx = np.linspace(0, %d, 100)\ny = np.sin(x)\nplt.plot(x, y)\nplt.title('step %d')", i, i, i)
		var c map[string]any
		switch {
		case i%2 == 0:
			c = ran(code(fmt.Sprint("cell-", i), source,
				display(map[string]any{"image/png": image(), "text/plain": "<Figure size 640x480 with 1 Axes>"})), i+1)
		case i%4 == 1:
			c = markdown(fmt.Sprint("cell-", i), fmt.Sprintf("## Step %d\nPlotting the sine of step %d.", i, i))
		default:
			c = ran(code(fmt.Sprint("cell-", i), source, stream(fmt.Sprintf("step %d done\nmax %d\n", i, i))), i+1)
		}
		cells = append(cells, c)
	}
	encode := func(cells []map[string]any) []byte {
		data, err := json.MarshalIndent(notebookOf(cells...), "", " ") // nbformat's layout
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	old = encode(cells)

	edited := slices.Clone(cells)
	for _, i := range []int{3, 50, 151} {
		c := maps.Clone(edited[i])
		c["source"] = c["source"].(string) + "\nprint('edited')"
		edited[i] = c
	}
	replot := maps.Clone(edited[80])
	replot["outputs"] = []map[string]any{display(map[string]any{"image/png": image(), "text/plain": "<Figure size 640x480 with 1 Axes>"})}
	edited[80] = replot
	moved := edited[120]
	edited = slices.Insert(slices.Delete(edited, 120, 121), 10, moved)
	return old, encode(edited)
}
