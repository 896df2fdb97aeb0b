package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// parseSettingsJSON5 parses user settings as JupyterLab's settings editor writes them: JSON with
// // and /* */ comments and trailing commas. It returns the settings as compact JSON, which must be
// an object. Other JSON5 extensions (single quotes, unquoted keys) are refused with the parse error.
func parseSettingsJSON5(raw []byte) (json.RawMessage, error) {
	plain, err := stripJSON5(raw)
	if err != nil {
		return nil, err
	}
	var settings map[string]json.RawMessage
	if err := json.Unmarshal(plain, &settings); err != nil {
		return nil, fmt.Errorf("not a JSON object (comments and trailing commas are allowed): %w", err)
	}
	if settings == nil {
		return nil, errors.New("not a JSON object: null")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, plain); err != nil {
		return nil, err
	}
	return compact.Bytes(), nil
}

// stripJSON5 replaces comments with spaces and drops commas that directly precede a closing } or
// ], leaving strings untouched.
func stripJSON5(src []byte) ([]byte, error) {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			end := stringEnd(src, i)
			out = append(out, src[i:end]...)
			i = end
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			out = append(out, ' ')
			i += end
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil, errors.New("unterminated /* comment")
			}
			out = append(out, ' ')
			i += 2 + end + 2
		case c == '}' || c == ']':
			if k := lastNonSpace(out); k >= 0 && out[k] == ',' {
				out[k] = ' '
			}
			out = append(out, c)
			i++
		default:
			out = append(out, c)
			i++
		}
	}
	return out, nil
}

// stringEnd returns the index just past the JSON string that starts at src[start], or len(src)
// if it is not terminated (json.Unmarshal then reports it).
func stringEnd(src []byte, start int) int {
	for i := start + 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(src)
}

func lastNonSpace(b []byte) int {
	k := len(b) - 1
	for k >= 0 && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r') {
		k--
	}
	return k
}
