package contents

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const secret = "TOPSECRET"

// Nothing outside the workspace, and nothing in .hops, can be read, written, moved, copied or
// deleted through the API, however the path is spelled: in the URL (raw, percent-encoded,
// double-encoded), in a body (copy_from, a rename target), or through symlinks.
func TestEscapes(t *testing.T) {
	e := newEnv(t, Options{})
	outside := filepath.Join(filepath.Dir(e.dir), "outside")
	os.Mkdir(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(secret), 0o644)
	e.write("victim.txt", "victim")
	e.write("sub/keep.txt", "k")
	e.write(".hops/checkpoints/victim.txt", "checkpoint")
	for link, target := range map[string]string{
		"outdir":  outside,                                 // absolute, to a directory outside
		"outfile": filepath.Join(outside, "secret.txt"),    // absolute, to a file outside
		"sub/up":  "../../outside",                         // relative, to a directory outside
		"relfile": "../outside/secret.txt",                 // relative, to a file outside
		"hopsdir": ".hops",                                 // inside, but into .hops
		"inroot":  filepath.Join(e.dir, "sub", "keep.txt"), // absolute: os.Root refuses it, even inside
	} {
		if err := os.Symlink(target, filepath.Join(e.dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	absOutside := url.PathEscape(filepath.ToSlash(outside))

	// Paths as they appear in a request URL, after /api/contents/ or /files/.
	urlForms := []string{
		"../outside/secret.txt",
		"sub/../../outside/secret.txt",
		"%2e%2e/outside/secret.txt",
		"%2E%2E/outside/secret.txt",
		"sub/%2e%2e/%2e%2e/outside/secret.txt",
		"%2e%2e%2foutside%2fsecret.txt",
		"..%2f..%2foutside%2fsecret.txt",
		"%252e%252e/outside/secret.txt",
		"..%5coutside%5csecret.txt",
		"sub%5c..%5c..%5coutside%5csecret.txt",
		"%2foutside/secret.txt",
		absOutside + "/secret.txt",
		"%2f%2f" + absOutside + "/secret.txt",
		"outfile",
		"outdir",
		"outdir/secret.txt",
		"sub/up",
		"sub/up/secret.txt",
		"relfile",
		"victim.txt%00",
		"victim.txt%00/../../outside/secret.txt",
		"%2e/victim.txt",
		"sub/%2e/keep.txt",
		"sub%2f%2fkeep.txt",
		"%c0%ae%c0%ae/outside/secret.txt",
		".hops/checkpoints/victim.txt",
		".HOPS/checkpoints/victim.txt",
		"%2ehops/checkpoints/victim.txt",
		"hopsdir/checkpoints/victim.txt",
		".hops-tmp-x",
		"inroot",
		strings.Repeat("a/", 2100) + "x",
		strings.Repeat("n", 300),
	}
	type op struct {
		name, method, prefix, suffix string
		body                         any
	}
	urlOps := []op{
		{"GET", "GET", "/api/contents/", "", nil},
		{"GET content=0 hash=1", "GET", "/api/contents/", "?content=0&hash=1", nil},
		{"GET /files/", "GET", "/files/", "", nil},
		{"GET /files/ download", "GET", "/files/", "?download=1", nil},
		{"PUT save", "PUT", "/api/contents/", "", map[string]any{"type": "file", "format": "text", "content": "pwned"}},
		{"PUT upload chunk", "PUT", "/api/contents/", "", map[string]any{"type": "file", "format": "text", "content": "pwned", "chunk": 1}},
		{"PUT directory", "PUT", "/api/contents/", "", map[string]any{"type": "directory"}},
		{"PUT copy_from", "PUT", "/api/contents/", "", map[string]any{"copy_from": "victim.txt"}},
		{"POST new untitled", "POST", "/api/contents/", "", map[string]any{"type": "file"}},
		{"POST copy into", "POST", "/api/contents/", "", map[string]any{"copy_from": "victim.txt"}},
		{"PATCH source", "PATCH", "/api/contents/", "", map[string]any{"path": "moved.txt"}},
		{"DELETE", "DELETE", "/api/contents/", "", nil},
		{"POST checkpoint", "POST", "/api/contents/", "/checkpoints", nil},
		{"GET checkpoints", "GET", "/api/contents/", "/checkpoints", nil},
		{"POST restore checkpoint", "POST", "/api/contents/", "/checkpoints/checkpoint", nil},
	}
	// Paths as they appear in a JSON body: never URL-decoded.
	bodyForms := []string{
		"../outside/secret.txt",
		"sub/../../outside/secret.txt",
		"/" + strings.TrimPrefix(filepath.ToSlash(outside), "/") + "/secret.txt",
		"/etc/passwd",
		"/victim.txt",
		"..\\outside\\secret.txt",
		"outfile",
		"outdir/secret.txt",
		"outdir/stolen.txt",
		"sub/up/secret.txt",
		"sub/up/stolen.txt",
		"relfile",
		"victim.txt\x00",
		"%2e%2e/outside/secret.txt",
		"./victim.txt",
		"sub//keep.txt",
		".hops/checkpoints/victim.txt",
		"hopsdir/checkpoints/victim.txt",
		"hopsdir/stolen.txt",
		"inroot",
		strings.Repeat("a/", 2100) + "x",
	}
	bodyOps := []struct {
		name, method, target string
		body                 func(p string) any
	}{
		{"POST copy_from", "POST", "/api/contents/", func(p string) any { return map[string]any{"copy_from": p} }},
		{"PUT copy_from", "PUT", "/api/contents/copy.txt", func(p string) any { return map[string]any{"copy_from": p} }},
		{"PATCH target", "PATCH", "/api/contents/victim.txt", func(p string) any { return map[string]any{"path": p} }},
	}

	check := func(t *testing.T, method, target string, body any) {
		t.Helper()
		e := e.with(t)
		rec := e.do(method, target, body)
		switch {
		case rec.Code == 400 || rec.Code == 404:
			e.wantError(rec, rec.Code, "")
		case rec.Code >= 300 && rec.Code < 400:
			// ServeMux redirects a URL with raw ".." or "//" to its clean form, which is then
			// served (or refused) as a path of its own: it must not be one under the API.
			if loc := rec.Header().Get("Location"); strings.Contains(loc, "outside") && (strings.HasPrefix(loc, "/api/contents/") || strings.HasPrefix(loc, "/files/")) {
				t.Errorf("redirected into the API: %s", loc)
			}
		default:
			t.Errorf("%s %s: %d %s", method, target, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), secret) {
			t.Errorf("%s %s served the secret", method, target)
		}
	}
	n := 0
	for _, form := range urlForms {
		for _, o := range urlOps {
			n++
			t.Run(o.name+" "+form[:min(len(form), 60)], func(t *testing.T) {
				check(t, o.method, o.prefix+form+o.suffix, o.body)
			})
		}
	}
	for _, form := range bodyForms {
		for _, o := range bodyOps {
			n++
			t.Run(o.name+" "+form[:min(len(form), 60)], func(t *testing.T) {
				check(t, o.method, o.target, o.body(form))
			})
		}
	}
	t.Logf("%d escape attempts refused", n)

	t.Run("a double-encoded path is a literal name inside the workspace", func(t *testing.T) {
		e := e.with(t)
		target := "/api/contents/%252e%252e%252foutside%252fsecret.txt"
		v := e.want(e.do("PUT", target, map[string]any{"type": "file", "format": "text", "content": "literal"}), 201)
		if v["path"] != "%2e%2e%2foutside%2fsecret.txt" || e.read("%2e%2e%2foutside%2fsecret.txt") != "literal" {
			t.Errorf("model %v", v)
		}
		e.want(e.do("DELETE", target, nil), 204)
	})

	entries, _ := os.ReadDir(outside)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != secret || !slices.Equal(names, []string{"secret.txt"}) {
		t.Errorf("outside changed: %v %q", names, b)
	}
	if e.read("victim.txt") != "victim" || e.read(".hops/checkpoints/victim.txt") != "checkpoint" || e.read("sub/keep.txt") != "k" {
		t.Error("the workspace changed")
	}
	for _, p := range []string{"moved.txt", "copy.txt", "outdir", "outfile", "relfile", "sub/up", "hopsdir"} {
		if (p == "moved.txt" || p == "copy.txt") == e.exists(p) {
			t.Errorf("%s: exists %v", p, e.exists(p))
		}
	}
}
