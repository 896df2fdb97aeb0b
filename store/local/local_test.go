package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hopsml/hops/store"
	"github.com/hopsml/hops/store/storetest"
)

func TestConformance(t *testing.T) {
	fsys, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	storetest.Run(t, fsys, "conformance", storetest.Options{})
}

func TestSymlinksCannotLeadOutOfTheStore(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	fsys, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if _, err := fsys.Open(context.Background(), "link/secret"); !errors.Is(err, store.ErrBadPath) {
		t.Fatalf("open through a symlink out of the store: %v", err)
	}
	if _, err := fsys.Create(context.Background(), "link/new"); !errors.Is(err, store.ErrBadPath) {
		t.Fatalf("create through a symlink out of the store: %v", err)
	}
}

func TestTheProjectLayoutIsCreatedOnce(t *testing.T) {
	fsys, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	for range 2 {
		if err := store.EnsureLayout(context.Background(), fsys); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := fsys.List(context.Background(), "")
	if len(entries) != len(store.Layout) {
		t.Fatalf("layout: %+v", entries)
	}
}

// Running as root (as CI does), permissions cannot be provoked on a local disk; the mapping of the
// operating system's errors is checked directly.
func TestOSErrorsMapToTheStoreSentinels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&os.PathError{Op: "open", Path: "/s/x", Err: syscall.ENOENT}, fs.ErrNotExist},
		{&os.PathError{Op: "open", Path: "/s/x/y", Err: syscall.ENOTDIR}, fs.ErrNotExist},
		{&os.PathError{Op: "open", Path: "/s/x", Err: syscall.EACCES}, fs.ErrPermission},
		{&os.PathError{Op: "open", Path: "/s/x", Err: syscall.EPERM}, fs.ErrPermission},
		{&os.PathError{Op: "mkdir", Path: "/s/x", Err: syscall.EEXIST}, fs.ErrExist},
		{&os.LinkError{Op: "rename", Old: "/s/a", New: "/s/b", Err: syscall.ENOTEMPTY}, fs.ErrExist},
	} {
		got := wrap("op", "x", tc.err)
		if !errors.Is(got, tc.want) || strings.Contains(got.Error(), "/s/") {
			t.Errorf("%v mapped to %v, want %v without the disk path", tc.err, got, tc.want)
		}
	}
}
