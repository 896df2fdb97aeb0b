package contents

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestSave(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("old.txt", "old")
	e.write("dir/x", "")

	t.Run("a new file is 201, replacing it is 200; the model has no content", func(t *testing.T) {
		e := e.with(t)
		v := e.want(e.do("PUT", "/api/contents/new.txt", map[string]any{"type": "file", "format": "text", "content": "one"}), 201)
		if v["content"] != nil || v["format"] != nil || v["path"] != "new.txt" || v["type"] != "file" || v["size"] != 3.0 {
			t.Errorf("model %v", v)
		}
		e.want(e.do("PUT", "/api/contents/new.txt", map[string]any{"type": "file", "format": "text", "content": "two"}), 200)
		if got := e.read("new.txt"); got != "two" {
			t.Errorf("file %q", got)
		}
	})
	t.Run("the saved model's last_modified is what a later GET reports", func(t *testing.T) {
		e := e.with(t)
		saved := e.want(e.do("PUT", "/api/contents/old.txt", map[string]any{"type": "file", "format": "text", "content": "new"}), 200)
		got := e.want(e.do("GET", "/api/contents/old.txt?content=0", nil), 200)
		if saved["last_modified"] != got["last_modified"] {
			t.Errorf("saved %v, got %v", saved["last_modified"], got["last_modified"])
		}
	})
	t.Run("base64 content is written as bytes", func(t *testing.T) {
		e := e.with(t)
		b := []byte{0, 1, 2, 255}
		e.want(e.do("PUT", "/api/contents/b.bin", map[string]any{"type": "file", "format": "base64", "content": base64.StdEncoding.EncodeToString(b)}), 201)
		if got := e.read("b.bin"); got != string(b) {
			t.Errorf("file %q", got)
		}
	})
	t.Run("a notebook is written as nbformat writes it", func(t *testing.T) {
		e := e.with(t)
		// JupyterLab sends the cells' "trusted" flag and keys in its own order; HTML-ish and
		// non-ASCII text must not be escaped; numbers keep their literal form.
		body := `{"type":"notebook","format":"json","content":{"nbformat_minor":5,"nbformat":4,` +
			`"metadata":{"kernelspec":{"name":"python3","display_name":"Python 3"}},` +
			`"cells":[{"source":"x = 1 < 2 && 'é'","outputs":[],"metadata":{"trusted":true,"tags":[]},` +
			`"id":"c1","execution_count":1.0,"cell_type":"code"}]}}`
		e.want(e.do("PUT", "/api/contents/n.ipynb", body), 201)
		want := `{
 "cells": [
  {
   "cell_type": "code",
   "execution_count": 1.0,
   "id": "c1",
   "metadata": {
    "tags": []
   },
   "outputs": [],
   "source": "x = 1 < 2 && 'é'"
  }
 ],
 "metadata": {
  "kernelspec": {
   "display_name": "Python 3",
   "name": "python3"
  }
 },
 "nbformat": 4,
 "nbformat_minor": 5
}
`
		if got := e.read("n.ipynb"); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
		v := e.want(e.do("GET", "/api/contents/n.ipynb?content=0", nil), 200)
		if v["type"] != "notebook" {
			t.Errorf("type %v", v["type"])
		}
	})
	t.Run("a new file or notebook without content is empty", func(t *testing.T) {
		e := e.with(t)
		e.want(e.do("PUT", "/api/contents/empty.txt", map[string]any{"type": "file"}), 201)
		e.want(e.do("PUT", "/api/contents/empty.ipynb", map[string]any{"type": "notebook"}), 201)
		if e.read("empty.txt") != "" || e.read("empty.ipynb") != "{\n \"cells\": [],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n" {
			t.Errorf("files %q %q", e.read("empty.txt"), e.read("empty.ipynb"))
		}
	})
	t.Run("a directory is created (201) or left as it is (200)", func(t *testing.T) {
		e := e.with(t)
		v := e.want(e.do("PUT", "/api/contents/newdir", map[string]any{"type": "directory"}), 201)
		if v["type"] != "directory" {
			t.Errorf("model %v", v)
		}
		e.want(e.do("PUT", "/api/contents/newdir", map[string]any{"type": "directory"}), 200)
	})
	t.Run("a saved file keeps its mode", func(t *testing.T) {
		e := e.with(t)
		e.write("run.sh", "#!/bin/sh\n")
		os.Chmod(filepath.Join(e.dir, "run.sh"), 0o751)
		e.want(e.do("PUT", "/api/contents/run.sh", map[string]any{"type": "file", "format": "text", "content": "#!/bin/sh\necho\n"}), 200)
		if fi, _ := os.Stat(filepath.Join(e.dir, "run.sh")); fi.Mode().Perm() != 0o751 {
			t.Errorf("mode %v", fi.Mode())
		}
	})
	t.Run("saving through a symlink rewrites its target and keeps the link", func(t *testing.T) {
		e := e.with(t)
		e.write("target.txt", "t")
		os.Symlink("target.txt", filepath.Join(e.dir, "link.txt"))
		e.want(e.do("PUT", "/api/contents/link.txt", map[string]any{"type": "file", "format": "text", "content": "via link"}), 200)
		if fi, _ := os.Lstat(filepath.Join(e.dir, "link.txt")); fi.Mode()&os.ModeSymlink == 0 {
			t.Error("the link was replaced")
		}
		if e.read("target.txt") != "via link" {
			t.Errorf("target %q", e.read("target.txt"))
		}
	})
	t.Run("no temporary files are left behind", func(t *testing.T) {
		e := e.with(t)
		entries, _ := os.ReadDir(e.dir)
		for _, en := range entries {
			if strings.HasPrefix(en.Name(), tmpPrefix) {
				t.Errorf("left %s", en.Name())
			}
		}
	})

	refusals := []struct {
		name, target string
		body         any
		status       int
		msg          string
	}{
		{"malformed JSON", "/api/contents/a.txt", `{"type": "file",`, 400, "not valid JSON"},
		{"a body that is not an object", "/api/contents/a.txt", `["file"]`, 400, "must be a JSON object"},
		{"no type", "/api/contents/a.txt", map[string]any{"format": "text", "content": "x"}, 400, `needs "type"`},
		{"an unknown type", "/api/contents/a.txt", map[string]any{"type": "blob", "content": "x"}, 400, `type "blob"`},
		{"a type that is not a string", "/api/contents/a.txt", map[string]any{"type": 1}, 400, `"type" must be a string, not a number`},
		{"a chunk that is not a number", "/api/contents/a.txt", map[string]any{"type": "file", "format": "text", "content": "x", "chunk": "1"}, 400, `"chunk" must be a int`},
		{"file content that is not a string", "/api/contents/a.txt", map[string]any{"type": "file", "format": "text", "content": 12}, 400, "must be a JSON string"},
		{"a file without a format", "/api/contents/a.txt", map[string]any{"type": "file", "content": "x"}, 400, "format must be text or base64"},
		{"bad base64", "/api/contents/a.txt", map[string]any{"type": "file", "format": "base64", "content": "!!!"}, 400, "not valid base64"},
		{"notebook content that is not an object", "/api/contents/a.ipynb", map[string]any{"type": "notebook", "content": "{}"}, 400, "must be an nbformat JSON object"},
		{"a notebook without cells", "/api/contents/a.ipynb", map[string]any{"type": "notebook", "content": map[string]any{"nbformat": 4}}, 400, `"cells" list`},
		{"a notebook whose nbformat is not a number", "/api/contents/a.ipynb", map[string]any{"type": "notebook", "content": map[string]any{"cells": []any{}, "nbformat": "4"}}, 400, `"nbformat" number`},
		{"no content for an existing file", "/api/contents/old.txt", map[string]any{"type": "file", "format": "text"}, 400, `no "content"`},
		{"a file over a directory", "/api/contents/dir", map[string]any{"type": "file", "format": "text", "content": "x"}, 400, "dir is a directory"},
		{"a directory over a file", "/api/contents/old.txt", map[string]any{"type": "directory"}, 400, "not a directory"},
		{"the root", "/api/contents/", map[string]any{"type": "directory"}, 400, "workspace root"},
		{"into a missing directory", "/api/contents/nodir/a.txt", map[string]any{"type": "file", "format": "text", "content": "x"}, 404, "nodir does not exist"},
		{"under a file", "/api/contents/old.txt/a.txt", map[string]any{"type": "file", "format": "text", "content": "x"}, 404, "does not exist"},
		{"an empty object", "/api/contents/a.txt", `{}`, 400, `needs "type"`},
	}
	for _, tt := range refusals {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			e := e.with(t)
			e.wantError(e.do("PUT", tt.target, tt.body), tt.status, tt.msg)
		})
	}
	if e.exists("a.txt") || e.exists("a.ipynb") || e.read("old.txt") != "new" {
		t.Error("a refused save changed the workspace")
	}
}

func TestChunkedUpload(t *testing.T) {
	e := newEnv(t, Options{})
	chunk := func(target string, n int, data string) map[string]any {
		return map[string]any{"type": "file", "format": "base64", "chunk": n, "content": base64.StdEncoding.EncodeToString([]byte(data)), "path": target}
	}
	listing := func() []string {
		v := e.want(e.do("GET", "/api/contents", nil), 200)
		var names []string
		for _, c := range v["content"].([]any) {
			names = append(names, c.(map[string]any)["name"].(string))
		}
		return names
	}

	t.Run("chunks 1, 2, ..., -1 publish the file at the last one", func(t *testing.T) {
		e := e.with(t)
		v := e.want(e.do("PUT", "/api/contents/big.bin", chunk("big.bin", 1, "aaa")), 201)
		if v["path"] != "big.bin" || v["size"] != 3.0 {
			t.Errorf("model of the upload so far: %v", v)
		}
		e.want(e.do("PUT", "/api/contents/big.bin", chunk("big.bin", 2, "bbb")), 201)
		if e.exists("big.bin") {
			t.Fatal("the file appeared before its last chunk")
		}
		if got := listing(); len(got) != 0 {
			t.Errorf("the partial upload is listed: %v", got)
		}
		v = e.want(e.do("PUT", "/api/contents/big.bin", chunk("big.bin", -1, "c")), 201)
		if v["size"] != 7.0 || e.read("big.bin") != "aaabbbc" {
			t.Errorf("model %v, file %q", v, e.read("big.bin"))
		}
	})
	t.Run("an upload over an existing file leaves it intact until the last chunk and keeps its mode", func(t *testing.T) {
		e := e.with(t)
		os.Chmod(filepath.Join(e.dir, "big.bin"), 0o600)
		e.want(e.do("PUT", "/api/contents/big.bin", chunk("big.bin", 1, "new")), 200)
		if e.read("big.bin") != "aaabbbc" {
			t.Fatal("the file changed before the last chunk")
		}
		e.want(e.do("PUT", "/api/contents/big.bin", chunk("big.bin", -1, "!")), 200)
		fi, _ := os.Stat(filepath.Join(e.dir, "big.bin"))
		if e.read("big.bin") != "new!" || fi.Mode().Perm() != 0o600 {
			t.Errorf("file %q mode %v", e.read("big.bin"), fi.Mode())
		}
	})
	t.Run("an aborted upload leaves no file under the name, and a new chunk 1 starts over", func(t *testing.T) {
		e := e.with(t)
		e.want(e.do("PUT", "/api/contents/aborted.bin", chunk("aborted.bin", 1, "xxxx")), 201)
		e.want(e.do("PUT", "/api/contents/aborted.bin", chunk("aborted.bin", 2, "yyyy")), 201)
		// The client goes away here.
		if e.exists("aborted.bin") || slices.Contains(listing(), "aborted.bin") {
			t.Fatal("an aborted upload is visible")
		}
		e.want(e.do("PUT", "/api/contents/aborted.bin", chunk("aborted.bin", 1, "1")), 201)
		e.want(e.do("PUT", "/api/contents/aborted.bin", chunk("aborted.bin", -1, "2")), 201)
		if e.read("aborted.bin") != "12" {
			t.Errorf("file %q", e.read("aborted.bin"))
		}
	})
	refusals := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"a later chunk without chunk 1", chunk("orphan.bin", 2, "x"), "without chunk 1"},
		{"a last chunk without chunk 1", chunk("orphan.bin", -1, "x"), "without chunk 1"},
		{"a chunk number below -1", chunk("orphan.bin", -2, "x"), "not -2"},
		{"a chunked notebook", map[string]any{"type": "notebook", "chunk": 1, "content": map[string]any{"cells": []any{}, "nbformat": 4}}, "only type file"},
		{"a chunk without content", map[string]any{"type": "file", "format": "base64", "chunk": 1}, `no "content"`},
	}
	for _, tt := range refusals {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			e := e.with(t)
			e.wantError(e.do("PUT", "/api/contents/orphan.bin", tt.body), 400, tt.msg)
		})
	}
	t.Run("a chunk after the last one is refused", func(t *testing.T) {
		e := e.with(t)
		e.wantError(e.do("PUT", "/api/contents/aborted.bin", chunk("aborted.bin", 2, "late")), 400, "restart the upload")
	})
}

func TestNewUntitled(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("sub/file.txt", "")
	tests := []struct {
		body any
		want []string // names of successive POSTs
	}{
		{nil, []string{"untitled", "untitled1"}},
		{map[string]any{}, []string{"untitled2"}},
		{map[string]any{"type": "notebook"}, []string{"Untitled.ipynb", "Untitled1.ipynb", "Untitled2.ipynb"}},
		{map[string]any{"ext": ".ipynb"}, []string{"Untitled3.ipynb"}},
		{map[string]any{"type": "file", "ext": ".py"}, []string{"untitled.py", "untitled1.py"}},
		{map[string]any{"type": "file", "ext": "txt"}, []string{"untitled.txt", "untitled1.txt"}},
		{map[string]any{"type": "file", "ext": ".tar.gz"}, []string{"untitled.tar.gz", "untitled1.tar.gz"}},
		{map[string]any{"type": "directory"}, []string{"Untitled Folder", "Untitled Folder 1", "Untitled Folder 2"}},
	}
	for _, tt := range tests {
		for _, name := range tt.want {
			rec := e.do("POST", "/api/contents/sub", tt.body)
			v := e.want(rec, http.StatusCreated)
			if v["name"] != name || v["path"] != "sub/"+name || v["content"] != nil {
				t.Errorf("POST %v: model %v, want name %q", tt.body, v, name)
			}
			if loc := rec.Header().Get("Location"); loc != e.m.location("sub/"+name) || !strings.HasPrefix(loc, "/api/contents/sub/") {
				t.Errorf("Location %q", loc)
			}
		}
	}
	if got := e.read("sub/Untitled.ipynb"); got != "{\n \"cells\": [],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n" {
		t.Errorf("new notebook %q", got)
	}
	v := e.want(e.do("GET", "/api/contents/sub/Untitled.ipynb", nil), 200)
	if v["type"] != "notebook" || v["format"] != "json" {
		t.Errorf("new notebook model %v", v)
	}
	t.Run("in the root, and by PUT without a body as jupyter_server does", func(t *testing.T) {
		e := e.with(t)
		if v := e.want(e.do("POST", "/api/contents", map[string]any{"type": "notebook"}), 201); v["path"] != "Untitled.ipynb" {
			t.Errorf("model %v", v)
		}
		if v := e.want(e.do("PUT", "/api/contents/sub", nil), 201); v["path"] != "sub/untitled3" {
			t.Errorf("model %v", v)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		e := e.with(t)
		e.wantError(e.do("POST", "/api/contents/nodir", map[string]any{"type": "file"}), 404, "nodir does not exist")
		e.wantError(e.do("POST", "/api/contents/sub/file.txt", map[string]any{"type": "file"}), 400, "cannot POST to file")
		e.wantError(e.do("POST", "/api/contents/sub", map[string]any{"type": "blob"}), 400, `type "blob"`)
		e.wantError(e.do("POST", "/api/contents/sub", map[string]any{"type": "file", "ext": "/../x"}), 400, "must be a file extension")
		e.wantError(e.do("POST", "/api/contents/sub", `{"type": `), 400, "not valid JSON")
		e.wantError(e.do("POST", "/api/contents/sub", map[string]any{"ext": 3}), 400, `"ext" must be a string`)
	})
}

func TestConcurrentUntitledGetDistinctNames(t *testing.T) {
	e := newEnv(t, Options{})
	const n = 8
	var wg sync.WaitGroup
	names := make([]string, n)
	for i := range n {
		wg.Go(func() {
			md, err := e.m.NewUntitled(context.Background(), "", TypeNotebook, "")
			if err != nil {
				t.Error(err)
				return
			}
			names[i] = md.Name
		})
	}
	wg.Wait()
	slices.Sort(names)
	if len(slices.Compact(names)) != n {
		t.Errorf("names %v", names)
	}
}

func TestCopy(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("a.ipynb", notebookFile)
	e.write("data.tar.gz", "gz")
	e.write("other/keep.txt", "k")
	e.write("proj/src/main.py", "print()")
	e.write("proj/.env", "hidden too")
	os.Symlink("src/main.py", filepath.Join(e.dir, "proj", "link.py"))
	os.Chmod(filepath.Join(e.dir, "proj", "src", "main.py"), 0o755)

	post := func(dir string, from string) string {
		v := e.want(e.do("POST", "/api/contents/"+dir, map[string]any{"copy_from": from}), 201)
		return v["path"].(string)
	}
	tests := []struct{ dir, from, want string }{
		{"", "a.ipynb", "a-Copy1.ipynb"},
		{"", "a.ipynb", "a-Copy2.ipynb"},
		{"", "a-Copy1.ipynb", "a-Copy3.ipynb"}, // the copy suffix is not repeated
		{"other", "a.ipynb", "other/a.ipynb"},  // a free name in another directory is kept
		{"other", "a.ipynb", "other/a-Copy1.ipynb"},
		{"", "data.tar.gz", "data-Copy1.tar.gz"},
		{"", "proj", "proj-Copy1"},
		{"other/new.ipynb", "a.ipynb", "other/new.ipynb"}, // a path that does not exist is the exact target
	}
	for _, tt := range tests {
		if got := post(tt.dir, tt.from); got != tt.want {
			t.Errorf("copy %s into %q: %s, want %s", tt.from, tt.dir, got, tt.want)
		}
	}
	if e.read("a-Copy3.ipynb") != notebookFile || e.read("other/new.ipynb") != notebookFile {
		t.Error("copies differ from the original")
	}
	t.Run("a directory is copied whole: hidden files, modes, symlinks as symlinks", func(t *testing.T) {
		e := e.with(t)
		if e.read("proj-Copy1/src/main.py") != "print()" || e.read("proj-Copy1/.env") != "hidden too" {
			t.Error("contents not copied")
		}
		if fi, _ := os.Stat(filepath.Join(e.dir, "proj-Copy1/src/main.py")); fi.Mode().Perm() != 0o755 {
			t.Errorf("mode %v", fi.Mode())
		}
		if l, err := os.Readlink(filepath.Join(e.dir, "proj-Copy1/link.py")); l != "src/main.py" {
			t.Errorf("link %q %v", l, err)
		}
	})
	t.Run("PUT with copy_from copies to exactly that path", func(t *testing.T) {
		e := e.with(t)
		rec := e.do("PUT", "/api/contents/other/exact.ipynb", map[string]any{"copy_from": "a.ipynb"})
		if v := e.want(rec, 201); v["path"] != "other/exact.ipynb" {
			t.Errorf("model %v", v)
		}
		e.wantError(e.do("PUT", "/api/contents/other/exact.ipynb", map[string]any{"copy_from": "a.ipynb"}), 409, "already exists")
		e.wantError(e.do("PUT", "/api/contents/other", map[string]any{"copy_from": "a.ipynb"}), 409, "already exists")
	})
	t.Run("refusals", func(t *testing.T) {
		e := e.with(t)
		e.wantError(e.do("POST", "/api/contents", map[string]any{"copy_from": "missing.ipynb"}), 404, "missing.ipynb does not exist")
		e.wantError(e.do("POST", "/api/contents/a.ipynb", map[string]any{"copy_from": "data.tar.gz"}), 400, "cannot POST to file")
		e.wantError(e.do("POST", "/api/contents/proj/src", map[string]any{"copy_from": "proj"}), 400, "into itself")
		e.wantError(e.do("POST", "/api/contents", map[string]any{"copy_from": "a.ipynb", "content": "x"}), 400, "not both")
		e.wantError(e.do("POST", "/api/contents/nodir/x.ipynb", map[string]any{"copy_from": "a.ipynb"}), 404, "nodir does not exist")
		e.wantError(e.do("POST", "/api/contents", map[string]any{"copy_from": 7}), 400, `"copy_from" must be a string`)
	})
	entries, _ := os.ReadDir(e.dir)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), tmpPrefix) {
			t.Errorf("left %s", en.Name())
		}
	}
}

func TestRename(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("a.txt", "a")
	e.write("b.txt", "b")
	e.write("dir/nb.ipynb", notebookFile)
	e.want(e.do("POST", "/api/contents/dir/nb.ipynb/checkpoints", nil), 201)

	t.Run("a file moves and the model is the new one", func(t *testing.T) {
		e := e.with(t)
		v := e.want(e.do("PATCH", "/api/contents/a.txt", map[string]any{"path": "dir/c.txt"}), 200)
		if v["path"] != "dir/c.txt" || v["name"] != "c.txt" || e.exists("a.txt") || e.read("dir/c.txt") != "a" {
			t.Errorf("model %v", v)
		}
	})
	t.Run("a directory moves with its checkpoints", func(t *testing.T) {
		e := e.with(t)
		e.want(e.do("PATCH", "/api/contents/dir", map[string]any{"path": "moved"}), 200)
		cps := e.do("GET", "/api/contents/moved/nb.ipynb/checkpoints", nil)
		if !strings.Contains(cps.Body.String(), `"id":"checkpoint"`) {
			t.Errorf("checkpoints after the move: %s", cps.Body)
		}
	})
	t.Run("renaming to itself changes nothing", func(t *testing.T) {
		e := e.with(t)
		e.want(e.do("PATCH", "/api/contents/b.txt", map[string]any{"path": "b.txt"}), 200)
	})
	refusals := []struct {
		name, from string
		body       any
		status     int
		msg        string
	}{
		{"onto an existing file", "b.txt", map[string]any{"path": "moved/c.txt"}, 409, "moved/c.txt already exists"},
		{"onto an existing directory", "b.txt", map[string]any{"path": "moved"}, 409, "already exists"},
		{"a missing source", "nope.txt", map[string]any{"path": "x.txt"}, 404, "nope.txt does not exist"},
		{"into a missing directory", "b.txt", map[string]any{"path": "nodir/b.txt"}, 404, "nodir does not exist"},
		{"into itself", "moved", map[string]any{"path": "moved/inner"}, 400, "into itself"},
		{"the root", "", map[string]any{"path": "x"}, 400, "workspace root"},
		{"to the root", "b.txt", map[string]any{"path": ""}, 400, "workspace root"},
		{"no body", "b.txt", nil, 400, `send {"path"`},
		{"no path", "b.txt", map[string]any{"name": "x"}, 400, `send {"path"`},
		{"a path that is not a string", "b.txt", map[string]any{"path": 1}, 400, `"path" must be a string`},
		{"malformed JSON", "b.txt", `{"path":`, 400, "not valid JSON"},
	}
	for _, tt := range refusals {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			e := e.with(t)
			e.wantError(e.do("PATCH", "/api/contents/"+tt.from, tt.body), tt.status, tt.msg)
		})
	}
	if e.read("b.txt") != "b" || e.read("moved/c.txt") != "a" {
		t.Error("a refused rename changed files")
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("a.txt", "a")
	e.write("full/sub/x.ipynb", notebookFile)
	e.want(e.do("POST", "/api/contents/full/sub/x.ipynb/checkpoints", nil), 201)

	e.want(e.do("DELETE", "/api/contents/a.txt", nil), 204)
	e.wantError(e.do("GET", "/api/contents/a.txt", nil), 404, "does not exist")
	e.want(e.do("DELETE", "/api/contents/full", nil), 204) // a non-empty directory, recursively
	if e.exists("full") || e.exists(".hops/checkpoints/full/sub/x.ipynb") {
		t.Error("directory or its checkpoints left")
	}
	e.wantError(e.do("DELETE", "/api/contents/a.txt", nil), 404, "a.txt does not exist")
	e.wantError(e.do("DELETE", "/api/contents/", nil), 400, "workspace root")
	e.wantError(e.do("DELETE", "/api/contents", nil), 400, "workspace root")
}

func TestCheckpoints(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("f.txt", "v1")
	e.write("dir/x", "")

	list := func() string {
		rec := e.do("GET", "/api/contents/f.txt/checkpoints", nil)
		if rec.Code != 200 {
			t.Fatalf("list checkpoints: %d %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	if got := list(); got != "[]" {
		t.Errorf("no checkpoint: %s", got)
	}
	rec := e.do("POST", "/api/contents/f.txt/checkpoints", nil)
	v := e.want(rec, 201)
	if v["id"] != "checkpoint" || !timestamp.MatchString(v["last_modified"].(string)) || len(v) != 2 {
		t.Errorf("checkpoint %v", v)
	}
	if loc := rec.Header().Get("Location"); loc != "/api/contents/f.txt/checkpoints/checkpoint" {
		t.Errorf("Location %q", loc)
	}
	if got := list(); !strings.HasPrefix(got, `[{"id":"checkpoint","last_modified":"`) {
		t.Errorf("one checkpoint: %s", got)
	}
	if !e.exists(".hops/checkpoints/f.txt") || e.exists(".ipynb_checkpoints") {
		t.Error("the checkpoint is not kept under .hops")
	}
	e.want(e.do("PUT", "/api/contents/f.txt", map[string]any{"type": "file", "format": "text", "content": "v2"}), 200)
	e.want(e.do("POST", "/api/contents/f.txt/checkpoints/checkpoint", nil), 204)
	if got := e.read("f.txt"); got != "v1" {
		t.Errorf("restored %q", got)
	}
	e.wantError(e.do("POST", "/api/contents/f.txt/checkpoints/other", nil), 404, `no checkpoint "other"`)
	e.want(e.do("DELETE", "/api/contents/f.txt/checkpoints/checkpoint", nil), 204)
	if got := list(); got != "[]" {
		t.Errorf("after delete: %s", got)
	}
	e.wantError(e.do("POST", "/api/contents/f.txt/checkpoints/checkpoint", nil), 404, "no checkpoint")
	e.wantError(e.do("DELETE", "/api/contents/f.txt/checkpoints/checkpoint", nil), 404, "no checkpoint")

	t.Run("saving a notebook creates its checkpoint once", func(t *testing.T) {
		e := e.with(t)
		e.want(e.do("PUT", "/api/contents/n.ipynb", map[string]any{"type": "notebook", "content": map[string]any{"cells": []any{}, "nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{}}}), 201)
		first := e.read(".hops/checkpoints/n.ipynb")
		e.want(e.do("PUT", "/api/contents/n.ipynb", map[string]any{"type": "notebook", "content": map[string]any{"cells": []any{}, "nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{"x": 1}}}), 200)
		if e.read(".hops/checkpoints/n.ipynb") != first {
			t.Error("a later save replaced the checkpoint")
		}
	})
	t.Run("a directory called checkpoints is browsed, not taken for checkpoints", func(t *testing.T) {
		e := e.with(t)
		e.write("checkpoints/checkpoint", "tf")
		e.write("run/checkpoints/epoch1.pt", "w")
		if v := e.want(e.do("GET", "/api/contents/checkpoints", nil), 200); v["type"] != "directory" {
			t.Errorf("model %v", v)
		}
		if v := e.want(e.do("GET", "/api/contents/run/checkpoints?content=1", nil), 200); v["type"] != "directory" {
			t.Errorf("model %v", v)
		}
		e.want(e.do("POST", "/api/contents/run/checkpoints", map[string]any{"type": "file"}), 201)
		e.want(e.do("DELETE", "/api/contents/checkpoints/checkpoint", nil), 204)
		if e.exists("checkpoints/checkpoint") {
			t.Error("the file was not deleted")
		}
	})
	t.Run("a directory has no checkpoints", func(t *testing.T) {
		e := e.with(t)
		e.wantError(e.do("GET", "/api/contents/dir/checkpoints", nil), 404, "does not exist")
		if _, err := e.m.CreateCheckpoint(context.Background(), "dir"); err == nil || !strings.Contains(err.Error(), "not a file") {
			t.Errorf("err %v", err)
		}
	})
}

func TestTrust(t *testing.T) {
	e := newEnv(t, Options{})
	e.write("n.ipynb", notebookFile)
	if rec := e.do("POST", "/api/contents/n.ipynb/trust", nil); rec.Code != 201 {
		t.Errorf("status %d", rec.Code)
	}
	if rec := e.do("POST", "/api/contents/missing.ipynb/trust", nil); rec.Code != 404 {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Options{})
	e.wantError(e.do("OPTIONS", "/api/contents/x", nil), 405, "OPTIONS is not supported")
	e.wantError(e.do("POST", "/files/x", nil), 405, "use GET, HEAD")
}

// The hooks see every change once it is on disk, with the path that changed there; a hook
// failure fails the request but keeps the change.
func TestHooks(t *testing.T) {
	var (
		mu     sync.Mutex
		events []string
		fail   error
	)
	var e *env
	record := func(ev string) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
		return fail
	}
	e = newEnv(t, Options{
		AfterSave: func(ctx context.Context, p string) error {
			if ctx.Err() != nil {
				t.Error("the hook's context is cancelled")
			}
			if !e.exists(p) {
				t.Errorf("AfterSave(%s) before the file exists", p)
			}
			return record("save " + p)
		},
		AfterRename: func(_ context.Context, from, to string) error { return record("rename " + from + " " + to) },
		AfterDelete: func(_ context.Context, p string) error { return record("delete " + p) },
	})
	e.write("real/f.txt", "x")
	os.Symlink("real", filepath.Join(e.dir, "alias"))

	e.want(e.do("PUT", "/api/contents/a.txt", map[string]any{"type": "file", "format": "text", "content": "a"}), 201)
	e.want(e.do("PUT", "/api/contents/alias/f.txt", map[string]any{"type": "file", "format": "text", "content": "y"}), 200)
	e.want(e.do("PUT", "/api/contents/up.bin", map[string]any{"type": "file", "format": "text", "chunk": 1, "content": "1"}), 201)
	e.want(e.do("PUT", "/api/contents/up.bin", map[string]any{"type": "file", "format": "text", "chunk": -1, "content": "2"}), 201)
	e.want(e.do("POST", "/api/contents", map[string]any{"type": "notebook"}), 201)
	e.want(e.do("POST", "/api/contents", map[string]any{"copy_from": "a.txt"}), 201)
	e.want(e.do("POST", "/api/contents/a.txt/checkpoints", nil), 201)
	e.want(e.do("POST", "/api/contents/a.txt/checkpoints/checkpoint", nil), 204)
	e.want(e.do("PATCH", "/api/contents/a.txt", map[string]any{"path": "b.txt"}), 200)
	e.want(e.do("DELETE", "/api/contents/b.txt", nil), 204)
	want := []string{
		"save a.txt",
		"save real/f.txt",
		"save up.bin",
		"save Untitled.ipynb",
		"save a-Copy1.txt",
		"save a.txt",
		"rename a.txt b.txt",
		"delete b.txt",
	}
	if !slices.Equal(events, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}

	fail = errors.New("git is down")
	rec := e.do("PUT", "/api/contents/kept.txt", map[string]any{"type": "file", "format": "text", "content": "k"})
	e.wantError(rec, 500, "save kept.txt: the change is on disk, but recording it failed: git is down")
	if e.read("kept.txt") != "k" {
		t.Error("the file was lost with the hook")
	}
}

// A directory copy that is interrupted leaves nothing under the copy's name, nor temporary
// files.
func TestCopyCancelled(t *testing.T) {
	e := newEnv(t, Options{})
	for _, f := range []string{"proj/a.txt", "proj/b/c.txt"} {
		e.write(f, "x")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.m.Copy(ctx, "proj", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	entries, _ := os.ReadDir(e.dir)
	if len(entries) != 1 || entries[0].Name() != "proj" {
		t.Errorf("left %v", entries)
	}
}
