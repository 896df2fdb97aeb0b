package contents

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// env is a workspace served by a Manager through a ServeMux, as the server wires it.
type env struct {
	t   *testing.T
	dir string
	m   *Manager
	mux *http.ServeMux
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	mux := http.NewServeMux()
	m.Register(mux)
	return &env{t: t, dir: dir, m: m, mux: mux}
}

// with returns e reporting to t, for use in a subtest.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// do sends a request; body is sent as is when it is a string, else as JSON, or not at all (nil).
func (e *env) do(method, target string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, target, r)
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

// want checks the status of a response and returns its JSON body (nil if empty).
func (e *env) want(rec *httptest.ResponseRecorder, status int) map[string]any {
	e.t.Helper()
	if rec.Code != status {
		e.t.Fatalf("status %d, want %d; body: %s", rec.Code, status, rec.Body)
	}
	if rec.Body.Len() == 0 {
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		e.t.Fatalf("body is not a JSON object: %v: %s", err, rec.Body)
	}
	return v
}

// wantError checks that a response is an error with status and a message containing substr.
func (e *env) wantError(rec *httptest.ResponseRecorder, status int, substr string) {
	e.t.Helper()
	v := e.want(rec, status)
	msg, _ := v["message"].(string)
	if msg == "" || !strings.Contains(msg, substr) {
		e.t.Fatalf("message %q does not contain %q", msg, substr)
	}
	if _, ok := v["reason"].(string); !ok {
		e.t.Fatalf("error has no reason: %v", v)
	}
}

func (e *env) write(rel, content string) {
	e.t.Helper()
	p := filepath.Join(e.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(rel)))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(e.dir, filepath.FromSlash(rel)))
	return err == nil
}

var timestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

var modelKeys = []string{"content", "created", "format", "hash", "hash_algorithm", "last_modified", "mimetype", "name", "path", "size", "type", "writable"}

const notebookFile = `{
 "cells": [
  {
   "cell_type": "code",
   "execution_count": null,
   "id": "a1",
   "metadata": {},
   "outputs": [],
   "source": "print(1)"
  }
 ],
 "metadata": {},
 "nbformat": 4,
 "nbformat_minor": 5
}
`

func TestGetModels(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("notes.txt", "héllo\n")
	e.write("blob", "\xff\xfe\x00\x01")
	e.write("nb.ipynb", notebookFile)
	e.write("dir/child.txt", "x")
	mtime := time.Date(2024, 5, 1, 10, 11, 12, 123456789, time.UTC)
	if err := os.Chtimes(filepath.Join(e.dir, "notes.txt"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	sha := func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
	null := any(nil)
	tests := []struct {
		name   string
		target string
		want   map[string]any // the model's keys that are checked exactly
	}{
		{"text file with content", "/api/contents/notes.txt", map[string]any{
			"name": "notes.txt", "path": "notes.txt", "type": "file", "writable": true, "size": 7.0,
			"mimetype": "text/plain", "content": "héllo\n", "format": "text", "hash": null, "hash_algorithm": null,
			"last_modified": "2024-05-01T10:11:12.123456Z",
		}},
		{"text file without content, with hash", "/api/contents/notes.txt?content=0&hash=1", map[string]any{
			"type": "file", "size": 7.0, "mimetype": "text/plain", "content": null, "format": null,
			"hash": sha("héllo\n"), "hash_algorithm": "sha256",
		}},
		{"text file as base64", "/api/contents/notes.txt?format=base64", map[string]any{
			"content": base64.StdEncoding.EncodeToString([]byte("héllo\n")), "format": "base64", "mimetype": "text/plain",
		}},
		{"binary file falls back to base64", "/api/contents/blob?hash=1", map[string]any{
			"name": "blob", "type": "file", "size": 4.0, "mimetype": "application/octet-stream",
			"content": base64.StdEncoding.EncodeToString([]byte("\xff\xfe\x00\x01")), "format": "base64",
			"hash": sha("\xff\xfe\x00\x01"), "hash_algorithm": "sha256",
		}},
		{"binary file without content has no guessed mimetype", "/api/contents/blob?content=0", map[string]any{
			"mimetype": null, "content": null, "format": null,
		}},
		{"notebook", "/api/contents/nb.ipynb?type=notebook&content=1&hash=1", map[string]any{
			"name": "nb.ipynb", "path": "nb.ipynb", "type": "notebook", "size": float64(len(notebookFile)),
			"mimetype": null, "format": "json", "hash": sha(notebookFile), "hash_algorithm": "sha256",
		}},
		{"notebook by its name, without content", "/api/contents/nb.ipynb?content=0", map[string]any{
			"type": "notebook", "content": null, "format": null, "mimetype": null, "hash": null,
		}},
		{"notebook asked for as a file", "/api/contents/nb.ipynb?type=file", map[string]any{
			"type": "file", "content": notebookFile, "format": "text",
		}},
		{"directory", "/api/contents/dir", map[string]any{
			"name": "dir", "path": "dir", "type": "directory", "size": null, "mimetype": null, "format": "json",
			"hash": null, "hash_algorithm": null,
		}},
		{"directory without content", "/api/contents/dir?content=0&hash=1", map[string]any{
			"type": "directory", "content": null, "format": null, "hash": null,
		}},
		{"root", "/api/contents", map[string]any{"name": "", "path": "", "type": "directory"}},
		{"root with a trailing slash", "/api/contents/?content=0", map[string]any{"name": "", "path": "", "content": null}},
		{"directory with a trailing slash", "/api/contents/dir/?content=0", map[string]any{"path": "dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			rec := e.do("GET", tt.target, nil)
			v := e.want(rec, http.StatusOK)
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, modelKeys) {
				t.Errorf("keys %v, want %v", keys, modelKeys)
			}
			for _, k := range []string{"created", "last_modified"} {
				if s, _ := v[k].(string); !timestamp.MatchString(s) {
					t.Errorf("%s %q is not ISO 8601 UTC with microseconds", k, s)
				}
			}
			if rec.Header().Get("Last-Modified") == "" {
				t.Error("no Last-Modified header")
			}
			for k, want := range tt.want {
				if !jsonEqual(v[k], want) {
					t.Errorf("%s = %#v, want %#v", k, v[k], want)
				}
			}
		})
	}

	t.Run("notebook content is the nbformat object", func(t *testing.T) {
		e := e.with(t)
		v := e.want(e.do("GET", "/api/contents/nb.ipynb", nil), http.StatusOK)
		var want any
		json.Unmarshal([]byte(notebookFile), &want)
		if !jsonEqual(v["content"], want) {
			t.Errorf("content %v", v["content"])
		}
	})
	t.Run("directory children have no content", func(t *testing.T) {
		e := e.with(t)
		v := e.want(e.do("GET", "/api/contents", nil), http.StatusOK)
		var names []string
		for _, c := range v["content"].([]any) {
			c := c.(map[string]any)
			names = append(names, c["name"].(string))
			if c["content"] != nil || c["format"] != nil || c["hash"] != nil {
				t.Errorf("child %v has content", c)
			}
		}
		if want := []string{"blob", "dir", "nb.ipynb", "notes.txt"}; !slices.Equal(names, want) {
			t.Errorf("children %v, want %v", names, want)
		}
	})
	t.Run("Last-Modified is the file's mtime", func(t *testing.T) {
		e := e.with(t)
		rec := e.do("GET", "/api/contents/notes.txt?content=0", nil)
		if got := rec.Header().Get("Last-Modified"); got != mtime.Format(http.TimeFormat) {
			t.Errorf("Last-Modified %q", got)
		}
	})
	t.Run("an empty directory lists []", func(t *testing.T) {
		e := e.with(t)
		os.Mkdir(filepath.Join(e.dir, "empty"), 0o755)
		rec := e.do("GET", "/api/contents/empty", nil)
		if !strings.Contains(rec.Body.String(), `"content":[]`) {
			t.Errorf("body %s", rec.Body)
		}
	})
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestGetRefusals(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("notes.txt", "hi")
	e.write("data.bin", "\xff")
	e.write("bad.ipynb", `{"cells": [`)
	e.write("list.ipynb", `[1, 2]`)
	e.write("old.ipynb", `{"nbformat": 3, "worksheets": []}`)
	e.write("dir/x", "")
	tests := []struct {
		target string
		status int
		msg    string
	}{
		{"/api/contents/notes.txt?type=bogus", 400, `type "bogus"`},
		{"/api/contents/notes.txt?format=utf8", 400, `format "utf8"`},
		{"/api/contents/notes.txt?content=yes", 400, "content must be 0 or 1"},
		{"/api/contents/notes.txt?hash=2", 400, "hash must be 0 or 1"},
		{"/api/contents/dir?type=file", 400, "dir is a directory, not a file"},
		{"/api/contents/notes.txt?type=directory", 400, "notes.txt is not a directory"},
		{"/api/contents/data.bin?format=text", 400, "not UTF-8"},
		{"/api/contents/missing.txt", 404, "missing.txt does not exist"},
		{"/api/contents/notes.txt/child", 404, "does not exist"},
		{"/api/contents/bad.ipynb", 400, "Unreadable Notebook: bad.ipynb is not valid JSON (unexpected end of JSON input)"},
		{"/api/contents/list.ipynb", 400, "list.ipynb is JSON but not a notebook"},
		{"/api/contents/old.ipynb", 400, "nbformat 3"},
		{"/api/contents/notes.txt?type=notebook", 400, "Unreadable Notebook: notes.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			e := e.with(t)
			e.wantError(e.do("GET", tt.target, nil), tt.status, tt.msg)
		})
	}
	t.Run("an unreadable notebook can still be opened as a file", func(t *testing.T) {
		e := e.with(t)
		v := e.want(e.do("GET", "/api/contents/bad.ipynb?type=file", nil), http.StatusOK)
		if v["content"] != `{"cells": [` {
			t.Errorf("content %v", v["content"])
		}
	})
}

func TestHiddenFiles(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("AllowHidden=%v", allow), func(t *testing.T) {
			e := newEnv(t, Options{AllowHidden: allow})
			e.write(".env", "SECRET=1")
			e.write(".config/x.txt", "x")
			e.write("visible.txt", "v")
			e.write(".hops/checkpoints/visible.txt", "old")
			hiddenStatus := http.StatusNotFound
			if allow {
				hiddenStatus = http.StatusOK
			}
			for _, target := range []string{"/api/contents/.env", "/api/contents/.config/x.txt", "/files/.env"} {
				if rec := e.do("GET", target, nil); rec.Code != hiddenStatus {
					t.Errorf("GET %s: %d, want %d", target, rec.Code, hiddenStatus)
				}
			}
			v := e.want(e.do("GET", "/api/contents", nil), http.StatusOK)
			var names []string
			for _, c := range v["content"].([]any) {
				names = append(names, c.(map[string]any)["name"].(string))
			}
			want := []string{"visible.txt"}
			if allow {
				want = []string{".config", ".env", "visible.txt"}
			}
			if !slices.Equal(names, want) {
				t.Errorf("listing %v, want %v", names, want)
			}
			// .hops is never served nor written, hidden files allowed or not.
			e.wantError(e.do("GET", "/api/contents/.hops/checkpoints/visible.txt", nil), 404, "reserved")
			e.wantError(e.do("GET", "/api/contents/.hops", nil), 404, "reserved")
			e.wantError(e.do("PUT", "/api/contents/.hops/x.txt", map[string]any{"type": "file", "format": "text", "content": "x"}), 400, "reserved")
			e.wantError(e.do("PUT", "/api/contents/.HOPS/x.txt", map[string]any{"type": "file", "format": "text", "content": "x"}), 400, "reserved")
			e.wantError(e.do("DELETE", "/api/contents/.hops", nil), 404, "reserved")
			e.wantError(e.do("PATCH", "/api/contents/visible.txt", map[string]any{"path": ".hops/v.txt"}), 400, "reserved")
			if allow {
				e.want(e.do("PUT", "/api/contents/.new", map[string]any{"type": "file", "format": "text", "content": "x"}), 201)
			} else {
				e.wantError(e.do("PUT", "/api/contents/.new", map[string]any{"type": "file", "format": "text", "content": "x"}), 400, "hidden")
				e.wantError(e.do("PATCH", "/api/contents/visible.txt", map[string]any{"path": ".visible.txt"}), 400, "hidden")
				e.wantError(e.do("DELETE", "/api/contents/.env", nil), 404, "hidden")
			}
			if e.read(".hops/checkpoints/visible.txt") != "old" || e.exists(".hops/x.txt") {
				t.Error(".hops was changed through the API")
			}
		})
	}
}

func TestListingLeavesOut(t *testing.T) {
	e := newEnv(t, Options{})
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	e.write("real.txt", "r")
	e.write("sub/inner.txt", "i")
	for link, target := range map[string]string{
		"in-link.txt": "real.txt",                          // inside: listed, as the file it points to
		"in-dir":      "sub",                               // inside: listed as a directory
		"out-file":    filepath.Join(outside, "secret"),    // outside: left out
		"out-dir":     outside,                             // outside: left out
		"dangling":    "nowhere",                           // dangling: left out
		"up":          "../" + filepath.Base(e.dir) + "/.", // absolute-free but via the parent: left out
	} {
		if err := os.Symlink(target, filepath.Join(e.dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	e.write(".hops-tmp-abc", "partial") // an atomic write in flight
	v := e.want(e.do("GET", "/api/contents", nil), http.StatusOK)
	got := map[string]string{}
	for _, c := range v["content"].([]any) {
		c := c.(map[string]any)
		got[c["name"].(string)] = c["type"].(string)
	}
	want := map[string]string{"in-dir": "directory", "in-link.txt": "file", "real.txt": "file", "sub": "directory"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listing %v, want %v", got, want)
	}
}

// Listing must not read or hash files: 10,000 entries list in well under 100 ms (see
// BenchmarkList10k); the bound here is loose for slow, shared, race-instrumented test machines.
func TestListingLargeDirectory(t *testing.T) {
	e := newEnv(t, Options{})
	fill10k(t, e.dir)
	start := time.Now()
	v := e.want(e.do("GET", "/api/contents/big?content=1", nil), http.StatusOK)
	took := time.Since(start)
	if n := len(v["content"].([]any)); n != 10000 {
		t.Fatalf("%d children", n)
	}
	t.Logf("listed 10,000 files in %v", took)
	if took > 2*time.Second {
		t.Errorf("listing 10,000 files took %v", took)
	}
}

func fill10k(tb testing.TB, dir string) {
	big := filepath.Join(dir, "big")
	os.Mkdir(big, 0o755)
	data := bytes.Repeat([]byte("x"), 4096)
	for i := range 10000 {
		if err := os.WriteFile(filepath.Join(big, fmt.Sprintf("f%05d.txt", i)), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func BenchmarkList10k(b *testing.B) {
	dir := b.TempDir()
	fill10k(b, dir)
	m, err := New(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	mux := http.NewServeMux()
	m.Register(mux)
	for b.Loop() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/contents/big?content=1&hash=0", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Body)
		}
	}
}
