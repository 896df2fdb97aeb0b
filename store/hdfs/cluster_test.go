package hdfs

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os/user"
	"testing"
	"time"

	"github.com/hopsml/hops/internal/testhdfs"
	"github.com/hopsml/hops/store"
	"github.com/hopsml/hops/store/storetest"
)

func TestConformanceOnARealHDFS(t *testing.T) {
	cluster := testhdfs.Start(t)
	fsys, err := Open(context.Background(), cluster.URL()+"/projects/demo", Options{User: "hops"})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	storetest.Run(t, fsys, "conformance", storetest.Options{})
}

// The namenode dies in the middle of a write: the writer gets a clear error within bounded time,
// nothing appears under the file's name, and once the namenode is back the store works again.
func TestANamenodeKilledDuringAWrite(t *testing.T) {
	cluster := testhdfs.Start(t)
	ctx := context.Background()
	fsys, err := Open(ctx, cluster.URL()+"/projects/demo", Options{User: "hops", DialTimeout: 3 * time.Second, IOTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if err := fsys.MkdirAll(ctx, "Models"); err != nil {
		t.Fatal(err)
	}
	w, err := fsys.Create(ctx, "Models/model.bin")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	rand.Read(chunk)
	for range 8 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatalf("write before the kill: %v", err)
		}
	}
	if err := cluster.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var werr error
	for i := 0; i < 64 && werr == nil; i++ {
		_, werr = w.Write(chunk)
	}
	if werr == nil {
		werr = w.Close()
	} else {
		w.Abort()
	}
	took := time.Since(start)
	if werr == nil {
		t.Fatal("a write with the namenode and datanode dead succeeded")
	}
	if took > 90*time.Second {
		t.Fatalf("the writer learnt of the dead namenode after %v", took)
	}
	t.Logf("the writer's error after %v: %v", took.Round(time.Millisecond), werr)

	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err = fsys.Stat(ctx, "Models/model.bin")
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err == nil {
			t.Fatal("a half-written file appeared under its final name")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not come back: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	w, err = fsys.Create(ctx, "Models/model.bin")
	if err != nil {
		t.Fatalf("create after the restart: %v", err)
	}
	if _, err := w.Write([]byte("complete")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
	f, err := fsys.Open(ctx, "Models/model.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "complete" {
		t.Fatalf("after the restart the file holds %q", b)
	}
	if _, err := fsys.Stat(ctx, "../escape"); !errors.Is(err, store.ErrBadPath) {
		t.Fatalf("a path out of the store: %v", err)
	}
}

// With permissions on (the conformance cluster runs without them), HDFS's AccessControlException is
// fs.ErrPermission, as EACCES is for store/local.
func TestPermissionDeniedIsErrPermission(t *testing.T) {
	cluster := testhdfs.StartWith(t, testhdfs.Options{Conf: map[string]string{"dfs.permissions.enabled": "true"}})
	ctx := context.Background()
	owner, err := Open(ctx, cluster.URL()+"/projects/private", Options{User: superuser(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	w, err := owner.Create(ctx, "secret.csv")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("a,b"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := owner.client.Chmod(owner.root, 0o700); err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, cluster.URL()+"/projects", Options{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Open(ctx, "private/secret.csv"); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("reading another user's private file: %v", err)
	}
	if _, err := other.Create(ctx, "private/mine.csv"); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("writing into another user's private directory: %v", err)
	}
}

// superuser is the user the test cluster runs as, who owns HDFS's root.
func superuser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
