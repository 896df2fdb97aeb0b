//go:build unix

package contents

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO or socket in the workspace is never opened for reading in a way that blocks: it is
// refused, and left out of listings.
func TestSpecialFilesDoNotHang(t *testing.T) {
	e := newEnv(t, Options{})
	if err := syscall.Mkfifo(filepath.Join(e.dir, "pipe"), 0o644); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cannot make a FIFO, which CI's Linux supports:", err)
		}
		t.Skip("no FIFOs here:", err)
	}
	e.wantError(e.do("GET", "/api/contents/pipe", nil), 400, "not a regular file")
	e.wantError(e.do("GET", "/api/contents/pipe?content=0", nil), 400, "not a regular file")
	e.wantError(e.do("GET", "/files/pipe", nil), 400, "not a regular file")
	e.wantError(e.do("POST", "/api/contents", map[string]any{"copy_from": "pipe"}), 400, "not a regular file")
	v := e.want(e.do("GET", "/api/contents", nil), http.StatusOK)
	if n := len(v["content"].([]any)); n != 0 {
		t.Errorf("listing has %d entries", n)
	}
}

func TestPermissionDeniedIs403(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	e := newEnv(t, Options{})
	e.write("locked.txt", "x")
	os.Chmod(filepath.Join(e.dir, "locked.txt"), 0)
	e.wantError(e.do("GET", "/api/contents/locked.txt", nil), 403, "permission denied")
	e.want(e.do("GET", "/api/contents/locked.txt?content=0", nil), 200) // metadata needs no read access
}
