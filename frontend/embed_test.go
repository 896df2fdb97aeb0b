package frontend

import (
	"encoding/json"
	"io/fs"
	"os"
	"testing"
)

// TestEmbeddedExtension checks what hops lab needs of the embedded extension: a package.json naming
// its remote entry, and that file. A binary built without `make frontend` has none: that fails under
// CI=true (make builds it first) and is skipped elsewhere.
func TestEmbeddedExtension(t *testing.T) {
	if !Built() {
		if os.Getenv("CI") == "true" {
			t.Fatal("the JupyterLab extension is not built: run make frontend before go test")
		}
		t.Skip("the JupyterLab extension is not built (make frontend)")
	}
	exts := Labextensions()
	raw, err := fs.ReadFile(exts, Name+"/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Name       string `json:"name"`
		Jupyterlab struct {
			Build struct {
				Load      string `json:"load"`
				Extension string `json:"extension"`
				Style     string `json:"style"`
			} `json:"_build"`
		} `json:"jupyterlab"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	b := pkg.Jupyterlab.Build
	if pkg.Name != Name || b.Load == "" || b.Extension != "./extension" || b.Style != "./style" {
		t.Fatalf("package.json of the built extension: %s", raw)
	}
	if info, err := fs.Stat(exts, Name+"/"+b.Load); err != nil || info.Size() == 0 {
		t.Fatalf("remote entry %s: %v", b.Load, err)
	}
}
