package nbdiff

import (
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
)

// htmlStyle is scoped by prefixing every selector with the fragment's root class, so that the
// fragment can sit inside any page (a notebook output, the lab) without restyling it.
const htmlStyle = `<style>
.hops-nbdiff{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;color:#1f2328;background:#fff}
.hops-nbdiff .title{font-weight:600;font-size:14px}
.hops-nbdiff .summary{margin:2px 0 8px}
.hops-nbdiff .cell{border:1px solid #d0d7de;border-left-width:4px;border-radius:3px;margin:6px 0}
.hops-nbdiff .cell.added{border-left-color:#1a7f37}
.hops-nbdiff .cell.removed{border-left-color:#cf222e}
.hops-nbdiff .cell.modified{border-left-color:#9a6700}
.hops-nbdiff .head{background:#f6f8fa;padding:2px 6px;font-size:12px}
.hops-nbdiff .same{color:#57606a;font-style:italic;padding:2px 6px;font-size:12px}
.hops-nbdiff .mime{color:#57606a;padding:2px 6px;font-size:11px}
.hops-nbdiff .output{border-top:1px dashed #d0d7de}
.hops-nbdiff table{border-collapse:collapse;width:100%}
.hops-nbdiff table.lines{font-family:var(--jp-code-font-family,monospace);font-size:12px}
.hops-nbdiff td{padding:0 4px;white-space:pre-wrap;word-break:break-all;vertical-align:top}
.hops-nbdiff td.n{color:#8c959f;text-align:right;width:1%;white-space:nowrap;user-select:none}
.hops-nbdiff tr.insert{background:#dafbe1}
.hops-nbdiff tr.delete{background:#ffebe9}
.hops-nbdiff table.meta td{border:1px solid #d0d7de;font-family:var(--jp-code-font-family,monospace);font-size:12px}
.hops-nbdiff .images{display:flex;gap:12px;padding:4px 6px}
.hops-nbdiff figure{margin:0;flex:1}
.hops-nbdiff figcaption{font-size:11px;color:#57606a}
.hops-nbdiff img{max-width:100%}
</style>
`

// imageMimes are the MIME types shown as images; other non-text types are only named.
var imageMimes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}

// WriteHTML renders d as a self-contained HTML fragment (a div with its own scoped style): the
// summary, then the cells in order, with runs of unchanged cells collapsed to one line, line diffs
// of sources and text outputs, old and new images side by side, and metadata changes as tables.
// Everything taken from the notebooks is escaped.
func WriteHTML(w io.Writer, d *NotebookDiff, title string) error {
	var b strings.Builder
	b.WriteString(`<div class="hops-nbdiff">` + "\n" + htmlStyle)
	if title != "" {
		fmt.Fprintf(&b, "<div class=\"title\">%s</div>\n", html.EscapeString(title))
	}
	s := d.Summary
	fmt.Fprintf(&b, "<div class=\"summary\">%d added, %d removed, %d modified, %d moved, %d unchanged</div>\n",
		s.Added, s.Removed, s.Modified, s.Moved, s.Unchanged)
	if d.NBFormat != nil || len(d.Metadata) > 0 {
		b.WriteString(`<div class="cell modified"><div class="head">notebook`)
		if d.NBFormat != nil {
			fmt.Fprintf(&b, " · nbformat %s → %s", html.EscapeString(d.NBFormat.Old), html.EscapeString(d.NBFormat.New))
		}
		b.WriteString("</div>\n")
		writeMetadataHTML(&b, d.Metadata)
		b.WriteString("</div>\n")
	}
	for i := 0; i < len(d.Cells); {
		if unchanged := unchangedRun(d.Cells[i:]); unchanged > 0 {
			fmt.Fprintf(&b, "<div class=\"same\">%s</div>\n", plural(unchanged, "unchanged cell"))
			i += unchanged
			continue
		}
		writeCellHTML(&b, &d.Cells[i])
		i++
	}
	b.WriteString("</div>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// unchangedRun counts the unchanged, unmoved cells at the start of cells.
func unchangedRun(cells []CellDiff) int {
	n := 0
	for n < len(cells) && cells[n].Status == Unchanged && !cells[n].Moved {
		n++
	}
	return n
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func writeCellHTML(b *strings.Builder, c *CellDiff) {
	fmt.Fprintf(b, "<div class=\"cell %s\"><div class=\"head\">%s %s cell", c.Status, c.Status, html.EscapeString(c.CellType))
	switch {
	case c.OldIndex != nil && c.NewIndex != nil && *c.OldIndex != *c.NewIndex:
		fmt.Fprintf(b, " %d → %d", *c.OldIndex+1, *c.NewIndex+1)
	case c.NewIndex != nil:
		fmt.Fprintf(b, " %d", *c.NewIndex+1)
	case c.OldIndex != nil:
		fmt.Fprintf(b, " %d", *c.OldIndex+1)
	}
	if c.Moved {
		b.WriteString(" · moved")
	}
	if c.OldCellType != "" {
		fmt.Fprintf(b, " · was %s", html.EscapeString(c.OldCellType))
	}
	if e := c.ExecutionCount; e != nil {
		fmt.Fprintf(b, " · execution count %s → %s", countText(e.Old), countText(e.New))
	}
	b.WriteString("</div>\n")
	writeLinesHTML(b, c.Source.Lines)
	writeMetadataHTML(b, c.Metadata)
	for k := 0; k < len(c.Outputs); {
		unchanged := 0
		for k+unchanged < len(c.Outputs) && c.Outputs[k+unchanged].Status == Unchanged {
			unchanged++
		}
		if unchanged > 0 {
			fmt.Fprintf(b, "<div class=\"same output\">%s</div>\n", plural(unchanged, "unchanged output"))
			k += unchanged
			continue
		}
		writeOutputHTML(b, &c.Outputs[k])
		k++
	}
	b.WriteString("</div>\n")
}

func countText(n *int) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}

func writeLinesHTML(b *strings.Builder, lines []Line) {
	if len(lines) == 0 {
		return
	}
	b.WriteString("<table class=\"lines\">\n")
	for _, l := range lines {
		sign := " "
		switch l.Op {
		case Insert:
			sign = "+"
		case Delete:
			sign = "-"
		}
		fmt.Fprintf(b, "<tr class=\"%s\"><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s%s</td></tr>\n",
			l.Op, lineNumber(l.Old), lineNumber(l.New), sign, html.EscapeString(l.Text))
	}
	b.WriteString("</table>\n")
}

func lineNumber(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func writeMetadataHTML(b *strings.Builder, changes []Change) {
	if len(changes) == 0 {
		return
	}
	b.WriteString("<table class=\"meta\">\n<tr><td>metadata</td><td>change</td><td>old</td><td>new</td></tr>\n")
	for _, c := range changes {
		fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			html.EscapeString(c.Key), c.Op, html.EscapeString(string(c.Old)), html.EscapeString(string(c.New)))
	}
	b.WriteString("</table>\n")
}

func writeOutputHTML(b *strings.Builder, o *OutputDiff) {
	fmt.Fprintf(b, "<div class=\"output\"><div class=\"head\">%s output %s</div>\n", o.Status, html.EscapeString(o.OutputType))
	if o.Status == Modified {
		for _, m := range o.Mimes {
			writeMimeHTML(b, &m)
		}
	} else {
		mimes := make([]string, 0, len(o.Data))
		for mime := range o.Data {
			mimes = append(mimes, mime)
		}
		slices.Sort(mimes)
		for _, mime := range mimes {
			m := MimeDiff{Mime: mime, Status: o.Status}
			if o.Status == Added {
				m.New = o.Data[mime]
			} else {
				m.Old = o.Data[mime]
			}
			if isTextMime(mime) {
				m.Lines = wholeTextLines(o.Status, o.Data[mime])
			}
			writeMimeHTML(b, &m)
		}
	}
	b.WriteString("</div>\n")
}

// wholeTextLines is the line diff of a text that was added or removed as a whole.
func wholeTextLines(status Status, text string) []Line {
	if status == Added {
		return diffLines(nil, splitLines(text))
	}
	return diffLines(splitLines(text), nil)
}

func writeMimeHTML(b *strings.Builder, m *MimeDiff) {
	if m.Status == Unchanged {
		fmt.Fprintf(b, "<div class=\"mime\">%s unchanged</div>\n", html.EscapeString(m.Mime))
		return
	}
	fmt.Fprintf(b, "<div class=\"mime\">%s %s</div>\n", html.EscapeString(m.Mime), m.Status)
	switch {
	case isTextMime(m.Mime):
		writeLinesHTML(b, m.Lines)
	case slices.Contains(imageMimes, m.Mime):
		b.WriteString("<div class=\"images\">")
		for _, side := range []struct{ caption, value string }{{"old", m.Old}, {"new", m.New}} {
			if side.value == "" {
				continue
			}
			fmt.Fprintf(b, "<figure><img src=\"%s\"><figcaption>%s</figcaption></figure>", imageURL(m.Mime, side.value), side.caption)
		}
		b.WriteString("</div>\n")
	}
}

// imageURL is a data: URL for an image; SVG is base64-encoded too, so that no markup from a
// notebook ever reaches the page.
func imageURL(mime, value string) string {
	if mime == "image/svg+xml" {
		value = base64.StdEncoding.EncodeToString([]byte(value))
	}
	return html.EscapeString("data:" + mime + ";base64," + value)
}
