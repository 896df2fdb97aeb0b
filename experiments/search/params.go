package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Params is one trial's parameter assignment. Values are int64, float64, bool or string.
type Params map[string]any

// MarshalJSON writes the keys sorted, and every float64 with a '.' or an exponent, so that Python's
// json.loads (and UnmarshalJSON) read 1.0 back as a float and not as the int 1.
func (p Params) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range slices.Sorted(maps.Keys(p)) {
		if i > 0 {
			b = append(b, ',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		v := p[k]
		if err := checkValue(v); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", k, err)
		}
		var value []byte
		if f, ok := v.(float64); ok {
			value = []byte(formatFloat(f))
		} else if value, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", k, err)
		}
		b = append(append(append(b, key...), ':'), value...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads a JSON object of numbers, bools and strings. A number written without '.', 'e'
// or 'E' is an int64 (when it fits one), any other a float64: the distinction MarshalJSON writes.
func (p *Params) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw map[string]any
	if err := d.Decode(&raw); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	if raw == nil { // JSON null leaves p alone, as encoding/json does
		return nil
	}
	out := make(Params, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case json.Number:
			n, err := parseNumber(string(v))
			if err != nil {
				return fmt.Errorf("parameter %s: %w", k, err)
			}
			out[k] = n
		case bool, string:
			out[k] = v
		default:
			return fmt.Errorf("parameter %s: %v is not a number, bool or string", k, v)
		}
	}
	*p = out
	return nil
}

func parseNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%s is out of range for a float64", s)
	}
	return f, nil
}

// Label renders the assignment as "lr=0.01, batch=32": the names in order first (Space.Names), then
// any others sorted, so that nothing is hidden. Strings are quoted only where they would be ambiguous:
// when empty or containing ", ".
func (p Params) Label(order []string) string {
	parts := make([]string, 0, len(p))
	shown := make(map[string]bool, len(p))
	for _, names := range [][]string{order, slices.Sorted(maps.Keys(p))} {
		for _, k := range names {
			if v, ok := p[k]; ok && !shown[k] {
				parts = append(parts, k+"="+labelValue(v))
				shown[k] = true
			}
		}
	}
	return strings.Join(parts, ", ")
}

// labelValue writes numbers and bools as Python prints them, since that is what the trial's code sees.
func labelValue(v any) string {
	switch v := v.(type) {
	case float64:
		return formatFloat(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		if v {
			return "True"
		}
		return "False"
	case string:
		if v == "" || strings.Contains(v, ", ") {
			return strconv.Quote(v)
		}
		return v
	}
	return fmt.Sprint(v)
}

// formatFloat writes f as Python's repr does: the shortest digits that read back as f, positional from
// 1e-4 up to 1e16 and with an exponent outside, always with a '.' or an exponent.
func formatFloat(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".N") { // NaN has no decimal to add
		s += ".0"
	}
	return s
}
