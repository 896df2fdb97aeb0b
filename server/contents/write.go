package contents

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/hopsml/hops/server/httpjson"
)

// SaveRequest is the body of PUT /api/contents/{path}: what JupyterLab sends to save or upload.
type SaveRequest struct {
	Type   string `json:"type"`   // file, notebook or directory
	Format string `json:"format"` // text or base64 for a file; ignored for the others
	// Content is a JSON string for a file, the nbformat object for a notebook. Missing or null
	// creates an empty file or notebook, and is refused for one that exists.
	Content json.RawMessage `json:"content"`
	// Chunk numbers the parts of an upload: 1 starts it, 2, 3, ... append, -1 is the last and
	// publishes the file; 0 is a whole save. Parts collect in a hidden file beside the target,
	// so an abandoned upload never leaves a partial file under the target's name.
	Chunk int `json:"chunk"`
}

// emptyNotebook is a new untitled notebook: valid nbformat 4.5 with no cells.
const emptyNotebook = `{"cells":[],"metadata":{},"nbformat":4,"nbformat_minor":5}`

// maxFresh bounds the search for a free Untitled/Copy name, so it cannot run unbounded.
const maxFresh = 100000

// copyPat matches the copy suffix of a name, so a copy of a-Copy1.txt is a-Copy2.txt rather than
// a-Copy1-Copy1.txt (as jupyter_server names copies).
var copyPat = regexp.MustCompile(`-Copy\d*\.`)

// Save writes a file or notebook, or creates a directory, at p. It reports whether p was
// created (PUT answers 201) rather than replaced (200), and returns the model without content.
func (m *Manager) Save(ctx context.Context, p string, req SaveRequest) (*Model, bool, error) {
	p, err := m.check(p, creating)
	if err != nil {
		return nil, false, err
	}
	if p == "" {
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "cannot save over the workspace root: name a file")
	}
	switch req.Type {
	case TypeFile, TypeNotebook, TypeDirectory:
	case "":
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "save %s: the body needs \"type\": file, notebook or directory", p)
	default:
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "save %s: type %q is not one of file, notebook, directory", p, req.Type)
	}
	q, err := m.resolve(p, true, creating)
	if err != nil {
		return nil, false, err
	}
	unlock := m.lockPath(q)
	defer unlock()
	old, err := m.root.Stat(q)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, m.fsError(p, err)
	}
	exists := err == nil
	switch {
	case req.Type == TypeDirectory && exists && !old.IsDir():
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "%s exists and is not a directory", p)
	case req.Type == TypeDirectory && exists:
		md, err := m.Get(ctx, p, GetOptions{})
		return md, false, err
	case req.Type == TypeDirectory:
		if err := m.root.Mkdir(q, 0o777); err != nil {
			return nil, false, m.fsError(p, err)
		}
		if err := m.syncDir(path.Dir(q)); err != nil {
			return nil, false, m.fsError(p, err)
		}
	case exists && old.IsDir():
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "%s is a directory; cannot save a %s over it", p, req.Type)
	case exists && !old.Mode().IsRegular():
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "%s is not a regular file (%s)", p, old.Mode().Type())
	case req.Chunk != 0:
		md, done, err := m.saveChunk(p, q, old, req)
		if err != nil || !done {
			return md, !exists, err
		}
	default:
		data, trusted, err := saveBytes(p, req, exists)
		if err != nil {
			return nil, false, err
		}
		var mode fs.FileMode
		if exists {
			mode = old.Mode().Perm()
		}
		if err := m.writeFile(q, data, mode); err != nil {
			return nil, false, m.fsError(p, err)
		}
		if req.Type == TypeNotebook && trusted {
			if err := m.trust.trust(sha256.Sum256(data)); err != nil {
				m.log.Warn("contents: notebook saved, but not recorded as trusted", "path", p, "err", err)
			}
		}
		if req.Type == TypeNotebook {
			// One checkpoint always exists for a notebook, as with jupyter_server, so "Revert
			// to checkpoint" has something to go back to.
			if err := m.ensureCheckpoint(p, q); err != nil {
				return nil, false, err
			}
		}
	}
	m.log.Debug("contents: saved", "path", p, "type", req.Type, "created", !exists)
	if err := m.afterSave(ctx, q); err != nil {
		return nil, false, err
	}
	md, err := m.Get(ctx, p, GetOptions{})
	return md, !exists, err
}

// saveBytes is the file content of a whole (unchunked) save; trusted as notebookBytes says.
func saveBytes(p string, req SaveRequest, exists bool) ([]byte, bool, error) {
	if len(req.Content) == 0 || string(req.Content) == "null" {
		if exists {
			return nil, false, httpjson.Errorf(http.StatusBadRequest, "save %s: the body has no \"content\"", p)
		}
		if req.Type == TypeNotebook {
			return notebookBytes(json.RawMessage(emptyNotebook))
		}
		return nil, false, nil
	}
	if req.Type == TypeNotebook {
		return notebookBytes(req.Content)
	}
	data, err := fileBytes(p, req.Format, req.Content)
	return data, false, err
}

// fileBytes decodes the content of a file save.
func fileBytes(p, format string, raw json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, httpjson.Errorf(http.StatusBadRequest, "save %s: the content of a file must be a JSON string", p)
	}
	switch format {
	case FormatText:
		return []byte(s), nil
	case FormatBase64:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, httpjson.Errorf(http.StatusBadRequest, "save %s: content is not valid base64: %v", p, err)
		}
		return b, nil
	}
	return nil, httpjson.Errorf(http.StatusBadRequest, "save %s: format must be text or base64 for a file, not %q", p, format)
}

// saveChunk adds one part of a chunked upload of p (at q on disk) and, on the last part,
// publishes the file atomically. It reports whether the file was published; before that the
// model describes the upload so far.
func (m *Manager) saveChunk(p, q string, old fs.FileInfo, req SaveRequest) (*Model, bool, error) {
	if req.Type != TypeFile {
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "upload %s: only type file can be sent in chunks, not %s", p, req.Type)
	}
	if len(req.Content) == 0 || string(req.Content) == "null" {
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "upload %s: chunk %d has no \"content\"", p, req.Chunk)
	}
	data, err := fileBytes(p, req.Format, req.Content)
	if err != nil {
		return nil, false, err
	}
	flag := os.O_WRONLY | os.O_APPEND
	switch {
	case req.Chunk == 1:
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	case req.Chunk > 1 || req.Chunk == -1:
	default:
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "upload %s: chunk must be 1, 2, 3, ... or -1 for the last, not %d", p, req.Chunk)
	}
	sum := sha256.Sum256([]byte(path.Base(q)))
	part := path.Join(path.Dir(q), tmpPrefix+"upload-"+hex.EncodeToString(sum[:8]))
	f, err := m.root.OpenFile(part, flag, 0o666)
	if errors.Is(err, fs.ErrNotExist) && req.Chunk != 1 {
		return nil, false, httpjson.Errorf(http.StatusBadRequest, "upload %s: chunk %d came without chunk 1 (or after the last one): restart the upload", p, req.Chunk)
	}
	if err != nil {
		return nil, false, m.fsError(p, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, false, m.fsError(p, err)
	}
	if req.Chunk != -1 {
		fi, err := f.Stat()
		f.Close()
		if err != nil {
			return nil, false, m.fsError(p, err)
		}
		md, err := m.model(p, fi, TypeFile)
		return md, false, err
	}
	var mode fs.FileMode
	if old != nil {
		mode = old.Mode().Perm()
	}
	if err := m.publish(f, part, q, mode); err != nil {
		return nil, false, m.fsError(p, err)
	}
	return nil, true, nil
}

// writeFile atomically replaces (or creates) q with data. mode 0 leaves a new file's mode to
// the umask; otherwise the file gets mode (that of the file it replaces).
func (m *Manager) writeFile(q string, data []byte, mode fs.FileMode) error {
	f, tmp, err := m.createTemp(path.Dir(q))
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		m.root.Remove(tmp)
		return err
	}
	return m.publish(f, tmp, q, mode)
}

// createTemp creates a hidden, reserved temporary file in dir.
func (m *Manager) createTemp(dir string) (*os.File, string, error) {
	tmp := path.Join(dir, tmpPrefix+"tmp-"+rand.Text())
	f, err := m.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	return f, tmp, err
}

// publish makes the temporary file f (at tmp) durable and renames it over q, then makes the
// rename durable: readers, and a crash at any moment, see the old content or the new.
func (m *Manager) publish(f *os.File, tmp, q string, mode fs.FileMode) error {
	var err error
	if mode != 0 {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = m.root.Rename(tmp, q)
	}
	if err != nil {
		m.root.Remove(tmp)
		return err
	}
	return m.syncDir(path.Dir(q))
}

func (m *Manager) syncDir(dir string) error {
	d, err := m.root.Open(name(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// NewUntitled creates an empty file, notebook or directory in directory dir under the first
// free name of jupyter_server's sequences: untitled<ext>, untitled1<ext>, ...;
// Untitled.ipynb, Untitled1.ipynb, ...; "Untitled Folder", "Untitled Folder 1", .... typ ""
// means notebook when ext is .ipynb, else file; ext may omit its dot.
func (m *Manager) NewUntitled(ctx context.Context, dir, typ, ext string) (*Model, error) {
	dir, err := m.check(dir, reading)
	if err != nil {
		return nil, err
	}
	if ext != "" && !strings.HasPrefix(ext, ".") {
		ext = "." + ext
	}
	if strings.ContainsAny(ext, "/\\\x00") {
		return nil, httpjson.Errorf(http.StatusBadRequest, "ext %q must be a file extension like .py", ext)
	}
	if typ == "" {
		typ = TypeFile
		if ext == ".ipynb" {
			typ = TypeNotebook
		}
	}
	qdir, err := m.directory(dir, "create files in")
	if err != nil {
		return nil, err
	}
	var (
		q    string
		data []byte
	)
	switch typ {
	case TypeDirectory:
		q, err = m.claimFresh(qdir, "Untitled Folder", " ", func(q string) error {
			return m.root.Mkdir(q, 0o777)
		})
	case TypeNotebook:
		if data, _, err = notebookBytes(json.RawMessage(emptyNotebook)); err != nil {
			return nil, err
		}
		q, err = m.claimFresh(qdir, "Untitled.ipynb", "", func(q string) error { return m.createFile(q, data) })
	case TypeFile:
		q, err = m.claimFresh(qdir, "untitled"+ext, "", func(q string) error { return m.createFile(q, nil) })
	default:
		return nil, httpjson.Errorf(http.StatusBadRequest, "type %q is not one of file, notebook, directory", typ)
	}
	if err != nil {
		return nil, m.fsError(path.Join(dir, "untitled"+ext), err)
	}
	if err := m.syncDir(qdir); err != nil {
		return nil, m.fsError(dir, err)
	}
	m.log.Debug("contents: created", "path", q, "type", typ)
	if err := m.afterSave(ctx, q); err != nil {
		return nil, err
	}
	return m.Get(ctx, path.Join(dir, path.Base(q)), GetOptions{})
}

// directory resolves p, which must be an existing directory, for creating entries in it.
func (m *Manager) directory(p, doing string) (string, error) {
	q, fi, err := m.stat(p, reading)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", httpjson.Errorf(http.StatusBadRequest, "%s is a file, not a directory: cannot %s it (PUT saves a file)", p, doing)
	}
	return q, nil
}

// createFile creates q, which must not exist, with data. The name is claimed first (O_EXCL)
// so concurrent creators never pick the same one, then filled atomically.
func (m *Manager) createFile(q string, data []byte) error {
	f, err := m.root.OpenFile(q, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	f.Close()
	if len(data) == 0 {
		return nil
	}
	if err := m.writeFile(q, data, 0); err != nil {
		m.root.Remove(q)
		return err
	}
	return nil
}

// claimFresh takes the first free name in directory dir of the sequence base, base<insert>1,
// base<insert>2, ... (the number goes before the extension) by calling claim, which must fail
// with fs.ErrExist when the name is taken and leave nothing behind on other errors.
func (m *Manager) claimFresh(dir, base, insert string, claim func(q string) error) (string, error) {
	stem, ext := splitExt(base)
	for i := range maxFresh {
		n := base
		if i > 0 {
			n = stem + insert + strconv.Itoa(i) + ext
		}
		q := path.Join(dir, n)
		if _, err := m.root.Lstat(q); err == nil {
			continue
		}
		if err := claim(q); !errors.Is(err, fs.ErrExist) {
			return q, err
		}
	}
	return "", httpjson.Errorf(http.StatusConflict, "%s: no free name after %d tries; rename or delete some", path.Join(dir, base), maxFresh)
}

// splitExt splits a name before the .ipynb extension, or else before its first dot, as
// jupyter_server numbers names (data.tar.gz -> data1.tar.gz).
func splitExt(n string) (stem, ext string) {
	if strings.HasSuffix(n, ".ipynb") {
		return strings.TrimSuffix(n, ".ipynb"), ".ipynb"
	}
	if i := strings.Index(n, "."); i >= 0 {
		return n[:i], n[i:]
	}
	return n, ""
}

// Copy copies the file, notebook or directory from. When to is an existing directory the copy
// goes in it, under from's name or, when that is taken, name-Copy1.ext, name-Copy2.ext, ...;
// otherwise to is the exact path of the copy and must not exist. A directory is copied whole
// (symlinks as symlinks) and appears at once, complete.
func (m *Manager) Copy(ctx context.Context, from, to string) (*Model, error) {
	from, err := m.check(from, reading)
	if err != nil {
		return nil, err
	}
	to, err = m.check(to, creating)
	if err != nil {
		return nil, err
	}
	if from == "" {
		return nil, httpjson.Errorf(http.StatusBadRequest, "cannot copy the workspace root")
	}
	src, sfi, err := m.stat(from, reading)
	if err != nil {
		return nil, err
	}
	if !sfi.IsDir() && !sfi.Mode().IsRegular() {
		return nil, httpjson.Errorf(http.StatusBadRequest, "%s is not a regular file or directory (%s)", from, sfi.Mode().Type())
	}
	dst, err := m.resolve(to, true, creating)
	if err != nil {
		return nil, err
	}
	dfi, err := m.root.Stat(name(dst))
	into := err == nil && dfi.IsDir()
	switch {
	case err == nil && !into:
		return nil, httpjson.Errorf(http.StatusConflict, "%s already exists: choose another name or delete it first", to)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, m.fsError(to, err)
	}
	dir := path.Dir(dst)
	if into {
		dir = dst
	}
	if sfi.IsDir() && (src == "" || dir == src || strings.HasPrefix(dir, src+"/")) {
		return nil, httpjson.Errorf(http.StatusBadRequest, "cannot copy directory %s into itself", from)
	}
	var q string
	if sfi.IsDir() {
		q, err = m.copyDir(ctx, src, dst, sfi.Mode().Perm(), into, path.Base(from))
	} else {
		q, err = m.copyNewFile(src, dst, sfi.Mode().Perm(), into, path.Base(from))
	}
	if err != nil {
		return nil, m.fsError(to, err)
	}
	api := to
	if into {
		api = path.Join(to, path.Base(q))
	}
	m.log.Debug("contents: copied", "from", from, "to", api)
	if err := m.afterSave(ctx, q); err != nil {
		return nil, err
	}
	return m.Get(ctx, api, GetOptions{})
}

// copyNewFile copies file src to a new file: dst, or when into, a fresh name in directory dst.
// The name is claimed first (O_EXCL), then filled atomically.
func (m *Manager) copyNewFile(src, dst string, mode fs.FileMode, into bool, base string) (string, error) {
	claim := func(q string) error {
		f, err := m.root.OpenFile(q, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			f.Close()
		}
		return err
	}
	q := dst
	var err error
	if into {
		q, err = m.claimFresh(dst, copyPat.ReplaceAllString(base, "."), "-Copy", claim)
	} else {
		err = claim(dst)
	}
	if err != nil {
		return "", err
	}
	if err := m.copyFile(src, q, mode); err != nil {
		m.root.Remove(q)
		return "", err
	}
	return q, nil
}

// copyDir copies directory src to a new directory: dst, or when into, a fresh name in directory
// dst. The copy is built under a temporary name and renamed into place, which claims the name:
// os.Rename never replaces an existing directory, and cannot replace a file with a directory.
func (m *Manager) copyDir(ctx context.Context, src, dst string, mode fs.FileMode, into bool, base string) (string, error) {
	parent := path.Dir(dst)
	if into {
		parent = dst
	}
	tmp := path.Join(parent, tmpPrefix+"tmp-"+rand.Text())
	err := m.root.Mkdir(tmp, mode)
	if err == nil {
		err = m.copyTree(ctx, src, tmp)
	}
	if err == nil {
		err = m.syncDir(tmp)
	}
	claim := func(q string) error {
		err := m.root.Rename(tmp, q)
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENOTEMPTY) {
			return fs.ErrExist
		}
		return err
	}
	q := dst
	if err == nil {
		if into {
			q, err = m.claimFresh(dst, copyPat.ReplaceAllString(base, "."), "-Copy", claim)
		} else {
			err = claim(dst)
		}
	}
	if err == nil {
		err = m.syncDir(parent)
	}
	if err != nil {
		m.root.RemoveAll(tmp)
		return "", err
	}
	return q, nil
}

// copyFile atomically replaces q with a copy of the regular file src, with mode.
func (m *Manager) copyFile(src, q string, mode fs.FileMode) error {
	in, err := m.root.OpenFile(src, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	f, tmp, err := m.createTemp(path.Dir(q))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		m.root.Remove(tmp)
		return err
	}
	return m.publish(f, tmp, q, mode)
}

// copyTree copies the entries of directory src into the existing directory dst: directories and
// regular files, symlinks as symlinks; special files and hops' temporary files are skipped.
func (m *Manager) copyTree(ctx context.Context, src, dst string) error {
	d, err := m.root.Open(src)
	if err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		s, t := path.Join(src, e.Name()), path.Join(dst, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, err := m.root.Readlink(s)
			if err == nil {
				err = m.root.Symlink(target, t)
			}
			if err != nil {
				return err
			}
		case e.IsDir():
			fi, err := e.Info()
			if err == nil {
				err = m.root.Mkdir(t, fi.Mode().Perm())
			}
			if err == nil {
				err = m.copyTree(ctx, s, t)
			}
			if err == nil {
				err = m.syncDir(t)
			}
			if err != nil {
				return err
			}
		case e.Type().IsRegular():
			fi, err := e.Info()
			if err == nil {
				err = m.copyFile(s, t, fi.Mode().Perm())
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Rename moves the file or directory from to to, which must not exist (409) and whose
// directory must exist. Checkpoints move along.
func (m *Manager) Rename(ctx context.Context, from, to string) (*Model, error) {
	from, err := m.check(from, reading)
	if err != nil {
		return nil, err
	}
	to, err = m.check(to, creating)
	if err != nil {
		return nil, err
	}
	if from == "" || to == "" {
		return nil, httpjson.Errorf(http.StatusBadRequest, "cannot rename the workspace root")
	}
	// The move is of the entries themselves, symlinks included, but a symlink that leads outside
	// the workspace or into .hops does not exist here, as source or as target.
	if _, _, err := m.stat(from, reading); err != nil {
		return nil, err
	}
	if _, err := m.resolve(to, true, creating); err != nil {
		return nil, err
	}
	if from == to {
		return m.Get(ctx, to, GetOptions{})
	}
	src, err := m.resolve(from, false, reading)
	if err != nil {
		return nil, err
	}
	dst, err := m.resolve(to, false, creating)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(dst, src+"/") {
		return nil, httpjson.Errorf(http.StatusBadRequest, "cannot move %s into itself", from)
	}
	sfi, err := m.root.Lstat(src)
	if err != nil {
		return nil, m.fsError(from, err)
	}
	// A name that exists is a conflict, unless it is the source itself under another case
	// (a case-only rename on a case-insensitive filesystem).
	if dfi, err := m.root.Lstat(dst); err == nil && !os.SameFile(sfi, dfi) {
		return nil, httpjson.Errorf(http.StatusConflict, "%s already exists: choose another name or delete it first", to)
	}
	if err := m.root.Rename(src, dst); err != nil {
		return nil, m.fsError(to, err)
	}
	if err := m.syncDir(path.Dir(dst)); err != nil {
		return nil, m.fsError(to, err)
	}
	if path.Dir(src) != path.Dir(dst) {
		if err := m.syncDir(path.Dir(src)); err != nil {
			return nil, m.fsError(from, err)
		}
	}
	m.moveCheckpoints(from, to)
	m.log.Debug("contents: renamed", "from", from, "to", to)
	if err := m.afterRename(ctx, src, dst); err != nil {
		return nil, err
	}
	return m.Get(ctx, to, GetOptions{})
}

// Delete deletes the file or directory at p, a directory with everything in it (as
// jupyter_server does when it does not use the trash), and its checkpoints.
func (m *Manager) Delete(ctx context.Context, p string) error {
	p, err := m.check(p, reading)
	if err != nil {
		return err
	}
	if p == "" {
		return httpjson.Errorf(http.StatusBadRequest, "cannot delete the workspace root")
	}
	// The entry itself is deleted, a symlink not followed, but one that leads outside the
	// workspace or into .hops does not exist here.
	if _, _, err := m.stat(p, reading); err != nil {
		return err
	}
	q, err := m.resolve(p, false, reading)
	if err != nil {
		return err
	}
	if err := m.root.RemoveAll(q); err != nil {
		return m.fsError(p, err)
	}
	if err := m.syncDir(path.Dir(q)); err != nil {
		return m.fsError(p, err)
	}
	m.deleteCheckpoints(p)
	m.log.Debug("contents: deleted", "path", p)
	return m.afterDelete(ctx, q)
}
