// Package local is the project store in a local directory: the embedded default
// (<workspace>/.hops/store) or any directory. Every access goes through an os.Root, so no name
// and no symlink leads outside the directory; files are published by fsync and rename, so a crash
// leaves the old file or the new one, never half of it.
package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hopsml/hops/store"
)

// FS is a store in a directory.
type FS struct {
	dir  string
	root *os.Root
}

var _ store.FS = (*FS)(nil)

// Open returns the store in dir, creating the directory if needed.
func Open(dir string) (*FS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", abs, err)
	}
	return &FS{dir: abs, root: r}, nil
}

func (s *FS) String() string { return s.dir }

// Close releases the directory.
func (s *FS) Close() error { return s.root.Close() }

// name checks a store name and returns the name os.Root takes for it.
func name(n string) (string, error) {
	c, err := store.Clean(n)
	if err != nil {
		return "", err
	}
	if c == "" {
		return ".", nil
	}
	return c, nil
}

// wrap maps an os error to the store's sentinels, keeping the store-relative name in the message.
func wrap(op, n string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%s %s: %w", op, n, fs.ErrNotExist)
	case errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("%s %s: %w (%v)", op, n, fs.ErrExist, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s %s: %w", op, n, fs.ErrPermission)
	case err.Error() == "path escapes from parent":
		return fmt.Errorf("%s %s: %w: it leads outside the store", op, n, store.ErrBadPath)
	}
	return fmt.Errorf("%s %s: %w", op, n, err)
}

type file struct {
	*os.File
	name string
}

func (f file) Stat() (store.Info, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return store.Info{}, wrap("stat", f.name, err)
	}
	return info(fi), nil
}

func info(fi fs.FileInfo) store.Info {
	return store.Info{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), Dir: fi.IsDir()}
}

func (s *FS) Open(ctx context.Context, n string) (store.File, error) {
	q, err := name(n)
	if err != nil {
		return nil, err
	}
	f, err := s.root.Open(q)
	if err != nil {
		return nil, wrap("open", n, err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a directory: list it instead", n)
	}
	return file{f, n}, nil
}

// writer writes a hidden temporary file beside the target and renames it over the target on Close.
type writer struct {
	s         *FS
	f         *os.File
	tmp, dest string
	done      bool
}

func (s *FS) Create(ctx context.Context, n string) (store.Writer, error) {
	q, err := name(n)
	if err != nil {
		return nil, err
	}
	if q == "." {
		return nil, fmt.Errorf("create: %w: name a file, not the store's root", store.ErrBadPath)
	}
	if fi, err := s.root.Stat(q); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("create %s: %w: a directory is there", n, fs.ErrExist)
	}
	tmp := path.Join(path.Dir(q), store.TempPrefix+path.Base(q)+"-"+rand.Text())
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, wrap("create", n, err)
	}
	return &writer{s: s, f: f, tmp: tmp, dest: q}, nil
}

func (w *writer) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.s.root.Rename(w.tmp, w.dest)
	}
	if err != nil {
		w.s.root.Remove(w.tmp)
		return wrap("write", w.dest, err)
	}
	return syncDir(w.s.dir, path.Dir(w.dest))
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return wrap("abort", w.dest, w.s.root.Remove(w.tmp))
}

func syncDir(root, dir string) error {
	d, err := os.Open(filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

func (s *FS) Append(ctx context.Context, n string) (io.WriteCloser, error) {
	q, err := name(n)
	if err != nil {
		return nil, err
	}
	f, err := s.root.OpenFile(q, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, wrap("append", n, err)
	}
	return f, nil
}

func (s *FS) Stat(ctx context.Context, n string) (store.Info, error) {
	q, err := name(n)
	if err != nil {
		return store.Info{}, err
	}
	fi, err := s.root.Stat(q)
	if err != nil {
		return store.Info{}, wrap("stat", n, err)
	}
	return info(fi), nil
}

func (s *FS) List(ctx context.Context, n string) ([]store.Info, error) {
	q, err := name(n)
	if err != nil {
		return nil, err
	}
	d, err := s.root.Open(q)
	if err != nil {
		return nil, wrap("list", n, err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, wrap("list", n, err)
	}
	out := make([]store.Info, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), store.TempPrefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, info(fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *FS) Rename(ctx context.Context, from, to string) error {
	f, err := name(from)
	if err != nil {
		return err
	}
	t, err := name(to)
	if err != nil {
		return err
	}
	if f == "." || t == "." {
		return fmt.Errorf("rename: %w: the store's root cannot be moved", store.ErrBadPath)
	}
	if fi, err := s.root.Stat(t); err == nil && fi.IsDir() {
		return fmt.Errorf("rename %s to %s: %w: a directory is there", from, to, fs.ErrExist)
	}
	if err := s.root.Rename(f, t); err != nil {
		return wrap("rename "+from+" to", to, err)
	}
	return syncDir(s.dir, path.Dir(t))
}

func (s *FS) Remove(ctx context.Context, n string) error {
	q, err := name(n)
	if err != nil {
		return err
	}
	if q == "." {
		return fmt.Errorf("remove: %w: the store's root cannot be removed", store.ErrBadPath)
	}
	if _, err := s.root.Lstat(q); err != nil {
		return wrap("remove", n, err)
	}
	return wrap("remove", n, s.root.RemoveAll(q))
}

func (s *FS) MkdirAll(ctx context.Context, n string) error {
	q, err := name(n)
	if err != nil {
		return err
	}
	return wrap("mkdir", n, s.root.MkdirAll(q, 0o755))
}
