package kernel

import (
	"strings"
)

// segment is a run of a cell: Python (engine code) or one %hops line or %%hops cell.
type segment struct {
	hops bool
	code string // Python code, or the %hops line without its prefix
	body string // the body of a %%hops cell
	cell bool   // a %%hops cell magic
	// misplaced is a %%hops line below the start of its cell, where it cannot be a cell magic.
	misplaced bool
}

// hasHops reports whether code contains a %hops line or starts with a %%hops cell magic: the cells
// hops executes itself. Everything else goes to the engine untouched.
func hasHops(code string) bool {
	if !strings.Contains(code, "%hops") {
		return false
	}
	for _, line := range strings.Split(code, "\n") {
		if isHopsLine(line) {
			return true
		}
	}
	return false
}

// isHopsLine reports whether a line is a %hops or %%hops magic: the prefix at column 0, followed by
// whitespace or the end of the line.
func isHopsLine(line string) bool {
	for _, p := range []string{"%%hops", "%hops"} {
		if rest, ok := strings.CutPrefix(line, p); ok {
			return rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r'
		}
	}
	return false
}

// splitCell cuts a cell into segments in source order. A cell whose first non-blank line is %%hops is
// one cell magic with the rest as its body. Otherwise each %hops line (joined with following lines
// while it ends in a backslash) is its own segment and the Python between them forms Python segments.
func splitCell(code string) []segment {
	lines := strings.Split(code, "\n")
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	if first < len(lines) && strings.HasPrefix(lines[first], "%%hops") && isHopsLine(lines[first]) {
		return []segment{{hops: true, cell: true,
			code: strings.TrimSpace(strings.TrimPrefix(lines[first], "%%hops")),
			body: strings.Join(lines[first+1:], "\n")}}
	}
	var segs []segment
	var py []string
	flush := func() {
		text := strings.Join(py, "\n")
		if strings.TrimSpace(text) != "" {
			segs = append(segs, segment{code: text})
		}
		py = nil
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !isHopsLine(line) {
			py = append(py, line)
			continue
		}
		flush()
		if strings.HasPrefix(line, "%%hops") {
			segs = append(segs, segment{hops: true, misplaced: true, code: strings.TrimSpace(line)})
			continue
		}
		magic := strings.TrimRight(strings.TrimPrefix(line, "%hops"), " \t\r")
		for strings.HasSuffix(magic, "\\") && i+1 < len(lines) {
			i++
			magic = strings.TrimSuffix(magic, "\\") + " " + strings.TrimRight(lines[i], " \t\r")
		}
		segs = append(segs, segment{hops: true, code: strings.TrimSpace(magic)})
	}
	flush()
	return segs
}

// historyComment returns code as a comment in the engine's language, so that executing it records the
// cell in the engine's history and advances its execution count without running anything.
func historyComment(language, code string) (string, bool) {
	var prefix string
	switch strings.ToLower(language) {
	case "python", "r", "julia", "ruby", "bash", "sh", "perl":
		prefix = "# "
	case "go", "javascript", "typescript", "c", "c++", "java", "scala", "rust", "kotlin", "c#":
		prefix = "// "
	default:
		return "", false
	}
	lines := strings.Split(code, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n"), true
}
