// Package contents owns the Jupyter Contents API over one workspace directory: the REST routes
// under /api/contents that JupyterLab's file browser and document contexts use (get, save,
// chunked upload, new untitled, copy, rename, delete, checkpoints, trust) and the raw file
// route /files/.
//
// Every file operation goes through an os.Root, so no path, encoded or not, and no symlink can
// reach outside the workspace; every write is atomic (temp file beside the target, fsync,
// rename, fsync of the directory). The workspace's .hops directory, which holds hops' own state,
// is never served or written through this API. Hooks (Options.AfterSave and friends) let the
// server record each change, e.g. as a git commit, once it is durable.
package contents

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/hopsml/hops/server/httpjson"
)

// Options configure a Manager.
//
// The hooks (AfterSave, AfterRename, AfterDelete) run after a change is durable on disk,
// synchronously, before the request is answered: a save that was acknowledged has been seen by
// the hook. Paths are workspace-relative with "/" separators and symlinks resolved: the entries
// that changed on disk. A hook error fails the request with a 500 that says the change itself
// was kept. Hooks get a context that is not cancelled when the client goes away, and may be
// called concurrently.
type Options struct {
	// AllowHidden serves and lists files and directories whose name starts with "." (except
	// .hops). JupyterLab hides them by default, as jupyter_server does.
	AllowHidden bool
	// Log receives mutations at debug level, lost checkpoints at warn level and server-side
	// failures at error level.
	Log *slog.Logger
	// BaseURL is the URL prefix the API is served under, for Location headers; default "/".
	BaseURL string
	// AfterSave is called after a file or notebook was written (save, last upload chunk, new
	// untitled, copy, checkpoint restore) or a directory created or copied; for a directory,
	// anything below it may have changed.
	AfterSave func(ctx context.Context, path string) error
	// AfterRename is called after a file or directory was moved from one path to another.
	AfterRename func(ctx context.Context, from, to string) error
	// AfterDelete is called after a file or directory (recursively) was deleted.
	AfterDelete func(ctx context.Context, path string) error
	// Checkpoints, when set, replace the built-in one-copy checkpoints.
	Checkpoints Checkpoints
}

// Manager serves the contents of one workspace directory.
type Manager struct {
	root *os.Root
	dir  string // the workspace directory with symlinks resolved, to check resolved paths against
	opts Options
	log  *slog.Logger
	base string
	// errEscapes is os.Root's (unexported) error for a path that leads outside the root, so it
	// can be answered with a 404 instead of a 500.
	errEscapes error
	trust      *notary
	// pathLocks serialize writing a file with its AfterSave hook, so the hook records the
	// content of the write it follows, not of a concurrent one (striped by path).
	pathLocks [64]sync.Mutex
}

// lockPath locks the stripe of q and returns its unlock.
func (m *Manager) lockPath(q string) func() {
	h := fnv.New32a()
	h.Write([]byte(q))
	l := &m.pathLocks[h.Sum32()%uint32(len(m.pathLocks))]
	l.Lock()
	return l.Unlock
}

// hopsDir is the workspace directory that holds hops' own state; reserved below.
const hopsDir = ".hops"

// tmpPrefix starts the names of the temporary files of atomic writes and uploads. They are
// hidden, and reserved so the API never shows or touches them.
const tmpPrefix = ".hops-"

// Limits on API paths, like common filesystems' (PATH_MAX, NAME_MAX).
const (
	maxPathLen    = 4096
	maxSegmentLen = 255
)

// New returns the contents manager of the workspace root (an absolute directory).
func New(root string, opts Options) (*Manager, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("contents: workspace %q is not an absolute path", root)
	}
	dir, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("contents: workspace: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("contents: workspace: %w", err)
	}
	_, escErr := r.Lstat("/")
	m := &Manager{root: r, dir: dir, opts: opts, log: opts.Log, base: opts.BaseURL, errEscapes: errors.Unwrap(escErr),
		trust: &notary{path: filepath.Join(dir, hopsDir, "trusted-notebooks")}}
	if m.errEscapes == nil {
		r.Close()
		return nil, fmt.Errorf("contents: os.Root did not refuse an absolute path")
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.base == "" {
		m.base = "/"
	}
	if !strings.HasSuffix(m.base, "/") {
		m.base += "/"
	}
	return m, nil
}

// Close releases the workspace directory.
func (m *Manager) Close() error { return m.root.Close() }

// access says what an operation does with a path, which decides how a refusal is answered: a
// path that is read must exist, so a refused one is "not found" (404); a path that is being
// created is a bad request (400).
type access int

const (
	reading access = iota
	creating
)

// check validates an API path and returns it in canonical form: relative, "/"-separated, no
// trailing slash, "" for the workspace root. It refuses, by syntax alone, anything that could
// name a file outside the workspace or inside .hops, and hidden paths unless allowed.
// Symlinks are left to os.Root and resolved.
func (m *Manager) check(p string, a access) (string, error) {
	p = strings.TrimSuffix(p, "/") // JupyterLab may address a directory with a trailing slash
	if p == "" {
		return "", nil
	}
	switch {
	case len(p) > maxPathLen:
		return "", httpjson.Errorf(http.StatusBadRequest, "path is longer than %d bytes", maxPathLen)
	case strings.HasPrefix(p, "/"):
		return "", httpjson.Errorf(http.StatusBadRequest, "path %q is absolute: paths are relative to the workspace root, without a leading /", p)
	case strings.ContainsRune(p, 0):
		return "", httpjson.Errorf(http.StatusBadRequest, "path %q contains a NUL byte", p)
	case strings.ContainsRune(p, '\\'):
		return "", httpjson.Errorf(http.StatusBadRequest, "path %q contains a backslash: separate directories with /", p)
	case !utf8.ValidString(p):
		return "", httpjson.Errorf(http.StatusBadRequest, "path %q is not valid UTF-8", p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "":
			return "", httpjson.Errorf(http.StatusBadRequest, "path %q has an empty segment (//)", p)
		case seg == "." || seg == "..":
			return "", httpjson.Errorf(http.StatusBadRequest, "path %q has a %q segment: name files from the workspace root", p, seg)
		case len(seg) > maxSegmentLen:
			return "", httpjson.Errorf(http.StatusBadRequest, "path %q has a name longer than %d bytes", p, maxSegmentLen)
		}
	}
	if err := m.visible(p, a); err != nil {
		return "", err
	}
	return p, nil
}

// visible refuses paths into .hops, temporary files, and hidden paths unless allowed.
func (m *Manager) visible(p string, a access) error {
	status := http.StatusNotFound
	if a == creating {
		status = http.StatusBadRequest
	}
	if reserved(p) {
		return httpjson.Errorf(status, "%s: %s and names starting with %s are reserved for hops' own state", p, hopsDir, tmpPrefix)
	}
	if !m.opts.AllowHidden && hidden(p) {
		return httpjson.Errorf(status, "%s is hidden (a name in it starts with \".\"); the server is not configured to allow hidden files", p)
	}
	return nil
}

func reserved(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	if strings.EqualFold(first, hopsDir) { // EqualFold: on a case-insensitive filesystem .HOPS is .hops
		return true
	}
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, tmpPrefix) {
			return true
		}
	}
	return false
}

func hidden(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// name turns a canonical API path into an os.Root file name.
func name(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// resolve returns the workspace-relative path that the canonical path p leads to on disk:
// symlinks in its directories resolved, and in its last element too when followLast. os.Root
// first decides whether the links may be followed at all (not out of the workspace, not
// absolute), then EvalSymlinks says where they lead, so that nothing reaches .hops through a
// symlink and a save through a symlink rewrites the link's target instead of replacing the
// link (as jupyter_server does). The result is still used through os.Root, so a link swapped
// in the meantime cannot lead outside.
func (m *Manager) resolve(p string, followLast bool, a access) (string, error) {
	if p == "" {
		return "", nil
	}
	dir, base := path.Split(p)
	rdir := ""
	if dir = strings.TrimSuffix(dir, "/"); dir != "" {
		var err error
		if rdir, err = m.follow(dir); err != nil {
			return "", err
		}
	}
	q := path.Join(rdir, base)
	if followLast {
		if fi, err := m.root.Lstat(q); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			if q, err = m.follow(q); err != nil {
				return "", m.fsError(p, err)
			}
		}
	}
	if reserved(q) {
		return "", m.visible(q, a)
	}
	return q, nil
}

// follow resolves all symlinks in the existing path q.
func (m *Manager) follow(q string) (string, error) {
	if _, err := m.root.Stat(q); err != nil {
		return "", m.fsError(q, err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(m.dir, filepath.FromSlash(q)))
	if err != nil {
		return "", m.fsError(q, err)
	}
	return m.rel(q, real)
}

// stat resolves the canonical path p and stats what it leads to. A symlink that leads outside
// the workspace or into .hops does not exist here.
func (m *Manager) stat(p string, a access) (string, fs.FileInfo, error) {
	q, err := m.resolve(p, true, a)
	if err != nil {
		return "", nil, err
	}
	fi, err := m.root.Stat(name(q))
	if err != nil {
		return "", nil, m.fsError(p, err)
	}
	return q, fi, nil
}

// rel turns a resolved absolute path back into a workspace-relative one.
func (m *Manager) rel(p, real string) (string, error) {
	r, err := filepath.Rel(m.dir, real)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", m.escapes(p)
	}
	if r == "." {
		return "", nil
	}
	return filepath.ToSlash(r), nil
}

func (m *Manager) escapes(p string) error {
	return httpjson.Errorf(http.StatusNotFound, "%s is a symlink that leads outside the workspace (or an absolute one); it is not served", p)
}

// fsError turns a filesystem error about p into one that answers with the right status and
// says what to do; only unexpected failures stay 500s.
func (m *Manager) fsError(p string, err error) error {
	if p == "" {
		p = "the workspace root"
	}
	var se *httpjson.StatusError
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, m.errEscapes):
		return m.escapes(p)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return httpjson.Errorf(http.StatusNotFound, "%s does not exist", p)
	case errors.Is(err, fs.ErrExist):
		return httpjson.Errorf(http.StatusConflict, "%s already exists: choose another name or delete it first", p)
	case errors.Is(err, fs.ErrPermission):
		return httpjson.Errorf(http.StatusForbidden, "%s: permission denied on the server's filesystem", p)
	case errors.Is(err, syscall.ELOOP):
		return httpjson.Errorf(http.StatusBadRequest, "%s: too many levels of symbolic links", p)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return httpjson.Errorf(http.StatusBadRequest, "%s: name too long for the filesystem", p)
	}
	return fmt.Errorf("%s: %w", p, err)
}

// hookErr reports a failed hook: the change itself is on disk.
func hookErr(what, p string, err error) error {
	return fmt.Errorf("%s %s: the change is on disk, but recording it failed: %w", what, p, err)
}

func (m *Manager) afterSave(ctx context.Context, p string) error {
	if m.opts.AfterSave == nil {
		return nil
	}
	if err := m.opts.AfterSave(context.WithoutCancel(ctx), p); err != nil {
		return hookErr("save", p, err)
	}
	return nil
}

func (m *Manager) afterRename(ctx context.Context, from, to string) error {
	if m.opts.AfterRename == nil {
		return nil
	}
	if err := m.opts.AfterRename(context.WithoutCancel(ctx), from, to); err != nil {
		return hookErr("rename", from, err)
	}
	return nil
}

func (m *Manager) afterDelete(ctx context.Context, p string) error {
	if m.opts.AfterDelete == nil {
		return nil
	}
	if err := m.opts.AfterDelete(context.WithoutCancel(ctx), p); err != nil {
		return hookErr("delete", p, err)
	}
	return nil
}
