// Package nbdiff owns the notebook-aware diff of two Jupyter notebooks (nbformat 4): which cells
// were added, removed, modified or moved, line diffs of their sources and text outputs, old and new
// images side by side, metadata changes flattened to dotted keys, and the HTML rendering of all of
// it. The JSON form of NotebookDiff is the contract with the diff viewer of the frontend.
package nbdiff

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Options say which differences do not count.
type Options struct {
	IgnoreExecutionCounts bool // execution_count changes are not changes (and not reported)
	IgnoreOutputs         bool // outputs are not compared at all: output-only changes are not changes
}

// ErrNotNotebook is wrapped by Diff's error when an input is not an nbformat 4 notebook: not JSON,
// not a notebook, or another nbformat version. The error's message says which.
var ErrNotNotebook = errors.New("not an nbformat 4 notebook")

// Status says what became of a cell, an output or a MIME type of an output.
type Status string

const (
	Unchanged Status = "unchanged"
	Added     Status = "added"
	Removed   Status = "removed"
	Modified  Status = "modified"
)

// ChangeOp says what became of a metadata key.
type ChangeOp string

const (
	KeyAdded   ChangeOp = "added"
	KeyRemoved ChangeOp = "removed"
	KeyChanged ChangeOp = "changed"
)

// LineOp says whether a line is on both sides, only the new one or only the old one.
type LineOp string

const (
	Equal  LineOp = "equal"
	Insert LineOp = "insert"
	Delete LineOp = "delete"
)

// NotebookDiff is the difference between two notebooks.
type NotebookDiff struct {
	Summary  Summary        `json:"summary"`
	Metadata []Change       `json:"metadata,omitempty"` // notebook metadata
	NBFormat *VersionChange `json:"nbformat,omitempty"` // only when the format version changed
	// Cells are in display order: the new notebook's, with each removed cell after the
	// unmoved cell it followed in the old notebook.
	Cells []CellDiff `json:"cells"`
}

// Summary counts cells by status. Moved counts cells that are also counted under their status,
// so Added+Removed+Modified+Unchanged is the number of cells shown.
type Summary struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Modified  int `json:"modified"`
	Moved     int `json:"moved"`
	Unchanged int `json:"unchanged"`
}

// VersionChange is a change of the nbformat version, as "major.minor".
type VersionChange struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Change is a change of one metadata key. Nested objects are flattened to dotted keys
// ("kernelspec.display_name"); other values, arrays included, are compared whole and carried as
// compact JSON.
type Change struct {
	Key string          `json:"key"`
	Op  ChangeOp        `json:"op"`
	Old json.RawMessage `json:"old,omitempty"`
	New json.RawMessage `json:"new,omitempty"`
}

// CellDiff is the difference of one cell.
type CellDiff struct {
	Status Status `json:"status"`
	// Moved is set on a cell on both sides whose position changed relative to the other cells on
	// both sides.
	Moved          bool                  `json:"moved"`
	OldIndex       *int                  `json:"old_index,omitempty"` // 0-based; nil for an added cell
	NewIndex       *int                  `json:"new_index,omitempty"` // 0-based; nil for a removed cell
	ID             string                `json:"id,omitempty"`        // the new side's when there is one
	CellType       string                `json:"cell_type"`
	OldCellType    string                `json:"old_cell_type,omitempty"` // only when the type changed
	Source         SourceDiff            `json:"source"`
	ExecutionCount *ExecutionCountChange `json:"execution_count,omitempty"`
	Metadata       []Change              `json:"metadata,omitempty"`
	Outputs        []OutputDiff          `json:"outputs,omitempty"`
}

// SourceDiff is the line diff of a cell's source. Every line of the cell is in it, so a viewer can
// expand an unchanged cell.
type SourceDiff struct {
	Lines []Line `json:"lines"`
}

// ExecutionCountChange is a changed execution count; nil is a cell that has not run.
type ExecutionCountChange struct {
	Old *int `json:"old"`
	New *int `json:"new"`
}

// Line is one line of a line diff, without its newline. Old and New are its 1-based line numbers
// on each side, 0 on the side that lacks it.
type Line struct {
	Op   LineOp `json:"op"`
	Old  int    `json:"old,omitempty"`
	New  int    `json:"new,omitempty"`
	Text string `json:"text"`
}

// OutputDiff is the difference of one output of a cell. An unchanged output carries only its status
// and type, an added or removed one its data, a modified one the difference of each MIME type.
// Stream and error outputs are presented as one "text/plain" MIME type: the stream's text, or
// "ename: evalue" and the traceback without terminal colours.
type OutputDiff struct {
	Status     Status            `json:"status"`
	OutputType string            `json:"output_type"`
	Mimes      []MimeDiff        `json:"mimes,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
}

// MimeDiff is the difference of one MIME type of an output. Text types (text/*, application/json,
// *+json) carry a line diff; every other type (images, SVG included) carries the value of each side
// that has it: base64 for binary images, the text for SVG. An unchanged non-text type carries
// nothing.
type MimeDiff struct {
	Mime   string `json:"mime"`
	Status Status `json:"status"`
	Lines  []Line `json:"lines,omitempty"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// Diff compares two notebooks given as nbformat 4 JSON. The result shares nothing with old and new.
func Diff(old, new []byte, opt Options) (*NotebookDiff, error) {
	var a, b *notebook
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { a, errA = parseNotebook(old) }) // decoding is most of the work for big notebooks
	b, errB = parseNotebook(new)
	wg.Wait()
	if errA != nil {
		return nil, fmt.Errorf("old notebook: %w", errA)
	}
	if errB != nil {
		return nil, fmt.Errorf("new notebook: %w", errB)
	}
	d := &NotebookDiff{Metadata: diffMetadata(a.Metadata, b.Metadata)}
	if va, vb := a.version(), b.version(); va != vb {
		d.NBFormat = &VersionChange{Old: va, New: vb}
	}
	d.Cells = diffCells(*a.Cells, *b.Cells, opt)
	for _, c := range d.Cells {
		switch c.Status {
		case Added:
			d.Summary.Added++
		case Removed:
			d.Summary.Removed++
		case Modified:
			d.Summary.Modified++
		case Unchanged:
			d.Summary.Unchanged++
		}
		if c.Moved {
			d.Summary.Moved++
		}
	}
	return d, nil
}
