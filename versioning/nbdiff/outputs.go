package nbdiff

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"regexp"
	"slices"
	"strings"
)

// outputView is an output as it is compared and shown: its MIME types in order, each with its
// value as text (base64 for binary images), and a hash of all that.
type outputView struct {
	outputType string
	mimes      []mimeValue
	hash       uint64
}

type mimeValue struct {
	mime  string
	value []byte
}

// outputSeed seeds the output hashes, which are only ever compared within one process.
var outputSeed = maphash.MakeSeed()

func viewOutputs(outputs []output) []outputView {
	views := make([]outputView, len(outputs))
	for i := range outputs {
		views[i] = viewOutput(&outputs[i])
	}
	return views
}

func viewOutput(o *output) outputView {
	v := outputView{outputType: o.OutputType}
	switch o.OutputType {
	case "stream":
		v.mimes = []mimeValue{{"text/plain", []byte(o.Text)}}
	case "error":
		v.mimes = []mimeValue{{"text/plain", []byte(errorText(o))}}
	default:
		v.mimes = make([]mimeValue, 0, len(o.Data))
		for mime, raw := range o.Data {
			v.mimes = append(v.mimes, mimeValue{mime, decodeMimeValue(mime, raw)})
		}
		slices.SortFunc(v.mimes, func(a, b mimeValue) int { return strings.Compare(a.mime, b.mime) })
	}
	var h maphash.Hash
	h.SetSeed(outputSeed)
	var length [8]byte // before each variable-length part, so that no two outputs write the same bytes
	h.WriteString(v.outputType)
	for _, m := range v.mimes {
		h.Write(binary.LittleEndian.AppendUint64(length[:0], uint64(len(m.mime))))
		h.WriteString(m.mime)
		h.Write(binary.LittleEndian.AppendUint64(length[:0], uint64(len(m.value))))
		h.Write(m.value)
	}
	v.hash = h.Sum64()
	return v
}

// ansiEscape matches the terminal colour and cursor sequences of IPython tracebacks.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]`)

func errorText(o *output) string {
	text := o.Ename + ": " + o.Evalue
	if len(o.Traceback) > 0 {
		text += "\n" + strings.Join(o.Traceback, "\n")
	}
	return ansiEscape.ReplaceAllString(text, "")
}

// decodeMimeValue turns the raw JSON of one MIME type's data into the text it stands for.
// A plain string, the common case and the big one (base64 images), is used in place.
func decodeMimeValue(mime string, raw json.RawMessage) []byte {
	if isJSONMime(mime) {
		var indented bytes.Buffer
		_ = json.Indent(&indented, raw, "", "  ") // cannot fail: raw was just decoded
		return indented.Bytes()
	}
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	text, err := decodeMultiline(raw)
	if err != nil {
		return raw // not nbformat's string or list of strings; shown as the JSON it is
	}
	if isBase64Mime(mime) {
		// Writers that wrap base64 lines must not make an image look changed.
		text = strings.Join(strings.Fields(text), "")
	}
	return []byte(text)
}

func isJSONMime(mime string) bool {
	return mime == "application/json" || strings.HasSuffix(mime, "+json")
}

// isTextMime says whether a MIME type is diffed by lines; the others are shown side by side.
func isTextMime(mime string) bool {
	return strings.HasPrefix(mime, "text/") || isJSONMime(mime)
}

// isBase64Mime says whether nbformat stores a MIME type's data as base64: images, except SVG,
// which is XML text.
func isBase64Mime(mime string) bool {
	return strings.HasPrefix(mime, "image/") && mime != "image/svg+xml"
}

// diffOutputs aligns the outputs of a cell present on both sides by hash, in order, and pairs the
// outputs of the same type left between aligned ones as modified. It reports whether anything
// changed.
func diffOutputs(old, new []output) ([]OutputDiff, bool) {
	a, b := viewOutputs(old), viewOutputs(new)
	hashes := func(views []outputView) []uint64 {
		hs := make([]uint64, len(views))
		for i, v := range views {
			hs[i] = v.hash
		}
		return hs
	}
	script := diffSeq(hashes(a), hashes(b))
	diffs := make([]OutputDiff, 0, max(len(a), len(b)))
	changed := false
	i, j := 0, 0
	for at := 0; at < len(script); {
		if script[at] == editKeep {
			diffs = append(diffs, OutputDiff{Status: Unchanged, OutputType: b[j].outputType})
			i, j, at = i+1, j+1, at+1
			continue
		}
		// A run of changes: deletions, then insertions (see diffSeq).
		changed = true
		var removed, added []outputView
		for ; at < len(script) && script[at] == editDelete; at++ {
			removed, i = append(removed, a[i]), i+1
		}
		for ; at < len(script) && script[at] == editInsert; at++ {
			added, j = append(added, b[j]), j+1
		}
		diffs = appendChangedOutputs(diffs, removed, added)
	}
	return diffs, changed
}

// appendChangedOutputs pairs each removed output with the next added one of its type, in order.
func appendChangedOutputs(diffs []OutputDiff, removed, added []outputView) []OutputDiff {
	next := 0
	for _, r := range removed {
		k := slices.IndexFunc(added[next:], func(v outputView) bool { return v.outputType == r.outputType })
		if k < 0 {
			diffs = append(diffs, wholeOutput(Removed, r))
			continue
		}
		for _, ins := range added[next : next+k] {
			diffs = append(diffs, wholeOutput(Added, ins))
		}
		diffs = append(diffs, OutputDiff{Status: Modified, OutputType: r.outputType, Mimes: diffMimes(r, added[next+k])})
		next += k + 1
	}
	for _, ins := range added[next:] {
		diffs = append(diffs, wholeOutput(Added, ins))
	}
	return diffs
}

// wholeOutput is an added or removed output with the data of its side.
func wholeOutput(status Status, v outputView) OutputDiff {
	d := OutputDiff{Status: status, OutputType: v.outputType}
	if len(v.mimes) > 0 {
		d.Data = make(map[string]string, len(v.mimes))
		for _, m := range v.mimes {
			d.Data[m.mime] = string(m.value)
		}
	}
	return d
}

// wholeOutputs lists the outputs of a cell that is only on one side.
func wholeOutputs(status Status, outputs []output) []OutputDiff {
	var diffs []OutputDiff
	for _, v := range viewOutputs(outputs) {
		diffs = append(diffs, wholeOutput(status, v))
	}
	return diffs
}

// diffMimes compares two outputs of the same type, MIME type by MIME type.
func diffMimes(a, b outputView) []MimeDiff {
	var diffs []MimeDiff
	i, j := 0, 0
	for i < len(a.mimes) || j < len(b.mimes) {
		switch {
		case j == len(b.mimes) || (i < len(a.mimes) && a.mimes[i].mime < b.mimes[j].mime):
			diffs = append(diffs, diffMime(&a.mimes[i], nil))
			i++
		case i == len(a.mimes) || b.mimes[j].mime < a.mimes[i].mime:
			diffs = append(diffs, diffMime(nil, &b.mimes[j]))
			j++
		default:
			diffs = append(diffs, diffMime(&a.mimes[i], &b.mimes[j]))
			i, j = i+1, j+1
		}
	}
	return diffs
}

// diffMime compares the values of one MIME type; nil is a side without it.
func diffMime(old, new *mimeValue) MimeDiff {
	var d MimeDiff
	var oldValue, newValue []byte
	switch {
	case old == nil:
		d.Mime, d.Status, newValue = new.mime, Added, new.value
	case new == nil:
		d.Mime, d.Status, oldValue = old.mime, Removed, old.value
	default:
		d.Mime, oldValue, newValue = new.mime, old.value, new.value
		d.Status = Modified
		if bytes.Equal(oldValue, newValue) {
			d.Status = Unchanged
		}
	}
	if isTextMime(d.Mime) {
		d.Lines = diffLines(splitLines(string(oldValue)), splitLines(string(newValue)))
	} else if d.Status != Unchanged {
		d.Old, d.New = string(oldValue), string(newValue)
	}
	return d
}
