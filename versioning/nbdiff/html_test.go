package nbdiff

import (
	"encoding/base64"
	"strings"
	"testing"
)

func renderHTML(t *testing.T, d *NotebookDiff, title string) string {
	t.Helper()
	var b strings.Builder
	if err := WriteHTML(&b, d, title); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestHTMLIsAScopedFragment(t *testing.T) {
	page := renderHTML(t, diff(t, notebookOf(code("a", "x")), notebookOf(code("a", "y")), Options{}), "v1 → v2")
	if !strings.HasPrefix(page, `<div class="hops-nbdiff">`) || !strings.HasSuffix(page, "</div>\n") {
		t.Errorf("not one div:\n%s", page)
	}
	style := page[strings.Index(page, "<style>")+len("<style>") : strings.Index(page, "</style>")]
	for _, rule := range strings.Split(strings.TrimSpace(style), "\n") {
		if !strings.HasPrefix(rule, ".hops-nbdiff") {
			t.Errorf("style rule %q is not scoped to the fragment", rule)
		}
	}
	for _, want := range []string{"v1 → v2", "0 added, 0 removed, 1 modified, 0 moved, 0 unchanged"} {
		if !strings.Contains(page, want) {
			t.Errorf("no %q in:\n%s", want, page)
		}
	}
}

func TestHTMLEscapesEverythingFromTheNotebooks(t *testing.T) {
	d := diff(t,
		notebookOf(code("a", "print(1)")),
		notebookOf(tagged(code("a", `<script>alert("source")</script>`,
			display(map[string]any{"text/html": "<script>alert('output')</script>", "image/svg+xml": "<svg onload=\"alert('svg')\"/>"})),
			map[string]any{"<b>key</b>": "<i>value</i>"})),
		Options{})
	page := renderHTML(t, d, "<script>title</script>")
	for _, raw := range []string{"<script>", "<svg", "<b>key", "<i>value"} {
		if strings.Contains(page, raw) {
			t.Errorf("%q reaches the page unescaped:\n%s", raw, page)
		}
	}
	for _, escaped := range []string{
		"&lt;script&gt;alert(&#34;source&#34;)&lt;/script&gt;",
		"&lt;script&gt;alert(&#39;output&#39;)&lt;/script&gt;",
		"&lt;script&gt;title&lt;/script&gt;",
		"data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte("<svg onload=\"alert('svg')\"/>")),
	} {
		if !strings.Contains(page, escaped) {
			t.Errorf("no %q in:\n%s", escaped, page)
		}
	}
}

func TestHTMLCollapsesUnchangedCellsAndMarksChangedLines(t *testing.T) {
	d := diff(t,
		notebookOf(code("a", "A"), code("b", "B"), code("c", "C"), code("d", "x = 1"), code("e", "E"), code("f", "F")),
		notebookOf(code("a", "A"), code("b", "B"), code("c", "C"), code("d", "x = 2"), code("e", "E"), code("g", "G")),
		Options{})
	page := renderHTML(t, d, "")
	for _, want := range []string{
		`<div class="same">3 unchanged cells</div>`,
		`<div class="same">1 unchanged cell</div>`,
		`<tr class="delete"><td class="n">1</td><td class="n"></td><td>-x = 1</td></tr>`,
		`<tr class="insert"><td class="n"></td><td class="n">1</td><td>+x = 2</td></tr>`,
		`<div class="cell removed">`,
		`<div class="cell added">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("no %q in:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<td> A</td>") {
		t.Errorf("an unchanged cell is shown in full:\n%s", page)
	}
}

func TestHTMLShowsChangedImagesSideBySide(t *testing.T) {
	d := diff(t,
		notebookOf(code("a", "plot()", display(map[string]any{"image/png": pngA}))),
		notebookOf(code("a", "plot()", display(map[string]any{"image/png": pngB}))),
		Options{})
	page := renderHTML(t, d, "")
	want := `<div class="images"><figure><img src="data:image/png;base64,` + pngA + `"><figcaption>old</figcaption></figure>` +
		`<figure><img src="data:image/png;base64,` + pngB + `"><figcaption>new</figcaption></figure></div>`
	if !strings.Contains(page, want) {
		t.Errorf("no %q in:\n%s", want, page)
	}
}

func TestHTMLShowsMetadataChangesAsATable(t *testing.T) {
	old, new := notebookOf(), notebookOf()
	new["metadata"].(map[string]any)["kernelspec"].(map[string]any)["name"] = "python3"
	page := renderHTML(t, diff(t, old, new, Options{}), "")
	if want := `<tr><td>kernelspec.name</td><td>changed</td><td>&#34;hops&#34;</td><td>&#34;python3&#34;</td></tr>`; !strings.Contains(page, want) {
		t.Errorf("no %q in:\n%s", want, page)
	}
}
