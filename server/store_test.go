package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hopsml/hops/internal/testhdfs"
	"github.com/hopsml/hops/store"
	storehdfs "github.com/hopsml/hops/store/hdfs"
	"github.com/hopsml/hops/store/storetest"
)

func (ts *testServer) storeRequest(t *testing.T, method, p string, body io.Reader, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, ts.url+"api/hops/store"+p, body)
	req.Header.Set("Authorization", "token "+ts.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheProjectStoreOverHTTP(t *testing.T) {
	checkStoreAPI(t, startServer(t), "/.hops/store")
}

func TestTheProjectStoreOnHDFSOverHTTP(t *testing.T) {
	cluster := testhdfs.Start(t)
	st, err := storehdfs.Open(context.Background(), cluster.URL()+"/projects/demo", storehdfs.Options{User: "hops"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := startServerWith(t, func(c *Config) { c.Store = st })
	checkStoreAPI(t, ts, cluster.URL()+"/projects/demo")

	// The namenode goes away: requests are answered 503 with a reason, quickly, and work again once
	// it is back.
	if err := cluster.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp := ts.storeRequest(t, "GET", "/Resources", nil, nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") || time.Since(start) > 30*time.Second {
		t.Fatalf("with the namenode down: %d %s after %v", resp.StatusCode, body, time.Since(start))
	}
	if err := cluster.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp := ts.storeRequest(t, "GET", "/Resources", nil, nil)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not come back: %d %s", resp.StatusCode, readAll(t, resp))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkStoreAPI drives /api/hops/store of a server with an empty store, whose String ends in where.
func checkStoreAPI(t *testing.T, ts *testServer, where string) {
	var root storeListing
	if code := ts.call(t, "GET", "/api/hops/store", nil, &root); code != http.StatusOK {
		t.Fatalf("root: %d", code)
	}
	var names []string
	for _, e := range root.Entries {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != "Experiments FeatureStore Logs Models Resources" || !strings.HasSuffix(root.Store, where) {
		t.Fatalf("the project layout: %+v", root)
	}

	resp := ts.storeRequest(t, "PUT", "/Resources/data/iris.csv", strings.NewReader("a,b\n1,2\n"), nil)
	var info store.Info
	if json.NewDecoder(resp.Body).Decode(&info); resp.StatusCode != http.StatusCreated || info.Name != "iris.csv" || info.Size != 8 {
		t.Fatalf("put: %d %+v", resp.StatusCode, info)
	}
	resp = ts.storeRequest(t, "GET", "/Resources/data/iris.csv", nil, nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK || body != "a,b\n1,2\n" ||
		resp.Header.Get("Content-Security-Policy") != "sandbox" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("get: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp = ts.storeRequest(t, "GET", "/Resources/data/iris.csv?download=1", nil, map[string]string{"Range": "bytes=4-6"})
	if body := readAll(t, resp); resp.StatusCode != http.StatusPartialContent || body != "1,2" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `attachment; filename=iris.csv`) {
		t.Fatalf("ranged download: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// Script never runs from the store.
	ts.storeRequest(t, "PUT", "/Resources/page.html", strings.NewReader("<script>alert(1)</script>"), nil)
	if resp := ts.storeRequest(t, "GET", "/Resources/page.html", nil, nil); resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("html served as %q", resp.Header.Get("Content-Type"))
	}

	if resp := ts.storeRequest(t, "PUT", "/Models/mnist?type=directory", nil, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("mkdir: %d %s", resp.StatusCode, readAll(t, resp))
	}
	var renamed store.Info
	if code := ts.call(t, "PATCH", "/api/hops/store/Resources/data/iris.csv", map[string]string{"path": "Resources/iris.csv"}, &renamed); code != http.StatusOK || renamed.Name != "iris.csv" {
		t.Fatalf("rename: %d %+v", code, renamed)
	}
	var listing storeListing
	ts.call(t, "GET", "/api/hops/store/Resources", nil, &listing)
	if len(listing.Entries) != 3 || listing.Entries[0].Name != "data" || !listing.Entries[0].Dir || listing.Entries[1].Name != "iris.csv" {
		t.Fatalf("listing: %+v", listing)
	}
	if resp := ts.storeRequest(t, "DELETE", "/Resources/data", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		says         string
	}{
		{"GET", "/Resources/data", http.StatusNotFound, "Resources/data"},
		{"DELETE", "/Resources/data", http.StatusNotFound, "does not exist"},
		{"PUT", "/Models?type=symlink", http.StatusBadRequest, "type"},
		{"PUT", "/Models", http.StatusConflict, "directory"},
		{"DELETE", "", http.StatusBadRequest, "root"},
		{"GET", "/..%2f..%2fetc/passwd", http.StatusBadRequest, ""},
		{"GET", "/Resources/%2e%2e/%2e%2e/x", http.StatusBadRequest, ""},
		{"PATCH", "/Resources/iris.csv", http.StatusBadRequest, "body"},
	} {
		resp := ts.storeRequest(t, tc.method, tc.path, nil, nil)
		if body := readAll(t, resp); resp.StatusCode != tc.status || !strings.Contains(body, tc.says) || strings.Contains(body, ts.cfg.Root) {
			t.Errorf("%s %s: %d %s, want %d saying %q (and no disk path)", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.says)
		}
	}
}

// An upload far larger than the server's memory budget streams through: the heap stays flat, the
// bytes arrive intact.
func TestStoreUploadsAndDownloadsStream(t *testing.T) {
	ts := startServer(t)
	const size = 256 << 20
	src := rand.NewChaCha8([32]byte{7})
	sent := sha256.New()
	var peak uint64
	stop := storetest.SampleHeap(&peak)
	resp := ts.storeRequest(t, "PUT", "/Resources/big.bin", io.TeeReader(io.LimitReader(src, size), sent), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, readAll(t, resp))
	}
	resp = ts.storeRequest(t, "GET", "/Resources/big.bin", nil, nil)
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	stop()
	if err != nil || n != size || string(got.Sum(nil)) != string(sent.Sum(nil)) {
		t.Fatalf("downloaded %d of %d bytes, %v", n, size, err)
	}
	if peak > 96<<20 {
		t.Fatalf("peak heap %d MiB for a %d MiB file: it was buffered", peak>>20, size>>20)
	}
	t.Logf("256 MiB up and down, peak heap %d MiB", peak>>20)
}

// The SDK in the project's Python reads a CSV into pandas from the store, on either backend.
func TestTheSDKReadsFromEitherBackendWithPandas(t *testing.T) {
	script := `import hops, pandas
with hops.fs.open("Resources/iris.csv", "w") as f:
    f.write("sepal,petal\n5.1,1.4\n4.9,1.3\n")
df = pandas.read_csv(hops.fs.open("Resources/iris.csv"))
print(len(df), round(df["petal"].sum(), 2), [e["name"] for e in hops.fs.ls("Resources")])`
	run := func(t *testing.T, ts *testServer) {
		cmd := exec.Command(ts.cfg.Python, "-c", script)
		cmd.Env = append(os.Environ(), "HOPS_SERVER_URL="+ts.url, "HOPS_TOKEN="+ts.token)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "2 2.7 ['iris.csv']" {
			t.Fatalf("the SDK: %v\n%s", err, out)
		}
	}
	t.Run("local", func(t *testing.T) { run(t, startServer(t)) })
	t.Run("hdfs", func(t *testing.T) {
		cluster := testhdfs.Start(t)
		st, err := storehdfs.Open(context.Background(), cluster.URL()+"/projects/demo", storehdfs.Options{User: "hops"})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		run(t, startServerWith(t, func(c *Config) { c.Store = st }))
	})
}
