package nbdiff

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// notebook is the part of an nbformat 4 notebook that the diff reads. Output data stays raw JSON:
// most of a big notebook is base64 images that only need hashing, never decoding.
type notebook struct {
	NBFormat      *int            `json:"nbformat"`
	NBFormatMinor int             `json:"nbformat_minor"`
	Metadata      json.RawMessage `json:"metadata"`
	Cells         *[]cell         `json:"cells"`
}

type cell struct {
	ID             string          `json:"id"`
	CellType       string          `json:"cell_type"`
	Source         multiline       `json:"source"`
	Metadata       json.RawMessage `json:"metadata"`
	ExecutionCount *int            `json:"execution_count"`
	Outputs        []output        `json:"outputs"`
}

// output is an output of a code cell; its execution_count is left out on purpose, so that rerunning
// a cell does not modify its outputs.
type output struct {
	OutputType string                     `json:"output_type"`
	Text       multiline                  `json:"text"` // stream
	Data       map[string]json.RawMessage `json:"data"` // execute_result, display_data
	Ename      string                     `json:"ename"`
	Evalue     string                     `json:"evalue"`
	Traceback  []string                   `json:"traceback"`
}

// multiline is nbformat's multi-line string: a string, or a list of strings to be joined.
type multiline string

func (s *multiline) UnmarshalJSON(data []byte) error {
	text, err := decodeMultiline(data)
	*s = multiline(text)
	return err
}

func decodeMultiline(data []byte) (string, error) {
	if len(data) > 0 && data[0] == '[' {
		var parts []string
		if json.Unmarshal(data, &parts) == nil {
			return strings.Join(parts, ""), nil
		}
	} else {
		var text string
		if json.Unmarshal(data, &text) == nil {
			return text, nil // null too, as ""
		}
	}
	return "", errors.New("a source or text is " + abbreviate(data) + ", want a string or a list of strings")
}

func parseNotebook(data []byte) (*notebook, error) {
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntaxErr):
			return nil, fmt.Errorf("%w: invalid JSON: %v", ErrNotNotebook, err)
		case errors.As(err, &typeErr) && typeErr.Field == "":
			return nil, fmt.Errorf("%w: a JSON %s, want an object", ErrNotNotebook, typeErr.Value)
		case errors.As(err, &typeErr):
			return nil, fmt.Errorf("%w: %s is a JSON %s", ErrNotNotebook, typeErr.Field, typeErr.Value)
		}
		return nil, fmt.Errorf("%w: %v", ErrNotNotebook, err)
	}
	switch {
	case nb.NBFormat == nil:
		return nil, fmt.Errorf("%w: no nbformat version", ErrNotNotebook)
	case *nb.NBFormat != 4:
		return nil, fmt.Errorf("%w: nbformat %d; convert it with `jupyter nbconvert --to notebook --nbformat 4`",
			ErrNotNotebook, *nb.NBFormat)
	case nb.Cells == nil:
		return nil, fmt.Errorf("%w: no cells list", ErrNotNotebook)
	}
	return &nb, nil
}

func (nb *notebook) version() string {
	return fmt.Sprintf("%d.%d", *nb.NBFormat, nb.NBFormatMinor)
}

// abbreviate shows the start of a JSON value in an error message.
func abbreviate(data []byte) string {
	const most = 40
	if len(data) > most {
		return string(data[:most]) + "..."
	}
	return string(data)
}
