package testhdfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"
)

// newClient connects to c the way a program configured by HADOOP_CONF_DIR would. The dial timeout
// only matters for a namenode that accepts nothing at all; a killed one refuses at once.
func newClient(t *testing.T, c *Cluster) *hdfs.Client {
	t.Helper()
	conf, err := hadoopconf.Load(c.ConfDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := hdfs.ClientOptionsFromConf(conf)
	if len(opts.Addresses) != 1 || opts.Addresses[0] != c.Addr() {
		t.Fatalf("ConfDir gives namenodes %v, want [%s]", opts.Addresses, c.Addr())
	}
	opts.User = "hops-test"
	dial := (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	opts.NamenodeDialFunc, opts.DatanodeDialFunc = dial, dial
	client, err := hdfs.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// within runs f and fails the test if it has not returned after d: a client that hangs on a dead
// cluster is the bug these tests exist to catch.
func within(t *testing.T, d time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
		return nil
	}
}

// closeFile closes w as the Java client does: the namenode refuses to complete a file ("replication in
// progress") until the datanode has reported the last block, which on one loopback datanode is often
// just after the client asks; colinmarc/hdfs leaves the retry to its caller.
func closeFile(w *hdfs.FileWriter) error {
	wait := 10 * time.Millisecond
	for {
		err := w.Close()
		if !hdfs.IsErrReplicating(err) || wait > 2*time.Second {
			return err
		}
		time.Sleep(wait)
		wait *= 2
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// TestKillAndRestart is the fault every store test builds on: files written before the whole
// filesystem dies are there after it comes back, and a client caught in the middle fails, quickly.
func TestKillAndRestart(t *testing.T) {
	t0 := time.Now()
	c := Start(t)
	t.Logf("cold start: %s (namenode %s, web %s)", time.Since(t0).Round(time.Millisecond), c.Addr(), c.HTTPAddr())
	if c.URL() != "hdfs://"+c.Addr() {
		t.Errorf("URL() = %q", c.URL())
	}
	client := newClient(t, c)

	// Three blocks, so that the namenode has something to wait for in safe mode after the restart.
	want := randomBytes(2*1<<20 + 12345)
	if err := client.MkdirAll("/kept", 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := client.CreateFile("/kept/blocks.bin", 1, 1<<20, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := closeFile(w); err != nil {
		t.Fatal(err)
	}
	if got, err := client.ReadFile("/kept/blocks.bin"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back through the Go client: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	// WebHDFS redirects the read to the datanode's own web server, which must be reachable too.
	resp, err := http.Get("http://" + c.HTTPAddr() + "/webhdfs/v1/kept/blocks.bin?op=OPEN&user.name=hops-test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("read back through WebHDFS: %s, %d bytes, %v", resp.Status, len(got), err)
	}

	// A write in flight: its first block is open in a pipeline to the datanode.
	inflight, err := client.CreateFile("/inflight.bin", 1, 1<<20, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inflight.Write(randomBytes(300 << 10)); err != nil {
		t.Fatal(err)
	}
	if err := inflight.Flush(); err != nil {
		t.Fatal(err)
	}

	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	err = within(t, 30*time.Second, "the write after Kill", func() error {
		if _, err := inflight.Write(randomBytes(2 << 20)); err != nil {
			return err
		}
		return closeFile(inflight)
	})
	if err == nil {
		t.Fatal("a write to a killed cluster succeeded")
	}
	t.Logf("the write failed %s after Kill: %v", time.Since(t1).Round(time.Millisecond), err)
	err = within(t, 30*time.Second, "Stat after Kill", func() error {
		_, err := client.Stat("/kept/blocks.bin")
		return err
	})
	if err == nil {
		t.Fatal("Stat on a killed cluster succeeded")
	}
	t.Logf("Stat on the killed cluster: %v", err)

	t2 := time.Now()
	if err := c.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart: %s", time.Since(t2).Round(time.Millisecond))

	fresh := newClient(t, c)
	if got, err := fresh.ReadFile("/kept/blocks.bin"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after restart, a new client reads %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	// The old client gives a namenode that failed a 5 s rest before dialling it again (colinmarc/hdfs
	// internal/rpc backoffDuration), then carries on.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := client.Stat("/kept/blocks.bin")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client from before the restart still fails: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got, err := client.ReadFile("/kept/blocks.bin"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after restart, the old client reads %d bytes, %v; want %d bytes", len(got), err, len(want))
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Nothing is left listening: the namenode's port is free again.
	l, err := net.Listen("tcp", c.Addr())
	if err != nil {
		t.Fatalf("after Stop: %v", err)
	}
	l.Close()
	if err := c.Restart(context.Background()); err == nil {
		t.Error("Restart after Stop succeeded")
	}
	t.Logf("whole test: %s", time.Since(t0).Round(time.Millisecond))
}

func TestLaunchWithoutJars(t *testing.T) {
	_, err := Launch(context.Background(), Options{Jars: t.TempDir()})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Launch without jars: %v, want ErrNotInstalled", err)
	}
}
