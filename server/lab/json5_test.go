package lab

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseSettingsJSON5(t *testing.T) {
	tests := []struct {
		name, raw, want, err string
	}{
		{"plain JSON", `{"a": 1}`, `{"a":1}`, ""},
		{"line comments", "{\n// note\n\"a\": 1 // trailing\n}", `{"a":1}`, ""},
		{"block comments", `{/* x */"a": /* y */ 1}`, `{"a":1}`, ""},
		{"comment at the end without newline", `{"a": 1} // done`, `{"a":1}`, ""},
		{"trailing commas", `{"a": [1, 2,], "b": {"c": 3,},}`, `{"a":[1,2],"b":{"c":3}}`, ""},
		{"trailing comma before a comment", "{\"a\": 1, // last\n}", `{"a":1}`, ""},
		{"comment markers in strings", `{"url": "http://x/*y*/", "s": "a,}"}`, `{"url":"http://x/*y*/","s":"a,}"}`, ""},
		{"escaped quotes in strings", `{"q": "say \"//hi\"", "b": "\\"}`, `{"q":"say \"//hi\"","b":"\\"}`, ""},
		{"empty object", `{}`, `{}`, ""},
		{"unterminated block comment", `{"a": 1} /* x`, "", "unterminated /* comment"},
		{"not an object", `[1]`, "", "not a JSON object"},
		{"null", `null`, "", "not a JSON object"},
		{"single quotes are not supported", `{'a': 1}`, "", "invalid character"},
		{"unterminated string", `{"a": "x}`, "", "unexpected end"},
		{"empty", ``, "", "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSettingsJSON5([]byte(tt.raw))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("= %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// FuzzParseSettingsJSON5 checks that any input is either refused or turned into a JSON object, and
// that plain JSON objects pass unchanged in meaning.
func FuzzParseSettingsJSON5(f *testing.F) {
	for _, seed := range []string{`{"a": 1}`, "{// c\n\"a\": [1,],}", `{"s": "/*,}*/"}`, `{/*`, `"\`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := parseSettingsJSON5([]byte(raw))
		if err != nil {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(got, &obj); err != nil || obj == nil {
			t.Fatalf("accepted %q as %q, which is no JSON object", raw, got)
		}
		var direct map[string]any
		if json.Unmarshal([]byte(raw), &direct) == nil && direct != nil {
			a, _ := json.Marshal(direct)
			b, _ := json.Marshal(obj)
			if string(a) != string(b) {
				t.Fatalf("plain JSON %q changed meaning: %s vs %s", raw, a, b)
			}
		}
	})
}
