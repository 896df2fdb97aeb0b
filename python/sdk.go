// Package python carries hops' Python SDK (the hops package beside this file) inside the binary, so
// trials run with the SDK of the hops that runs them, whatever interpreter the project uses.
package python

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed hops/*.py
var sdk embed.FS

// Install writes the SDK as dir/hops/*.py; dir is then what to put on PYTHONPATH.
func Install(dir string) error {
	return fs.WalkDir(sdk, "hops", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := sdk.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
