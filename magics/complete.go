package magics

import (
	"sort"
	"strings"
)

// Completion is the answer to a complete_request on a %hops line: matches replace the text between
// Start and End (rune offsets within the line).
type Completion struct {
	Matches    []string
	Start, End int
}

// Complete completes the %hops line at rune offset pos: the magic name itself, command names after
// %hops (and after `%hops help`), and flag names after a command. ok is false when the line is not a
// %hops line, so the request belongs to the engine.
func (r *Registry) Complete(line string, pos int) (Completion, bool) {
	runes := []rune(line)
	if pos < 0 || pos > len(runes) {
		pos = len(runes)
	}
	before := string(runes[:pos])
	// The magic name itself: "%h", "%%ho".
	if strings.HasPrefix(before, "%") && !strings.ContainsAny(before, " \t") {
		// As in IPython: one % offers line and cell magics, %% only cell magics.
		bare := strings.TrimLeft(before, "%")
		var m []string
		for _, name := range []string{"%hops", "%%hops"} {
			if strings.HasPrefix(before, "%%") && name == "%hops" {
				continue
			}
			if strings.HasPrefix("hops", bare) && name != before {
				m = append(m, name)
			}
		}
		if len(m) == 0 {
			return Completion{}, false
		}
		return Completion{Matches: m, Start: 0, End: pos}, true
	}
	rest, ok := strings.CutPrefix(before, "%%hops")
	if !ok {
		rest, ok = strings.CutPrefix(before, "%hops")
	}
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return Completion{}, false
	}
	fields := strings.Fields(rest)
	partial := ""
	if len(rest) > 0 && !strings.HasSuffix(rest, " ") && !strings.HasSuffix(rest, "\t") && len(fields) > 0 {
		partial = fields[len(fields)-1]
		fields = fields[:len(fields)-1]
	}
	start := pos - len([]rune(partial))
	var candidates []string
	switch {
	case len(fields) == 0:
		candidates = r.Names()
	case strings.HasPrefix(partial, "-"):
		if c, ok := r.commands[fields[0]]; ok {
			for _, f := range c.Flags {
				candidates = append(candidates, "--"+f.Name)
			}
			candidates = append(candidates, "--help")
		}
	case fields[0] == "help" && len(fields) == 1:
		candidates = r.Names()
	}
	var matches []string
	for _, c := range candidates {
		if strings.HasPrefix(c, partial) {
			matches = append(matches, c)
		}
	}
	sort.Strings(matches)
	return Completion{Matches: matches, Start: start, End: pos}, true
}
