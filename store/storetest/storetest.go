// Package storetest is the conformance suite every store backend passes: what store.FS promises
// (atomic publish, append, rename over a file, recursive remove, listing, errors mapped to io/fs's
// sentinels), at sizes that matter (a 1 GB file in constant memory, 10,000 entries in a directory,
// many small files, concurrent writers).
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hopsml/hops/store"
)

// Options size the suite.
type Options struct {
	// BigFile is the size of the streamed file; 0 means 1 GB.
	BigFile int64
	// ManyEntries is the size of the listed directory; 0 means 10,000.
	ManyEntries int
}

// Run runs the suite against fsys, under dir (created; everything the suite writes is below it).
func Run(t *testing.T, fsys store.FS, dir string, opt Options) {
	if opt.BigFile == 0 {
		opt.BigFile = 1 << 30
	}
	if opt.ManyEntries == 0 {
		opt.ManyEntries = 10000
	}
	ctx := context.Background()
	if err := fsys.MkdirAll(ctx, dir); err != nil {
		t.Fatalf("mkdir %s: %v", dir, err)
	}
	at := func(name string) string { return dir + "/" + name }
	sub := func(name string, f func(t *testing.T, at func(string) string)) {
		t.Run(name, func(t *testing.T) {
			base := at(name)
			if err := fsys.MkdirAll(ctx, base); err != nil {
				t.Fatal(err)
			}
			f(t, func(n string) string {
				if n == "" {
					return base
				}
				return base + "/" + n
			})
		})
	}

	sub("WriteThenRead", func(t *testing.T, at func(string) string) {
		put(t, fsys, at("a.txt"), "hello, store\n")
		if got := get(t, fsys, at("a.txt")); got != "hello, store\n" {
			t.Fatalf("read back %q", got)
		}
		info, err := fsys.Stat(ctx, at("a.txt"))
		if err != nil || info.Name != "a.txt" || info.Size != 13 || info.Dir || time.Since(info.ModTime) > time.Hour {
			t.Fatalf("stat: %+v, %v", info, err)
		}
		f, err := fsys.Open(ctx, at("a.txt"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Seek(7, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(f)
		if string(rest) != "store\n" {
			t.Fatalf("after seek: %q", rest)
		}
	})

	sub("CreateIsAtomic", func(t *testing.T, at func(string) string) {
		put(t, fsys, at("model.bin"), "old")
		w, err := fsys.Create(ctx, at("model.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("new, half written")); err != nil {
			t.Fatal(err)
		}
		if got := get(t, fsys, at("model.bin")); got != "old" {
			t.Fatalf("while writing, the name shows %q", got)
		}
		if names := list(t, fsys, at("")); !slices.Equal(names, []string{"model.bin"}) {
			t.Fatalf("while writing, the directory lists %v", names)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := get(t, fsys, at("model.bin")); got != "old" {
			t.Fatalf("after abort: %q", got)
		}
		put(t, fsys, at("model.bin"), "new")
		if got := get(t, fsys, at("model.bin")); got != "new" {
			t.Fatalf("after replace: %q", got)
		}
		if names := list(t, fsys, at("")); !slices.Equal(names, []string{"model.bin"}) {
			t.Fatalf("after writing, the directory lists %v", names)
		}
		w, err = fsys.Create(ctx, at("never.bin"))
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
		w.Abort()
		if _, err := fsys.Stat(ctx, at("never.bin")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("an aborted file exists: %v", err)
		}
	})

	sub("Append", func(t *testing.T, at func(string) string) {
		put(t, fsys, at("log.txt"), "one\n")
		for _, line := range []string{"two\n", "three\n"} {
			w, err := fsys.Append(ctx, at("log.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if got := get(t, fsys, at("log.txt")); got != "one\ntwo\nthree\n" {
			t.Fatalf("after appends: %q", got)
		}
		if _, err := fsys.Append(ctx, at("missing.txt")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("append to a missing file: %v", err)
		}
	})

	sub("RenameOverAnExistingFile", func(t *testing.T, at func(string) string) {
		put(t, fsys, at("new.csv"), "fresh")
		put(t, fsys, at("current.csv"), "stale")
		if err := fsys.Rename(ctx, at("new.csv"), at("current.csv")); err != nil {
			t.Fatal(err)
		}
		if got := get(t, fsys, at("current.csv")); got != "fresh" {
			t.Fatalf("after rename: %q", got)
		}
		if _, err := fsys.Stat(ctx, at("new.csv")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the old name is still there: %v", err)
		}
		if err := fsys.MkdirAll(ctx, at("d/e")); err != nil {
			t.Fatal(err)
		}
		put(t, fsys, at("d/e/f.txt"), "deep")
		if err := fsys.Rename(ctx, at("d"), at("moved")); err != nil {
			t.Fatal(err)
		}
		if got := get(t, fsys, at("moved/e/f.txt")); got != "deep" {
			t.Fatalf("after moving a directory: %q", got)
		}
		if err := fsys.Rename(ctx, at("nothing"), at("x")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("rename of nothing: %v", err)
		}
		if err := fsys.MkdirAll(ctx, at("empty")); err != nil {
			t.Fatal(err)
		}
		if err := fsys.Rename(ctx, at("current.csv"), at("empty")); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("rename onto a directory: %v", err)
		}
	})

	sub("RemoveAndMkdir", func(t *testing.T, at func(string) string) {
		if err := fsys.MkdirAll(ctx, at("a/b/c")); err != nil {
			t.Fatal(err)
		}
		if err := fsys.MkdirAll(ctx, at("a/b/c")); err != nil {
			t.Fatalf("mkdir of an existing directory: %v", err)
		}
		put(t, fsys, at("a/b/c/x"), "x")
		put(t, fsys, at("a/y"), "y")
		if err := fsys.MkdirAll(ctx, at("a/y/z")); !errors.Is(err, fs.ErrExist) && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("mkdir below a file: %v", err)
		}
		if err := fsys.Remove(ctx, at("a")); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Stat(ctx, at("a/b/c/x")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("after remove: %v", err)
		}
		if err := fsys.Remove(ctx, at("a")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("remove of nothing: %v", err)
		}
	})

	sub("Errors", func(t *testing.T, at func(string) string) {
		if _, err := fsys.Open(ctx, at("missing")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("open missing: %v", err)
		}
		if _, err := fsys.Stat(ctx, at("missing")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat missing: %v", err)
		}
		if _, err := fsys.List(ctx, at("missing")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("list missing: %v", err)
		}
		if err := fsys.MkdirAll(ctx, at("dir")); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Create(ctx, at("dir")); !errors.Is(err, fs.ErrExist) {
			t.Errorf("create over a directory: %v", err)
		}
		for _, bad := range []string{"/etc/passwd", "../x", at("../../../x"), "a/./b", "a//b", "a\\b", at(store.TempPrefix + "x")} {
			if _, err := fsys.Open(ctx, bad); !errors.Is(err, store.ErrBadPath) {
				t.Errorf("open %q: %v, want ErrBadPath", bad, err)
			}
			if _, err := fsys.Create(ctx, bad); !errors.Is(err, store.ErrBadPath) {
				t.Errorf("create %q: %v, want ErrBadPath", bad, err)
			}
		}
	})

	sub("UnicodeNames", func(t *testing.T, at func(string) string) {
		names := []string{"données.csv", "模型 v2.bin", "emoji 🚀.txt", "ä ö ü", "space and, comma"}
		for _, n := range names {
			put(t, fsys, at(n), n)
		}
		got := list(t, fsys, at(""))
		want := slices.Sorted(slices.Values(names))
		if !slices.Equal(got, want) {
			t.Fatalf("list %q, want %q", got, want)
		}
		for _, n := range names {
			if s := get(t, fsys, at(n)); s != n {
				t.Errorf("%s holds %q", n, s)
			}
		}
	})

	sub("ManySmallFilesAndConcurrentWriters", func(t *testing.T, at func(string) string) {
		const writers, each = 8, 40
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					n := at(fmt.Sprintf("w%d-%03d.json", w, i))
					if err := write(fsys, n, fmt.Appendf(nil, `{"w": %d, "i": %d}`, w, i)); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := len(list(t, fsys, at(""))); n != writers*each {
			t.Fatalf("%d files, want %d", n, writers*each)
		}
		if got := get(t, fsys, at("w3-017.json")); got != `{"w": 3, "i": 17}` {
			t.Fatalf("w3-017.json holds %q", got)
		}
	})

	sub("ListingManyEntries", func(t *testing.T, at func(string) string) {
		var wg sync.WaitGroup
		names := make(chan int)
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				for i := range names {
					if err := fsys.MkdirAll(ctx, at(fmt.Sprintf("run-%05d", i))); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for i := range opt.ManyEntries {
			names <- i
		}
		close(names)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		start := time.Now()
		got := list(t, fsys, at(""))
		t.Logf("listed %d entries in %v", len(got), time.Since(start))
		if len(got) != opt.ManyEntries || got[0] != "run-00000" || got[len(got)-1] != fmt.Sprintf("run-%05d", opt.ManyEntries-1) {
			t.Fatalf("listed %d entries, first %q", len(got), got[0])
		}
		count := 0
		if err := store.Walk(ctx, fsys, at(""), func(string, store.Info, error) error { count++; return nil }); err != nil || count != opt.ManyEntries+1 {
			t.Fatalf("walk visited %d, %v", count, err)
		}
	})

	sub("BigFileInConstantMemory", func(t *testing.T, at func(string) string) {
		var peak uint64
		stop := SampleHeap(&peak)
		start := time.Now()
		w, err := fsys.Create(ctx, at("big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		wrote := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, wrote), io.LimitReader(newPattern(), opt.BigFile)); err != nil {
			w.Abort()
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		written := time.Since(start)
		f, err := fsys.Open(ctx, at("big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		read := sha256.New()
		n, err := io.Copy(read, f)
		f.Close()
		stop()
		if err != nil || n != opt.BigFile || !bytes.Equal(read.Sum(nil), wrote.Sum(nil)) {
			t.Fatalf("read back %d of %d bytes, %v, same content %v", n, opt.BigFile, err, bytes.Equal(read.Sum(nil), wrote.Sum(nil)))
		}
		t.Logf("%d MiB written in %v, read in %v; peak heap %d MiB", opt.BigFile>>20, written.Round(time.Millisecond),
			(time.Since(start) - written).Round(time.Millisecond), peak>>20)
		if limit := uint64(256 << 20); peak > limit {
			t.Fatalf("peak heap %d MiB while streaming: the file was buffered", peak>>20)
		}
	})
}

// SampleHeap records in peak the largest heap in use until the returned stop is called: how
// streaming tests show that nothing was buffered whole.
func SampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			*peak = max(*peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// pattern is an endless stream of pseudo-random bytes, cheap to make, that no backend can compress
// or deduplicate away.
type pattern struct{ r *rand.ChaCha8 }

func newPattern() io.Reader { return pattern{rand.NewChaCha8([32]byte{1, 2, 3})} }

func (p pattern) Read(b []byte) (int, error) { return p.r.Read(b) }

func write(fsys store.FS, name string, data []byte) error {
	w, err := fsys.Create(context.Background(), name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

func put(t *testing.T, fsys store.FS, name, content string) {
	t.Helper()
	if err := write(fsys, name, []byte(content)); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
}

func get(t *testing.T, fsys store.FS, name string) string {
	t.Helper()
	f, err := fsys.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func list(t *testing.T, fsys store.FS, dir string) []string {
	t.Helper()
	entries, err := fsys.List(context.Background(), dir)
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return names
}
