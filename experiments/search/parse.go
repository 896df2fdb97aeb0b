package search

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The parsers' errors begin with the text they were given, not with the flag: the caller, which knows
// the flag, puts it in front ("--grid " + err.Error()).

// ParseValue reads a value as it is meant on the command line: "32" is an int64; "0.01" and "1e-3" are
// float64; true, false, True and False are bools; a value in single or double quotes is the string
// inside them; anything else is the string itself.
func ParseValue(s string) any {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	switch s {
	case "true", "True":
		return true
	case "false", "False":
		return false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	// Only decimal notation makes a float: "inf" and "nan" stay strings (JSON cannot carry them to the
	// trial), and so do hex floats, which nobody means.
	if strings.Trim(s, "0123456789+-.eE") == "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	return s
}

// ParseParam reads a --param: "name=value".
func ParseParam(s string) (Param, error) {
	name, value, err := splitAssign(s, "batch=32")
	if err != nil {
		return Param{}, err
	}
	if strings.TrimSpace(value) == "" {
		return Param{}, fmt.Errorf("%s: no value after %q: give one, e.g. %s=32, or %s='' for an empty string",
			s, name+"=", name, name)
	}
	return Param{Name: name, Value: ParseValue(value)}, nil
}

// ParseGrid reads a --grid: "name=v1,v2,v3", or an inclusive integer range "name=0..63" or with a step
// "name=0..64..8". Commas inside quotes do not separate values: opt='a,b',c has two.
func ParseGrid(s string) (Dim, error) {
	name, list, err := splitAssign(s, "lr=0.001,0.01")
	if err != nil {
		return Dim{}, err
	}
	if strings.TrimSpace(list) == "" {
		return Dim{}, fmt.Errorf("%s: no values after %q: give comma-separated values, e.g. --grid %s=0.001,0.01",
			s, name+"=", name)
	}
	values, err := parseValues(list)
	if err != nil {
		return Dim{}, fmt.Errorf("%s: %w", s, err)
	}
	d := Dim{Name: name, Values: values}
	if err := d.check(); err != nil {
		return Dim{}, fmt.Errorf("%s: %w", s, err)
	}
	return d, nil
}

// ParseRandom reads a --random: "name=lo:hi", or "name=lo:hi:log" to sample uniformly in log space.
// Bounds written as integers make an integer range.
func ParseRandom(s string) (Range, error) {
	name, bounds, err := splitAssign(s, "lr=0.0001:0.1")
	if err != nil {
		return Range{}, err
	}
	parts := strings.Split(bounds, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Range{}, fmt.Errorf("%s: %q is not lo:hi or lo:hi:log: write the bounds, e.g. --random %s=0.0001:0.1:log",
			s, bounds, name)
	}
	r := Range{Name: name}
	if len(parts) == 3 {
		if scale := strings.TrimSpace(parts[2]); !strings.EqualFold(scale, "log") {
			return Range{}, fmt.Errorf("%s: unknown scale %q: the only scale is log, e.g. %s=0.0001:0.1:log; leave it out for a linear range",
				s, scale, name)
		}
		r.Log = true
	}
	var loInt, hiInt bool
	for _, b := range []struct {
		which string
		text  string
		to    *float64
		isInt *bool
	}{{"lower", parts[0], &r.Lo, &loInt}, {"upper", parts[1], &r.Hi, &hiInt}} {
		switch v := ParseValue(b.text).(type) {
		case int64:
			*b.to, *b.isInt = float64(v), true
		case float64:
			*b.to = v
		default:
			return Range{}, fmt.Errorf("%s: %s bound %q is not a number: give numbers, e.g. %s=0.0001:0.1",
				s, b.which, strings.TrimSpace(b.text), name)
		}
	}
	r.Int = loInt && hiInt
	if err := r.check(); err != nil {
		return Range{}, fmt.Errorf("%s: %w", s, err)
	}
	return r, nil
}

// ParseObjective reads --optimize: "metric:max", "metric:min", or "metric", which maximizes.
func ParseObjective(s string) (Objective, error) {
	metric, dir, hasDir := strings.Cut(s, ":")
	o := Objective{Metric: strings.TrimSpace(metric), Direction: Max}
	if o.Metric == "" {
		return Objective{}, fmt.Errorf("%s: no metric name: write metric:max or metric:min, e.g. --optimize accuracy:max", s)
	}
	if hasDir {
		o.Direction = Direction(strings.ToLower(strings.TrimSpace(dir)))
	}
	if o.Direction != Max && o.Direction != Min {
		return Objective{}, fmt.Errorf("%s: direction %q is neither max nor min: write %s:max or %s:min",
			s, strings.TrimSpace(dir), o.Metric, o.Metric)
	}
	return o, nil
}

// splitAssign splits "name=rest" and checks the name; example is a whole good argument of the flag.
func splitAssign(s, example string) (name, rest string, err error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("%s: no '=': write name=value, e.g. %s", s, example)
	}
	name = strings.TrimSpace(name)
	if err := checkName(name); err != nil {
		return "", "", fmt.Errorf("%s: %w", s, err)
	}
	return name, rest, nil
}

// parseValues reads a comma-separated list, or an integer range.
func parseValues(list string) ([]any, error) {
	if values, isRange, err := parseIntRange(list); isRange {
		return values, err
	}
	items, err := splitList(list)
	if err != nil {
		return nil, err
	}
	values := make([]any, len(items))
	for i, item := range items {
		if strings.TrimSpace(item) == "" {
			return nil, fmt.Errorf("empty item in %q: remove the extra comma, or write '' for an empty string", list)
		}
		values[i] = ParseValue(item)
	}
	return values, nil
}

// parseIntRange reads lo..hi or lo..hi..step, both ends included. Only text that starts with an
// integer and has no comma is a range, so that a value such as ../data stays a string.
func parseIntRange(list string) (values []any, isRange bool, err error) {
	parts := strings.Split(list, "..")
	if len(parts) < 2 || strings.Contains(list, ",") {
		return nil, false, nil
	}
	lo, err := strconv.ParseInt(strings.TrimSpace(parts[0]), 10, 64)
	if err != nil {
		return nil, false, nil
	}
	bad := fmt.Errorf("%q is not an integer range: write lo..hi or lo..hi..step in whole numbers, e.g. 0..63 or 0..64..8", list)
	if len(parts) > 3 {
		return nil, true, bad
	}
	hi, err := strconv.ParseInt(strings.TrimSpace(parts[1]), 10, 64)
	if err != nil {
		return nil, true, bad
	}
	step := int64(1)
	if len(parts) == 3 {
		if step, err = strconv.ParseInt(strings.TrimSpace(parts[2]), 10, 64); err != nil {
			return nil, true, bad
		}
		if step <= 0 {
			return nil, true, fmt.Errorf("step %d in %q is not positive: give a step of 1 or more, e.g. %d..%d..2", step, list, lo, hi)
		}
	}
	if lo > hi {
		return nil, true, fmt.Errorf("range %q runs backwards: write the lower end first, e.g. %d..%d", list, hi, lo)
	}
	// In unsigned arithmetic hi-lo cannot overflow, whatever the ends.
	if steps := (uint64(hi) - uint64(lo)) / uint64(step); steps >= maxTrials {
		return nil, true, fmt.Errorf("range %q has more than %d values: use a larger step or a narrower range", list, maxTrials)
	}
	for v := lo; ; v += step {
		values = append(values, v)
		if uint64(hi)-uint64(v) < uint64(step) {
			return values, true, nil
		}
	}
}

// splitList splits at commas outside quotes. A quote opens only at the start of an item, so an
// apostrophe inside a word is just a character.
func splitList(list string) ([]string, error) {
	var items []string
	start, quote := 0, byte(0)
	for i := 0; i < len(list); i++ {
		switch c := list[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case (c == '\'' || c == '"') && strings.TrimSpace(list[start:i]) == "":
			quote = c
		case c == ',':
			items = append(items, list[start:i])
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("a %c quote in %q is not closed: close it, e.g. 'a,b'", quote, list)
	}
	return append(items, list[start:]), nil
}

// pythonKeywords cannot be assigned to, so they cannot name a parameter.
var pythonKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

// checkName admits names the trial's code can use as variables.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("no parameter name before '=': write name=value")
	case !isIdentifier(name):
		return fmt.Errorf("%q is not a Python identifier: use letters, digits and _, not starting with a digit", name)
	case pythonKeywords[name]:
		return fmt.Errorf("%q is a Python keyword: choose another name, e.g. %s_", name, name)
	case name == "hops":
		return errors.New("the name hops is taken by the hops module the trial imports: choose another name")
	}
	return nil
}

// isIdentifier follows Python's rule (XID_Start then XID_Continue) closely enough for parameter names.
func isIdentifier(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r):
		case i > 0 && unicode.In(r, unicode.Nd, unicode.Mn, unicode.Mc, unicode.Pc):
		default:
			return false
		}
	}
	return s != ""
}
