package lab

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// venvShare returns the venv's share/jupyter, where make venv installs jupyterlab-js and the lab
// extensions. Without it the tests that need the real assets fail in CI and are skipped elsewhere.
func venvShare(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".venv", "share", "jupyter"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lab", "static", "index.html")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("JupyterLab assets missing at %s: run make venv", dir)
		}
		t.Skipf("JupyterLab assets missing at %s: run make venv", dir)
	}
	return dir
}

// realLab serves the JupyterLab of the venv with a fresh state directory.
func realLab(t *testing.T) (*Lab, http.Handler) {
	t.Helper()
	share := venvShare(t)
	return newTestLab(t, Config{
		AppDir:           filepath.Join(share, "lab"),
		LabextensionDirs: []string{filepath.Join(share, "labextensions")},
		StateDir:         t.TempDir(),
		Token:            "secret-token",
		ServerRoot:       "/home/me/work",
		Version:          "0.1.0-test",
	})
}

func newTestLab(t *testing.T, cfg Config) (*Lab, http.Handler) {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	l.Register(mux)
	return l, mux
}

// writeTree creates files (slash-separated relative paths) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtureIndex is shaped like jupyterlab-js's static/index.html: a Jinja template.
const fixtureIndex = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>JupyterLab</title>` +
	`<script id="jupyter-config-data" type="application/json">{{ page_config_full | tojson }}</script>` +
	`<script defer="defer" src="{{page_config.fullStaticUrl}}/vendor.0123456789abcdef.js?v=0123456789abcdef"></script>` +
	`<script defer="defer" src="{{page_config.fullStaticUrl}}/main.fedcba9876543210.js?v=fedcba9876543210"></script>` +
	`</head><body class="jp-ThemedContainer"><script>/* strip the token */</script></body></html>`

// fixtureLab serves a small hand-made app dir and two labextension dirs: enough to pin down
// behaviour that must not depend on the installed JupyterLab.
func fixtureLab(t *testing.T) (*Lab, http.Handler, string) {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"app/static/index.html":                                        fixtureIndex,
		"app/static/package.json":                                      `{"name": "@jupyterlab/application-top", "version": "4.6.5"}`,
		"app/static/main.fedcba9876543210.js":                          "console.log('main');",
		"app/static/vendor.0123456789abcdef.js":                        "console.log('vendor');",
		"app/static/third-party-licenses.json":                         `{"packages": [{"name": "lumino", "versionInfo": "2.0.0", "licenseId": "BSD-3-Clause", "extractedText": "Copyright lumino"}]}`,
		"app/schemas/@jupyterlab/apputils-extension/themes.json":       `{"title": "Themes", "type": "object", "properties": {"theme": {"type": "string", "default": "JupyterLab Light"}, "overrides": {"type": "object", "default": {"code-font-size": null, "ui-font-size": null}}}}`,
		"app/schemas/@jupyterlab/apputils-extension/package.json.orig": `{"name": "@jupyterlab/apputils-extension", "version": "4.6.5"}`,
		"app/schemas/plain-extension/plugin.json":                      `{"type": "object", "properties": {}}`,
		"app/schemas/plain-extension/broken.json":                      `{"type": `,
		"app/settings/overrides.json":                                  `{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark", "overrides": {"ui-font-size": "14px"}, "added": 1}}`,
		"app/themes/@jupyterlab/theme-light-extension/index.css":       "body { color: black; }",
		"secret.txt": "do not serve",
		// An extension in the first (higher precedence) labextensions dir...
		"ext1/@hops/lab/package.json":                           `{"name": "@hops/lab", "version": "1.0.0", "jupyterlab": {"_build": {"load": "static/remoteEntry.aaaaaaaaaaaaaaaa.js", "extension": "./extension", "style": "./style"}}}`,
		"ext1/@hops/lab/static/remoteEntry.aaaaaaaaaaaaaaaa.js": "// hops remote entry",
		"ext1/@hops/lab/schemas/@hops/lab/plugin.json":          `{"type": "object", "properties": {"x": {"type": "number", "default": 1}}}`,
		"ext1/@hops/lab/schemas/@hops/lab/package.json.orig":    `{"name": "@hops/lab", "version": "1.0.0"}`,
		"ext1/@hops/lab/themes/@hops/lab/index.css":             ".hops {}",
		// ...hides the one of the same name in the second, which also has a plain-named extension,
		// a source package that is not prebuilt and a directory that is no package at all.
		"ext2/@hops/lab/package.json":                           `{"name": "@hops/lab", "version": "0.9.0", "jupyterlab": {"_build": {"load": "static/remoteEntry.bbbbbbbbbbbbbbbb.js"}}}`,
		"ext2/plain_ext/package.json":                           `{"name": "plain_ext", "version": "0.3.0", "jupyterlab": {"_build": {"load": "static/remoteEntry.cccccccccccccccc.js", "mimeExtension": "./mime"}}}`,
		"ext2/plain_ext/static/remoteEntry.cccccccccccccccc.js": "// plain remote entry",
		"ext2/plain_ext/static/third-party-licenses.json":       `{"packages": [{"name": "left-pad", "versionInfo": "1.3.0", "licenseId": "WTFPL", "extractedText": ""}]}`,
		"ext2/source_only/package.json":                         `{"name": "source_only", "jupyterlab": {"extension": true}}`,
		"ext2/not_a_package/readme.txt":                         "hello",
	})
	if err := os.Symlink(filepath.Join(root, "secret.txt"), filepath.Join(root, "app", "static", "link.js")); err != nil {
		t.Fatal(err)
	}
	l, h := newTestLab(t, Config{
		AppDir:           filepath.Join(root, "app"),
		LabextensionDirs: []string{filepath.Join(root, "ext1"), filepath.Join(root, "missing"), filepath.Join(root, "ext2")},
		StateDir:         filepath.Join(root, "state"),
		Token:            "tok",
		ServerRoot:       "/srv/work",
		Version:          "0.1.0-test",
		PageConfig:       map[string]any{"buildAvailable": true, "hopsExtra": "x"},
	})
	return l, h, root
}

// do sends a request to h; headers are "Name: value" strings.
func do(t *testing.T, h http.Handler, method, target, body string, headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for _, hv := range headers {
		name, value, _ := strings.Cut(hv, ": ")
		req.Header.Set(name, value)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodeJSON reads resp's body as JSON into a value of type T.
func decodeJSON[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	body := readBody(t, resp)
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	return v
}

var configScript = regexp.MustCompile(`<script id="jupyter-config-data" type="application/json">(.*?)</script>`)

// pageConfig returns the page config embedded in a lab page.
func pageConfig(t *testing.T, page string) map[string]any {
	t.Helper()
	m := configScript.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no jupyter-config-data script:\n%s", page)
	}
	var c map[string]any
	if err := json.Unmarshal([]byte(m[1]), &c); err != nil {
		t.Fatalf("page config is not JSON: %v\n%s", err, m[1])
	}
	return c
}

func TestNewFailsClearlyWithoutAssets(t *testing.T) {
	_, err := New(Config{AppDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make venv") {
		t.Fatalf("New without assets = %v, want an error that says to run make venv", err)
	}
}

func TestNewRefusesScriptsOutsideTheBundle(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"static/index.html":   `<html><head><script src="https://cdn.example.com/x.js"></script></head></html>`,
		"static/package.json": `{"version": "4.6.5"}`,
	})
	if _, err := New(Config{AppDir: root}); err == nil || !strings.Contains(err.Error(), "cdn.example.com") {
		t.Fatalf("New = %v, want an error naming the foreign script", err)
	}
}

func TestPageRoutes(t *testing.T) {
	_, h := realLab(t)
	tests := []struct {
		target                         string
		status                         int
		mode, workspace, treePath, url string
	}{
		{"/lab", 200, "multiple-document", "default", "", ""},
		{"/lab?reset", 200, "multiple-document", "default", "", ""},
		{"/lab/tree/dir/a%20b.ipynb", 200, "multiple-document", "default", "dir/a b.ipynb", ""},
		{"/lab/workspaces/ws1", 200, "multiple-document", "ws1", "", ""},
		{"/lab/workspaces/ws1/tree/x.ipynb", 200, "multiple-document", "ws1", "x.ipynb", ""},
		{"/doc", 200, "single-document", "default", "", ""},
		{"/doc/tree/notebooks/x.ipynb", 200, "single-document", "default", "notebooks/x.ipynb", ""},
		{"/doc/workspaces/w/tree/x.ipynb", 200, "single-document", "w", "x.ipynb", ""},
		{"/lab/no/such/page", 404, "multiple-document", "default", "", "/lab/no/such/page"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp := do(t, h, "GET", tt.target, "")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q: the page carries the token and must not be cached", cc)
			}
			c := pageConfig(t, readBody(t, resp))
			if c["mode"] != tt.mode || c["workspace"] != tt.workspace || c["treePath"] != tt.treePath {
				t.Errorf("mode, workspace, treePath = %q, %q, %q; want %q, %q, %q",
					c["mode"], c["workspace"], c["treePath"], tt.mode, tt.workspace, tt.treePath)
			}
			if got, _ := c["notFoundUrl"].(string); got != tt.url {
				t.Errorf("notFoundUrl = %q, want %q", got, tt.url)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	_, h := realLab(t)
	for target, want := range map[string]string{
		"/":               "/lab",
		"/?token=abc":     "/lab?token=abc",
		"/lab/":           "/lab",
		"/doc/?token=abc": "/doc?token=abc",
	} {
		resp := do(t, h, "GET", target, "")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 302 to %q", target, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

func TestPageConfigHasWhatJupyterLabNeeds(t *testing.T) {
	l, h := realLab(t)
	c := pageConfig(t, readBody(t, do(t, h, "GET", "/lab", "")))

	// Keys without which the page does not start (bootstrap.js, PageConfig, JupyterFrontEnd.IPaths).
	for _, key := range []string{
		"fullStaticUrl", "federated_extensions", "fullLabextensionsUrl", "baseUrl", "wsUrl", "appUrl",
		"settingsUrl", "themesUrl", "translationsApiUrl", "token", "treeUrl", "mode", "workspace", "treePath",
	} {
		if _, ok := c[key]; !ok {
			t.Errorf("page config lacks %q", key)
		}
	}
	want := map[string]any{
		"appName": "JupyterLab", "appNamespace": "lab", "baseUrl": "/", "wsUrl": "", "appUrl": "/lab",
		"fullStaticUrl": "/static/lab", "fullLabextensionsUrl": "/lab/extensions", "settingsUrl": "/lab/api/settings",
		"themesUrl": "/lab/api/themes", "translationsApiUrl": "/lab/api/translations",
		"workspacesApiUrl": "/lab/api/workspaces", "treeUrl": "/lab/tree", "token": "secret-token",
		"serverRoot": "/home/me/work", "hopsVersion": "0.1.0-test", "notebookVersion": "[2, 21, 0]",
		"terminalsAvailable": false, "buildAvailable": false, "buildCheck": false, "quitButton": true,
		"notebookStartsKernel": true, "preferredPath": "/",
	}
	for key, v := range want {
		if c[key] != v {
			t.Errorf("page config %s = %#v, want %#v", key, c[key], v)
		}
	}
	var app struct{ Version string }
	if err := readJSON(filepath.Join(l.staticDir, "package.json"), &app); err != nil {
		t.Fatal(err)
	}
	if c["appVersion"] != app.Version {
		t.Errorf("appVersion = %v, want JupyterLab's %s", c["appVersion"], app.Version)
	}
	for _, absent := range []string{"collaborative", "untracked_message_types"} {
		if _, ok := c[absent]; ok {
			t.Errorf("page config has %q, which would make the frontend use endpoints hops lacks", absent)
		}
	}
	if news, _ := c["news"].(map[string]any); news["disabled"] != true {
		t.Errorf("news = %v, want disabled", c["news"])
	}

	// ipywidgets must render: the widget manager is a federated extension the page loads.
	exts, ok := c["federated_extensions"].([]any)
	if !ok {
		t.Fatalf("federated_extensions is %T, must be an array", c["federated_extensions"])
	}
	var widgets map[string]any
	for _, e := range exts {
		if m := e.(map[string]any); m["name"] == "@jupyter-widgets/jupyterlab-manager" {
			widgets = m
		}
	}
	if widgets == nil || !strings.HasPrefix(widgets["load"].(string), "static/remoteEntry.") || widgets["extension"] == nil {
		t.Errorf("federated_extensions lacks the widget manager with its remote entry: %v", exts)
	}
}

func TestPageConfigMergesExtraKeysAndListsExtensions(t *testing.T) {
	_, h, _ := fixtureLab(t)
	c := pageConfig(t, readBody(t, do(t, h, "GET", "/lab", "")))
	if c["buildAvailable"] != true || c["hopsExtra"] != "x" {
		t.Errorf("Config.PageConfig not merged last: buildAvailable=%v hopsExtra=%v", c["buildAvailable"], c["hopsExtra"])
	}
	got, _ := json.Marshal(c["federated_extensions"])
	want := `[{"extension":"./extension","load":"static/remoteEntry.aaaaaaaaaaaaaaaa.js","name":"@hops/lab","style":"./style"},` +
		`{"load":"static/remoteEntry.cccccccccccccccc.js","mimeExtension":"./mime","name":"plain_ext"}]`
	if string(got) != want {
		t.Errorf("federated_extensions =\n%s\nwant (first labextensions dir wins, source packages skipped)\n%s", got, want)
	}
}

func TestPageEscapesConfigAndStripsToken(t *testing.T) {
	share := venvShare(t)
	hostile := `</script><script>alert(1)</script><!--`
	_, h := newTestLab(t, Config{AppDir: filepath.Join(share, "lab"), StateDir: t.TempDir(), Token: hostile})
	page := readBody(t, do(t, h, "GET", "/lab", ""))
	if strings.Contains(page, "alert(1)</script>") {
		t.Fatalf("a page config value closed the config script:\n%s", page)
	}
	if c := pageConfig(t, page); c["token"] != hostile {
		t.Errorf("token = %q, want it back intact after JSON decoding", c["token"])
	}
	if !strings.Contains(page, "history.replaceState") || !strings.Contains(page, "'token'") {
		t.Error("page lacks the script that removes ?token= from the address bar")
	}
	if !strings.Contains(page, `href="/static/favicons/favicon.ico"`) {
		t.Error("page lacks the favicon link")
	}
}

var scriptSrc = regexp.MustCompile(`<script[^>]*\ssrc="([^"]+)"`)

func TestEveryPageScriptIsServed(t *testing.T) {
	_, h := realLab(t)
	page := readBody(t, do(t, h, "GET", "/lab", ""))
	srcs := scriptSrc.FindAllStringSubmatch(page, -1)
	if len(srcs) == 0 {
		t.Fatal("page has no <script src>")
	}
	for _, m := range srcs {
		src := m[1]
		if !strings.HasPrefix(src, "/static/lab/") {
			t.Errorf("script %s is not under /static/lab/", src)
			continue
		}
		resp := do(t, h, "GET", src, "")
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
			t.Errorf("GET %s: %d %s", src, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

func TestFavicons(t *testing.T) {
	_, h, _ := fixtureLab(t)
	for target, status := range map[string]int{
		"/static/favicons/favicon.ico":        200,
		"/static/favicons/favicon-busy-1.ico": 200,
		"/static/favicons/other.png":          404,
	} {
		resp := do(t, h, "GET", target, "")
		body := readBody(t, resp)
		if resp.StatusCode != status {
			t.Errorf("GET %s: %d, want %d", target, resp.StatusCode, status)
		}
		if status == 200 && (resp.Header.Get("Content-Type") != "image/x-icon" || !strings.HasPrefix(body, "\x00\x00\x01\x00")) {
			t.Errorf("GET %s: %s, %q...: not an ICO file", target, resp.Header.Get("Content-Type"), body[:min(8, len(body))])
		}
	}
	idle := readBody(t, do(t, h, "GET", "/static/favicons/favicon.ico", ""))
	busy := readBody(t, do(t, h, "GET", "/static/favicons/favicon-busy-1.ico", ""))
	if idle == busy {
		t.Error("the busy favicon looks like the idle one")
	}
}
