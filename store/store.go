// Package store owns the project store: the one file-system interface (FS) behind everything a
// project keeps apart from its notebooks (experiment records and artifacts, models, feature data,
// resources, logs), with one backend per kind of storage: store/local, a directory (the embedded
// default), and store/hdfs, HDFS for clusters, as HopsFS is in Hopsworks. Backends map their
// errors to io/fs's sentinels, so callers handle "not found" the same way on either.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// ErrBadPath is wrapped by every error about a name that is not a clean, relative,
// "/"-separated path inside the store.
var ErrBadPath = errors.New("bad store path")

// ErrUnavailable is wrapped by errors of a backend that cannot be reached (a namenode that is
// down); the operation may succeed later.
var ErrUnavailable = errors.New("store unavailable")

// FS is a project store. Names are "/"-separated paths relative to the store's root ("" and "."
// name the root); Clean checks them. Errors wrap fs.ErrNotExist, fs.ErrExist, fs.ErrPermission,
// ErrBadPath or ErrUnavailable where one applies.
type FS interface {
	// Open opens a file for reading.
	Open(ctx context.Context, name string) (File, error)
	// Create starts writing a file. Nothing appears under name until the writer is closed, which
	// publishes the whole file at once, replacing one that was there; Abort discards it.
	Create(ctx context.Context, name string) (Writer, error)
	// Append opens an existing file to write at its end.
	Append(ctx context.Context, name string) (io.WriteCloser, error)
	// Stat describes a file or directory.
	Stat(ctx context.Context, name string) (Info, error)
	// List returns the entries of a directory, sorted by name.
	List(ctx context.Context, name string) ([]Info, error)
	// Rename moves a file or directory; a file already at to is replaced, a directory is not.
	Rename(ctx context.Context, from, to string) error
	// Remove removes a file or a directory with everything below it.
	Remove(ctx context.Context, name string) error
	// MkdirAll creates a directory and any parents it needs.
	MkdirAll(ctx context.Context, name string) error
	// String says where the store is, for messages ("/ws/.hops/store", "hdfs://nn:8020/projects/p").
	String() string
	// Close releases the backend's connections.
	Close() error
}

// File is an open file of a store.
type File interface {
	io.ReadSeekCloser
	Stat() (Info, error)
}

// Writer writes a file that is published on Close.
type Writer interface {
	io.Writer
	// Close publishes the file under its name; on error nothing new is there.
	Close() error
	// Abort discards what was written; nothing appears under the name. Safe after Close.
	Abort() error
}

// Info describes a file or directory.
type Info struct {
	Name    string    `json:"name"` // base name
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modified"`
	Dir     bool      `json:"dir"`
}

// Layout is the project layout on a store, created on first use.
var Layout = []string{"Experiments", "Models", "FeatureStore", "Resources", "Logs"}

// EnsureLayout creates the project layout's directories that are missing.
func EnsureLayout(ctx context.Context, fsys FS) error {
	for _, d := range Layout {
		if err := fsys.MkdirAll(ctx, d); err != nil {
			return fmt.Errorf("project layout on %s: %w", fsys, err)
		}
	}
	return nil
}

// Clean checks that name is a clean, relative, "/"-separated path that stays inside the store and
// returns it, with "" for the root.
func Clean(name string) (string, error) {
	if name == "" || name == "." {
		return "", nil
	}
	bad := strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) || strings.Contains(name, "\\") ||
		path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../")
	if bad {
		return "", fmt.Errorf("%w: %q: give a path relative to the project store, without . or .. segments", ErrBadPath, name)
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, TempPrefix) {
			return "", fmt.Errorf("%w: %q: names starting with %s are the store's own temporary files", ErrBadPath, name, TempPrefix)
		}
	}
	return name, nil
}

// WalkFunc is called by Walk for every entry, with the entry's path relative to the store root.
// Returning fs.SkipDir for a directory skips what is below it.
type WalkFunc func(name string, info Info, err error) error

// Walk visits root and everything below it, directories before their entries, in name order.
func Walk(ctx context.Context, fsys FS, root string, fn WalkFunc) error {
	info, err := fsys.Stat(ctx, root)
	if err != nil {
		return fn(root, Info{}, err)
	}
	err = walk(ctx, fsys, root, info, fn)
	if errors.Is(err, fs.SkipDir) {
		return nil
	}
	return err
}

func walk(ctx context.Context, fsys FS, name string, info Info, fn WalkFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fn(name, info, nil); err != nil || !info.Dir {
		return err
	}
	entries, err := fsys.List(ctx, name)
	if err != nil {
		return fn(name, info, err)
	}
	for _, e := range entries {
		child := path.Join(name, e.Name)
		if err := walk(ctx, fsys, child, e, fn); err != nil {
			if errors.Is(err, fs.SkipDir) && e.Dir {
				continue
			}
			return err
		}
	}
	return nil
}

// TempPrefix starts the names of the files backends write before publishing them; listings leave
// them out.
const TempPrefix = ".hops-tmp-"
