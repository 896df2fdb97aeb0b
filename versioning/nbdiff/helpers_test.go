package nbdiff

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The fixtures are small notebooks built here, one cell per call.

func code(id, source string, outputs ...map[string]any) map[string]any {
	c := map[string]any{"cell_type": "code", "source": source, "metadata": map[string]any{},
		"execution_count": nil, "outputs": append([]map[string]any{}, outputs...)}
	if id != "" {
		c["id"] = id
	}
	return c
}

func markdown(id, source string) map[string]any {
	c := map[string]any{"cell_type": "markdown", "source": source, "metadata": map[string]any{}}
	if id != "" {
		c["id"] = id
	}
	return c
}

// ran gives a code cell an execution count.
func ran(c map[string]any, count int) map[string]any {
	c["execution_count"] = count
	return c
}

// tagged gives a cell metadata.
func tagged(c map[string]any, metadata map[string]any) map[string]any {
	c["metadata"] = metadata
	return c
}

func stream(text any) map[string]any {
	return map[string]any{"output_type": "stream", "name": "stdout", "text": text}
}

func result(count int, data map[string]any) map[string]any {
	return map[string]any{"output_type": "execute_result", "execution_count": count, "data": data, "metadata": map[string]any{}}
}

func display(data map[string]any) map[string]any {
	return map[string]any{"output_type": "display_data", "data": data, "metadata": map[string]any{}}
}

func failure(ename, evalue string, traceback ...string) map[string]any {
	return map[string]any{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}
}

// notebookOf is an nbformat 4.5 notebook of cells.
func notebookOf(cells ...map[string]any) map[string]any {
	return map[string]any{
		"nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": "hops", "display_name": "Python 3 (hops)"}},
		"cells":    append([]map[string]any{}, cells...),
	}
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func diff(t testing.TB, old, new map[string]any, opt Options) *NotebookDiff {
	t.Helper()
	d, err := Diff(encode(t, old), encode(t, new), opt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// shape describes each cell of a diff as "status old→new" with 0-based indexes, "-" on the side
// without the cell, and "moved" in front of moved cells.
func shape(d *NotebookDiff) []string {
	index := func(i *int) string {
		if i == nil {
			return "-"
		}
		return fmt.Sprint(*i)
	}
	var cells []string
	for _, c := range d.Cells {
		s := fmt.Sprintf("%s %s→%s", c.Status, index(c.OldIndex), index(c.NewIndex))
		if c.Moved {
			s = "moved " + s
		}
		cells = append(cells, s)
	}
	return cells
}

// lineOps writes a line diff compactly: " text" equal, "+text" inserted, "-text" deleted.
func lineOps(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		switch l.Op {
		case Equal:
			b.WriteString(" ")
		case Insert:
			b.WriteString("+")
		case Delete:
			b.WriteString("-")
		}
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}
