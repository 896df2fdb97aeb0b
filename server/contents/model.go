package contents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hopsml/hops/server/httpjson"
)

// Model types.
const (
	TypeFile      = "file"
	TypeNotebook  = "notebook"
	TypeDirectory = "directory"
)

// Content formats.
const (
	FormatText   = "text"
	FormatBase64 = "base64"
	FormatJSON   = "json"
)

// maxContent bounds a file read whole into a model; bigger files are downloaded from /files/,
// which streams.
const maxContent = httpjson.MaxBody

// Model is a contents model exactly as jupyter_server builds it and JupyterLab validates it: every
// key is present, null where it does not apply.
type Model struct {
	Name         string `json:"name"`
	Path         string `json:"path"`
	Type         string `json:"type"`
	Writable     bool   `json:"writable"`
	Created      Time   `json:"created"`
	LastModified Time   `json:"last_modified"`
	Size         *int64 `json:"size"` // nil for directories
	// Mimetype is guessed from the name for files, and falls back to text/plain or
	// application/octet-stream when content was read; nil for directories and notebooks.
	Mimetype *string `json:"mimetype"`
	// Content is nil unless asked for: []*Model (children without content) for a directory, a
	// json.RawMessage (the nbformat object) for a notebook, a string for a file.
	Content       any     `json:"content"`
	Format        *string `json:"format"`         // json, text or base64 when Content is set
	Hash          *string `json:"hash"`           // hex sha256 of the bytes on disk, when asked for
	HashAlgorithm *string `json:"hash_algorithm"` // "sha256" when Hash is set
}

// Time is a model timestamp; it is written as jupyter_server writes them: ISO 8601 in UTC with
// microseconds and a Z.
type Time struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format("2006-01-02T15:04:05.000000Z") + `"`), nil
}

// GetOptions say what Get returns.
type GetOptions struct {
	// Type is what the caller expects: "" (by the name: .ipynb is a notebook), file, notebook or
	// directory. A notebook asked for as a file is returned as text.
	Type string
	// Format is "" (text when the file is UTF-8, else base64), text or base64; files only.
	Format  string
	Content bool
	Hash    bool
}

func ptr[T any](v T) *T { return &v }

// Get returns the model of the file, notebook or directory at p.
func (m *Manager) Get(ctx context.Context, p string, o GetOptions) (*Model, error) {
	switch o.Type {
	case "", TypeFile, TypeNotebook, TypeDirectory:
	default:
		return nil, httpjson.Errorf(http.StatusBadRequest, "type %q is not one of file, notebook, directory", o.Type)
	}
	switch o.Format {
	case "", FormatText, FormatBase64:
	default:
		return nil, httpjson.Errorf(http.StatusBadRequest, "format %q is not one of text, base64", o.Format)
	}
	p, err := m.check(p, reading)
	if err != nil {
		return nil, err
	}
	if !o.Content && !o.Hash {
		// Metadata only: no need to open the file (or to be allowed to read it).
		_, fi, err := m.stat(p, reading)
		if err != nil {
			return nil, err
		}
		return m.model(p, fi, o.Type)
	}
	f, fi, err := m.open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	md, err := m.model(p, fi, o.Type)
	if err != nil {
		return nil, err
	}
	if md.Type == TypeDirectory {
		if o.Content {
			md.Format = ptr(FormatJSON)
			if md.Content, err = m.list(ctx, p, f); err != nil {
				return nil, err
			}
		}
		return md, nil
	}
	if !o.Content {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, m.fsError(p, err)
		}
		setHash(md, h.Sum(nil))
		return md, nil
	}
	if fi.Size() > maxContent {
		return nil, httpjson.Errorf(http.StatusRequestEntityTooLarge, "%s is %d bytes, too large to open as a document (limit %d); download it from /files/%s", p, fi.Size(), int64(maxContent), p)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxContent+1))
	if err != nil {
		return nil, m.fsError(p, err)
	}
	if len(data) > maxContent {
		return nil, httpjson.Errorf(http.StatusRequestEntityTooLarge, "%s grew over %d bytes while it was read; download it from /files/%s", p, int64(maxContent), p)
	}
	var sum [sha256.Size]byte
	if o.Hash || md.Type == TypeNotebook { // notebooks: the notary knows versions by digest
		sum = sha256.Sum256(data)
	}
	if o.Hash {
		setHash(md, sum[:])
	}
	if md.Type == TypeNotebook {
		if err := checkNotebook(p, data); err != nil {
			return nil, err
		}
		md.Content, md.Format = json.RawMessage(data), ptr(FormatJSON)
		if m.trust.trusts(sum) {
			if marked, err := markTrusted(data); err == nil {
				md.Content = marked
			}
		}
		return md, nil
	}
	format := o.Format
	if format == "" {
		format = FormatText
		if !utf8.Valid(data) {
			format = FormatBase64
		}
	}
	if format == FormatText {
		if !utf8.Valid(data) {
			return nil, httpjson.Errorf(http.StatusBadRequest, "%s is not UTF-8 text; ask for format=base64", p)
		}
		md.Content = string(data)
		if md.Mimetype == nil {
			md.Mimetype = ptr("text/plain")
		}
	} else {
		md.Content = base64.StdEncoding.EncodeToString(data)
		if md.Mimetype == nil {
			md.Mimetype = ptr("application/octet-stream")
		}
	}
	md.Format = &format
	return md, nil
}

func setHash(md *Model, sum []byte) {
	md.Hash, md.HashAlgorithm = ptr(hex.EncodeToString(sum)), ptr("sha256")
}

// nonblock opens files so that a FIFO cannot block the open; FIFOs are then refused.
const nonblock = syscall.O_NONBLOCK

// open opens the canonical path p for reading and stats the open file, so the model, the
// content and the hash all describe the same file.
func (m *Manager) open(p string) (*os.File, fs.FileInfo, error) {
	q, err := m.resolve(p, true, reading)
	if err != nil {
		return nil, nil, err
	}
	f, err := m.root.OpenFile(name(q), os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, nil, m.fsError(p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, m.fsError(p, err)
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, httpjson.Errorf(http.StatusBadRequest, "%s is not a regular file or directory (%s)", p, fi.Mode().Type())
	}
	return f, fi, nil
}

// model returns the model of p without content, checking it against the type asked for.
func (m *Manager) model(p string, fi fs.FileInfo, want string) (*Model, error) {
	md := &Model{
		Path:         p,
		Writable:     fi.Mode().Perm()&0o200 != 0,
		Created:      Time{created(fi)},
		LastModified: Time{fi.ModTime()},
	}
	if p != "" {
		md.Name = path.Base(p)
	}
	switch {
	case fi.IsDir():
		if want != "" && want != TypeDirectory {
			return nil, httpjson.Errorf(http.StatusBadRequest, "%s is a directory, not a %s", name(p), want)
		}
		md.Type = TypeDirectory
	case !fi.Mode().IsRegular():
		return nil, httpjson.Errorf(http.StatusBadRequest, "%s is not a regular file or directory (%s)", p, fi.Mode().Type())
	case want == TypeDirectory:
		return nil, httpjson.Errorf(http.StatusBadRequest, "%s is not a directory", p)
	case want == TypeNotebook || want == "" && strings.HasSuffix(p, ".ipynb"):
		md.Type = TypeNotebook
		md.Size = ptr(fi.Size())
	default:
		md.Type = TypeFile
		md.Size = ptr(fi.Size())
		if t := guessType(p); t != "" {
			md.Mimetype = &t
		}
	}
	return md, nil
}

// guessType is the media type of a file by its extension, without parameters; "" if unknown.
func guessType(p string) string {
	t, _, _ := strings.Cut(mime.TypeByExtension(path.Ext(p)), ";")
	return t
}

// list returns the children of directory p (open as f), without content, sorted by name. It
// only stats (no reads, no hashes), so big directories list fast. Hidden and reserved entries,
// special files, names that JSON cannot carry, and symlinks that dangle or lead outside the
// workspace or into .hops are left out.
func (m *Manager) list(ctx context.Context, p string, f *os.File) ([]*Model, error) {
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, m.fsError(p, err)
	}
	children := make([]*Model, 0, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		child := path.Join(p, e.Name())
		if !utf8.ValidString(e.Name()) || m.visible(child, reading) != nil {
			continue
		}
		var fi fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			_, fi, err = m.stat(child, reading)
		} else {
			fi, err = e.Info()
		}
		if err != nil || !fi.IsDir() && !fi.Mode().IsRegular() {
			continue
		}
		md, err := m.model(child, fi, "")
		if err != nil {
			continue
		}
		children = append(children, md)
	}
	slices.SortFunc(children, func(a, b *Model) int { return strings.Compare(a.Name, b.Name) })
	return children, nil
}

// checkNotebook refuses a file that JupyterLab could not open as a notebook, with the reason,
// as jupyter_server answers "Unreadable Notebook" with a 400.
func checkNotebook(p string, data []byte) error {
	var head struct {
		Nbformat json.RawMessage `json:"nbformat"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return httpjson.Errorf(http.StatusBadRequest, "Unreadable Notebook: %s is JSON but not a notebook (the top level is %s, not an object); open it with type=file to see or fix it", p, te.Value)
		}
		return httpjson.Errorf(http.StatusBadRequest, "Unreadable Notebook: %s is not valid JSON (%v); open it with type=file to see or fix it", p, err)
	}
	if !bytes.Equal(head.Nbformat, []byte("4")) {
		if head.Nbformat == nil {
			return httpjson.Errorf(http.StatusBadRequest, "Unreadable Notebook: %s has no \"nbformat\" key; open it with type=file to see or fix it", p)
		}
		return httpjson.Errorf(http.StatusBadRequest, "Unreadable Notebook: %s is nbformat %s; only nbformat 4 is supported (convert it with jupyter nbconvert --to notebook)", p, head.Nbformat)
	}
	return nil
}

// notebookBytes validates notebook content sent by a client and encodes it as nbformat writes
// files (sorted keys, one-space indent, no ASCII or HTML escaping, a trailing newline), so
// notebooks saved by hops and by Jupyter diff cleanly in git. Numbers keep their literal text.
// Like nbformat, it drops the transient keys that are not part of the document: the per-cell
// "trusted" flag and the notebook's signature and original version. trusted reports whether the
// client vouched for every output (see notary).
func notebookBytes(raw json.RawMessage) (data []byte, trusted bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var nb map[string]any
	if err := dec.Decode(&nb); err != nil || nb == nil {
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "notebook content must be an nbformat JSON object")
	}
	cells, ok := nb["cells"].([]any)
	if !ok {
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "notebook content must have a \"cells\" list")
	}
	if _, ok := nb["nbformat"].(json.Number); !ok {
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "notebook content must have an \"nbformat\" number")
	}
	trusted = everyOutputTrusted(nb)
	if md, ok := nb["metadata"].(map[string]any); ok {
		delete(md, "signature")
		delete(md, "orig_nbformat")
		delete(md, "orig_nbformat_minor")
	}
	for _, c := range cells {
		if c, ok := c.(map[string]any); ok {
			if md, ok := c["metadata"].(map[string]any); ok {
				delete(md, "trusted")
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(nb); err != nil {
		return nil, false, fmt.Errorf("encode notebook: %w", err)
	}
	return buf.Bytes(), trusted, nil
}
