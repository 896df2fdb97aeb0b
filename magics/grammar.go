// Package magics owns the %hops language: the grammar of %hops lines and %%hops cells, the commands
// with their help, completion and suggestions, and the rendering of results as Jupyter mimebundles.
// It knows nothing of sockets: the kernel hands it a line and an Output to write to.
package magics

import (
	"fmt"
	"strings"
)

// UsageError is a mistake in a %hops line: an unknown command or flag, a missing value. The kernel
// shows it as IPython shows magic usage errors.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// tokenize splits a %hops line into words the way a POSIX shell would: blanks separate words, single
// quotes keep everything literally, double quotes keep blanks, a backslash escapes the next character.
func tokenize(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, usagef("unterminated %c quote in %q: close the quote", quote, line)
	}
	if escaped {
		cur.WriteRune('\\')
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Invocation is one parsed %hops command: its flags, positional arguments and cell body.
type Invocation struct {
	Command *Command
	Flags   map[string][]string // by long name; bool flags hold "true"/"false"
	Args    []string
	Line    string // the text after %hops or %%hops, as written
	Body    string // the body of a %%hops cell, "" for a line
	Cell    bool
	Env     *Env
}

// String returns the last value of a flag, or its default.
func (inv *Invocation) String(name string) string {
	if v := inv.Flags[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	if f := inv.Command.flag(name); f != nil {
		return f.Default
	}
	return ""
}

// Bool reports whether a boolean flag is set.
func (inv *Invocation) Bool(name string) bool { return inv.String(name) == "true" }

// parse binds words (after the command name) to the command's flags and arguments.
func (c *Command) parse(words []string) (*Invocation, error) {
	inv := &Invocation{Command: c, Flags: map[string][]string{}}
	if c.RawArgs {
		words, inv.Args = nil, words
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			inv.Args = append(inv.Args, words[i+1:]...)
			break
		}
		if !strings.HasPrefix(w, "-") || w == "-" {
			inv.Args = append(inv.Args, w)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(w, "-"), "-"), "=")
		f := c.lookupFlag(w, name)
		if f == nil {
			return nil, c.unknownFlag(w)
		}
		if f.Kind == Bool {
			if !hasValue {
				value = "true"
			} else if value != "true" && value != "false" {
				return nil, usagef("%s takes no value (or =true/=false), got %q", f.display(), value)
			}
		} else if !hasValue {
			if i+1 >= len(words) {
				return nil, usagef("%s needs a value: %s", f.display(), f.usage())
			}
			i++
			value = words[i]
		}
		if len(inv.Flags[f.Name]) > 0 && !f.Repeat {
			return nil, usagef("%s is given twice; it takes one value", f.display())
		}
		inv.Flags[f.Name] = append(inv.Flags[f.Name], value)
	}
	if len(inv.Args) < c.MinArgs || (c.MaxArgs >= 0 && len(inv.Args) > c.MaxArgs) {
		return nil, usagef("%%hops %s takes %s, got %d: usage: %s", c.Name, c.argCount(), len(inv.Args), c.synopsis())
	}
	return inv, nil
}

func (c *Command) lookupFlag(word, name string) *Flag {
	long := strings.HasPrefix(word, "--")
	for i := range c.Flags {
		f := &c.Flags[i]
		if (long && f.Name == name) || (!long && f.Short != "" && f.Short == name) {
			return f
		}
	}
	return nil
}

func (c *Command) unknownFlag(word string) error {
	var names []string
	for _, f := range c.Flags {
		names = append(names, "--"+f.Name)
		if f.Short != "" {
			names = append(names, "-"+f.Short)
		}
	}
	if len(names) == 0 {
		return usagef("%%hops %s takes no flags, got %s; see %%hops help %s", c.Name, word, c.Name)
	}
	flag, _, _ := strings.Cut(word, "=")
	return usagef("unknown flag %s for %%hops %s; did you mean %s? See %%hops help %s",
		flag, c.Name, closest(flag, names), c.Name)
}

func (c *Command) argCount() string {
	switch {
	case c.MaxArgs == 0:
		return "no arguments"
	case c.MinArgs == c.MaxArgs:
		return fmt.Sprintf("%d argument(s)", c.MinArgs)
	case c.MaxArgs < 0:
		return fmt.Sprintf("at least %d argument(s)", c.MinArgs)
	default:
		return fmt.Sprintf("%d to %d arguments", c.MinArgs, c.MaxArgs)
	}
}

// closest returns the candidate with the smallest edit distance to word.
func closest(word string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := editDistance(word, c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
