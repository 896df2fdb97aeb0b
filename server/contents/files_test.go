package contents

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestFiles(t *testing.T) {
	e := newEnv(t, Options{})
	png := "\x89PNG\r\n\x1a\n" + "rest of the image"
	e.write("page.html", "<script>alert(document.cookie)</script>")
	e.write("pic.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	e.write("pic.png", png)
	e.write("doc.pdf", "%PDF-1.4")
	e.write("README", "plain words\n")
	e.write("résumé.txt", "0123456789")
	e.write("dir/x", "")
	e.write(".secret", "s")

	tests := []struct {
		target, ctype string
		sandbox       bool
		body          string
	}{
		{"/files/page.html", "text/html; charset=utf-8", true, "<script>alert(document.cookie)</script>"},
		{"/files/pic.svg", "image/svg+xml", true, ""},
		{"/files/pic.png", "image/png", false, png},
		{"/files/doc.pdf", "application/pdf", false, "%PDF-1.4"},
		{"/files/README", "text/plain; charset=utf-8", true, "plain words\n"}, // no extension: sniffed
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := e.do("GET", tt.target, nil)
			h := rec.Header()
			if rec.Code != 200 || h.Get("Content-Type") != tt.ctype {
				t.Fatalf("%d %q", rec.Code, h.Get("Content-Type"))
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			if got := h.Get("Content-Security-Policy") == "sandbox"; got != tt.sandbox {
				t.Errorf("sandboxed %v, want %v", got, tt.sandbox)
			}
			if h.Get("Content-Disposition") != "" {
				t.Error("inline content marked as attachment")
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Errorf("body %q", rec.Body)
			}
		})
	}
	t.Run("download=1 is an attachment, with the name encoded", func(t *testing.T) {
		for _, q := range []string{"download=1", "download=true", "download=yes&_xsrf=abc"} {
			rec := e.do("GET", "/files/r%C3%A9sum%C3%A9.txt?"+q, nil)
			if got := rec.Header().Get("Content-Disposition"); got != "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt" {
				t.Errorf("%s: Content-Disposition %q", q, got)
			}
		}
		for _, q := range []string{"download=0", "download=false", "download="} {
			if got := e.do("GET", "/files/README?"+q, nil).Header().Get("Content-Disposition"); got != "" {
				t.Errorf("%s: Content-Disposition %q", q, got)
			}
		}
	})
	t.Run("ranges", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/files/r%C3%A9sum%C3%A9.txt", nil)
		req.Header.Set("Range", "bytes=2-4")
		rec := httptest.NewRecorder()
		e.mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusPartialContent || rec.Body.String() != "234" {
			t.Errorf("%d %q", rec.Code, rec.Body)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		rec := e.do("HEAD", "/files/README", nil)
		if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "12" {
			t.Errorf("%d %q %v", rec.Code, rec.Body, rec.Header())
		}
	})
	refusals := []struct {
		target string
		status int
		msg    string
	}{
		{"/files/dir", 400, "dir is a directory"},
		{"/files/", 400, "is a directory"},
		{"/files/missing.txt", 404, "missing.txt does not exist"},
		{"/files/.secret", 404, "hidden"},
	}
	for _, tt := range refusals {
		t.Run(tt.target, func(t *testing.T) {
			e := e.with(t)
			e.wantError(e.do("GET", tt.target, nil), tt.status, tt.msg)
		})
	}
}

// Serving a big file streams it: memory use does not grow with the file.
func TestFilesStreamBigFiles(t *testing.T) {
	e := newEnv(t, Options{})
	const size = 64 << 20
	f, err := os.Create(filepath.Join(e.dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := &discard{h: http.Header{}}
	req := httptest.NewRequest("GET", "/files/big.bin", nil)
	e.mux.ServeHTTP(w, req)
	runtime.ReadMemStats(&after)
	if w.n != size {
		t.Fatalf("served %d bytes", w.n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("serving %d MiB allocated %d MiB", size>>20, alloc>>20)
	}
}

type discard struct {
	h http.Header
	n int64
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(int)     {}
func (d *discard) Write(b []byte) (int, error) {
	d.n += int64(len(b))
	return len(b), nil
}
