package lab

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStaticCacheHeaders(t *testing.T) {
	_, h, _ := fixtureLab(t)
	tests := []struct{ target, cacheControl string }{
		{"/static/lab/main.fedcba9876543210.js?v=fedcba9876543210", "public, max-age=31536000, immutable"},
		{"/static/lab/package.json", "no-cache"},
		{"/static/lab/index.html", "no-cache"},
		{"/lab/extensions/@hops/lab/static/remoteEntry.aaaaaaaaaaaaaaaa.js", "public, max-age=31536000, immutable"},
		{"/lab/api/themes/@jupyterlab/theme-light-extension/index.css", "no-cache"},
	}
	for _, tt := range tests {
		resp := do(t, h, "GET", tt.target, "")
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != tt.cacheControl {
			t.Errorf("GET %s: %d, Cache-Control %q; want 200, %q", tt.target, resp.StatusCode, resp.Header.Get("Cache-Control"), tt.cacheControl)
		}
		etag := resp.Header.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", tt.target)
			continue
		}
		if again := do(t, h, "GET", tt.target, "", "If-None-Match: "+etag); again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match its ETag: %d, want 304", tt.target, again.StatusCode)
		}
	}
}

func TestStaticGzip(t *testing.T) {
	l, h := realLab(t)
	page := readBody(t, do(t, h, "GET", "/lab", ""))
	main := scriptSrc.FindStringSubmatch(page)[1]
	file := strings.TrimPrefix(strings.SplitN(main, "?", 2)[0], "/static/lab/")
	want, err := os.ReadFile(filepath.Join(l.staticDir, file))
	if err != nil {
		t.Fatal(err)
	}

	plain := do(t, h, "GET", main, "")
	if plain.Header.Get("Content-Encoding") != "" || readBody(t, plain) != string(want) {
		t.Error("without Accept-Encoding the file must come as is")
	}
	if plain.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary = %q, want Accept-Encoding", plain.Header.Get("Vary"))
	}

	for range 2 { // compressed on the first request, from memory on the second
		zipped := do(t, h, "GET", main, "", "Accept-Encoding: gzip, deflate, br")
		if zipped.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding = %q, want gzip", zipped.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("gzip body does not decompress to the file (err %v)", err)
		}
		if zipped.Header.Get("ETag") == plain.Header.Get("ETag") {
			t.Error("the gzip and identity encodings share an ETag")
		}
	}

	for _, ae := range []string{"gzip;q=0", "identity", "br"} {
		if resp := do(t, h, "GET", main, "", "Accept-Encoding: "+ae); resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("Accept-Encoding %q got %q encoding", ae, resp.Header.Get("Content-Encoding"))
		}
	}
	ranged := do(t, h, "GET", main, "", "Accept-Encoding: gzip", "Range: bytes=0-9")
	if ranged.StatusCode != http.StatusPartialContent || ranged.Header.Get("Content-Encoding") != "" || readBody(t, ranged) != string(want[:10]) {
		t.Errorf("range request: %d %q, want 206 of the identity bytes", ranged.StatusCode, ranged.Header.Get("Content-Encoding"))
	}
}

func TestLabextensionFiles(t *testing.T) {
	t.Run("installed", func(t *testing.T) {
		l, h := realLab(t)
		for _, name := range []string{"@jupyter-widgets/jupyterlab-manager", "jupyterlab_pygments"} {
			ext := l.extensionNamed(name)
			if ext == nil {
				t.Fatalf("extension %s not found", name)
			}
			target := "/lab/extensions/" + name + "/" + ext.build["load"].(string)
			if resp := do(t, h, "GET", target, ""); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
				t.Errorf("GET %s: %d %s", target, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	})
	t.Run("fixture", func(t *testing.T) {
		_, h, _ := fixtureLab(t)
		tests := []struct {
			target string
			status int
			body   string
		}{
			{"/lab/extensions/@hops/lab/static/remoteEntry.aaaaaaaaaaaaaaaa.js", 200, "// hops remote entry"},
			{"/lab/extensions/plain_ext/static/remoteEntry.cccccccccccccccc.js", 200, "// plain remote entry"},
			{"/lab/extensions/@hops/lab/static/remoteEntry.bbbbbbbbbbbbbbbb.js", 404, ""}, // hidden by the first dir
			{"/lab/extensions/source_only/package.json", 404, ""},
			{"/lab/extensions/nope/static/x.js", 404, ""},
			{"/lab/extensions/@hops/lab", 400, ""},
		}
		for _, tt := range tests {
			resp := do(t, h, "GET", tt.target, "")
			if body := readBody(t, resp); resp.StatusCode != tt.status || (tt.body != "" && body != tt.body) {
				t.Errorf("GET %s: %d %q, want %d %q", tt.target, resp.StatusCode, body, tt.status, tt.body)
			}
		}
	})
}

func TestThemes(t *testing.T) {
	t.Run("installed", func(t *testing.T) {
		_, h := realLab(t)
		resp := do(t, h, "GET", "/lab/api/themes/@jupyterlab/theme-light-extension/index.css", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Errorf("light theme: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("fixture", func(t *testing.T) {
		_, h, _ := fixtureLab(t)
		for target, want := range map[string]string{
			"/lab/api/themes/@jupyterlab/theme-light-extension/index.css": "body { color: black; }",
			"/lab/api/themes/@hops/lab/index.css":                         ".hops {}", // from the extension's themes/
		} {
			if resp := do(t, h, "GET", target, ""); resp.StatusCode != 200 || readBody(t, resp) != want {
				t.Errorf("GET %s: %d, want 200 %q", target, resp.StatusCode, want)
			}
		}
	})
}

func TestPathEscapesAreRefused(t *testing.T) {
	_, h, _ := fixtureLab(t)
	// The fixture has secret.txt next to the app dir and static/link.js, a symbolic link to it.
	targets := []string{
		"/static/lab/..%2f..%2fsecret.txt",
		"/static/lab/%2e%2e/%2e%2e/secret.txt",
		"/static/lab/link.js",
		"/static/lab//etc/passwd",
		"/lab/api/themes/..%2f..%2fsecret.txt",
		"/lab/api/themes/@hops/lab/..%2f..%2f..%2f..%2fsecret.txt",
		"/lab/extensions/@hops/lab/..%2f..%2f..%2fsecret.txt",
		"/lab/extensions/plain_ext/static/..%2f..%2f..%2fsecret.txt",
		"/lab/extensions/..%2fapp/static/index.html",
	}
	for _, target := range targets {
		resp := do(t, h, "GET", target, "")
		body := readBody(t, resp)
		if resp.StatusCode < 300 || strings.Contains(body, "do not serve") {
			t.Errorf("GET %s: %d %q, want it refused", target, resp.StatusCode, body)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{
		"":                        false,
		"gzip":                    true,
		"gzip, deflate, br, zstd": true,
		"br;q=1.0, gzip;q=0.8":    true,
		"gzip;q=0":                false,
		"*":                       true,
		"*;q=0":                   false,
		"*, gzip;q=0":             false,
		"identity":                false,
	}
	for header, want := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	share := venvShare(b)
	cfg := Config{
		AppDir:           filepath.Join(share, "lab"),
		LabextensionDirs: []string{filepath.Join(share, "labextensions")},
		StateDir:         b.TempDir(),
	}
	for b.Loop() {
		if _, err := New(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
