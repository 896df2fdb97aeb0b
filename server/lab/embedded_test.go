package lab

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// fsLab serves the fixture app with the labextensions dir ext1 and, after it, a file system of
// extensions as the hops binary embeds its own.
func fsLab(t *testing.T) http.Handler {
	t.Helper()
	_, _, root := fixtureLab(t)
	big := "// hops embedded remote entry\n" + strings.Repeat("console.log('padding so that gzip pays');\n", 100)
	embedded := fstest.MapFS{
		"@hopsml/hops/package.json":                           {Data: []byte(`{"name": "@hopsml/hops", "version": "0.1.0", "jupyterlab": {"_build": {"load": "static/remoteEntry.dddddddddddddddd.js", "extension": "./extension", "style": "./style"}}}`)},
		"@hopsml/hops/static/remoteEntry.dddddddddddddddd.js": {Data: []byte(big)},
		"@hopsml/hops/static/style.js":                        {Data: []byte("// style")},
		"@hopsml/hops/static/third-party-licenses.json":       {Data: []byte(`{"packages": [{"name": "tslib", "versionInfo": "2.8.1", "licenseId": "0BSD", "extractedText": ""}]}`)},
		"@hopsml/hops/schemas/@hopsml/hops/versions.json":     {Data: []byte(`{"type": "object", "properties": {}}`)},
		"@hopsml/hops/schemas/@hopsml/hops/package.json.orig": {Data: []byte(`{"name": "@hopsml/hops", "version": "0.1.0"}`)},
		"@hopsml/hops/themes/@hopsml/hops/index.css":          {Data: []byte(".hops-embedded {}")},
		"@hops/lab/package.json":                              {Data: []byte(`{"name": "@hops/lab", "version": "0.0.1", "jupyterlab": {"_build": {"load": "static/remoteEntry.eeeeeeeeeeeeeeee.js"}}}`)},
		"@hops/lab/static/remoteEntry.eeeeeeeeeeeeeeee.js":    {Data: []byte("// hidden by the directory")},
		"broken/package.json":                                 {Data: []byte(`{"name": "broken", "jupyterlab": {"_build": {}}}`)},
		"README.md":                                           {Data: []byte("built by make frontend")},
		"not_a_package/readme.txt":                            {Data: []byte("hello")},
	}
	_, h := newTestLab(t, Config{
		AppDir:           filepath.Join(root, "app"),
		LabextensionDirs: []string{filepath.Join(root, "ext1")},
		LabextensionFS:   []fs.FS{embedded},
		StateDir:         t.TempDir(),
		Token:            "tok",
	})
	return h
}

func TestExtensionsFromFS(t *testing.T) {
	h := fsLab(t)

	t.Run("listed in the page config after the directories", func(t *testing.T) {
		c := pageConfig(t, readBody(t, do(t, h, "GET", "/lab", "")))
		got, _ := json.Marshal(c["federated_extensions"])
		want := `[{"extension":"./extension","load":"static/remoteEntry.aaaaaaaaaaaaaaaa.js","name":"@hops/lab","style":"./style"},` +
			`{"extension":"./extension","load":"static/remoteEntry.dddddddddddddddd.js","name":"@hopsml/hops","style":"./style"}]`
		if string(got) != want {
			t.Errorf("federated_extensions =\n%s\nwant (the directory's @hops/lab wins, broken ones skipped)\n%s", got, want)
		}
	})

	t.Run("files served with cache headers and gzip", func(t *testing.T) {
		entry := "/lab/extensions/@hopsml/hops/static/remoteEntry.dddddddddddddddd.js"
		resp := do(t, h, "GET", entry, "")
		body := readBody(t, resp)
		if resp.StatusCode != 200 || !strings.HasPrefix(body, "// hops embedded remote entry") ||
			!strings.Contains(resp.Header.Get("Content-Type"), "javascript") ||
			!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: %d %v", entry, resp.StatusCode, resp.Header)
		}
		gz := do(t, h, "GET", entry, "", "Accept-Encoding: gzip")
		if gz.StatusCode != 200 || gz.Header.Get("Content-Encoding") != "gzip" || !strings.HasSuffix(gz.Header.Get("ETag"), `-gzip"`) {
			t.Errorf("gzip: %d %v", gz.StatusCode, gz.Header)
		}

		style := "/lab/extensions/@hopsml/hops/static/style.js"
		first := do(t, h, "GET", style, "")
		etag := first.Header.Get("ETag")
		if first.StatusCode != 200 || readBody(t, first) != "// style" || first.Header.Get("Cache-Control") != "no-cache" ||
			len(etag) < 10 || etag == `"0-8"` {
			t.Errorf("GET %s: %d %v (an embedded file has no modification time: its ETag hashes the content)", style, first.StatusCode, first.Header)
		}
		if again := do(t, h, "GET", style, "", "If-None-Match: "+etag); again.StatusCode != http.StatusNotModified {
			t.Errorf("revalidation with the ETag: %d, want 304", again.StatusCode)
		}
	})

	t.Run("missing, hidden and escaping names", func(t *testing.T) {
		for target, want := range map[string]int{
			"/lab/extensions/@hopsml/hops/static/nope.js":                          404,
			"/lab/extensions/@hops/lab/static/remoteEntry.eeeeeeeeeeeeeeee.js":     404, // the directory's @hops/lab wins
			"/lab/extensions/broken/package.json":                                  404,
			"/lab/extensions/@hopsml/hops/static":                                  404, // a directory
			"/lab/extensions/@hopsml/hops/..%2f..%2fREADME.md":                     400,
			"/lab/extensions/@hopsml/hops/static/..%2f..%2f@hops/lab/package.json": 400,
		} {
			if resp := do(t, h, "GET", target, ""); resp.StatusCode != want {
				t.Errorf("GET %s: %d, want %d", target, resp.StatusCode, want)
			}
		}
	})

	t.Run("schemas, themes and licenses of the extension", func(t *testing.T) {
		got := decodeJSON[setting](t, do(t, h, "GET", "/lab/api/settings/@hopsml/hops:versions", ""))
		if got.ID != "@hopsml/hops:versions" || got.Version != "0.1.0" {
			t.Errorf("settings of the embedded extension: %+v", got)
		}
		if resp := do(t, h, "GET", "/lab/api/themes/@hopsml/hops/index.css", ""); resp.StatusCode != 200 || readBody(t, resp) != ".hops-embedded {}" {
			t.Errorf("theme of the embedded extension: %d", resp.StatusCode)
		}
		body := readBody(t, do(t, h, "GET", "/lab/api/licenses/?bundles=@hopsml", ""))
		if body != `{"bundles":{"@hopsml/hops":{"packages":[{"name":"tslib","versionInfo":"2.8.1","licenseId":"0BSD","extractedText":""}]}}}` {
			t.Errorf("licenses of the embedded extension: %s", body)
		}
	})
}
