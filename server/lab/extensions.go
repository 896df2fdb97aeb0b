package lab

import (
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// extension is a federated (prebuilt) lab extension: a directory <labextensions>/<name> with a
// package.json whose jupyterlab._build says which remote entry the frontend loads.
type extension struct {
	name    string
	version string
	dir     string
	build   map[string]any // jupyterlab._build: load, extension, mimeExtension, style, ...
}

// pageConfigEntry is the extension's item of the page config's federated_extensions: its _build
// keys plus its name, which is how JupyterLab's bootstrap finds and loads it.
func (e *extension) pageConfigEntry() map[string]any {
	entry := maps.Clone(e.build)
	entry["name"] = e.name
	return entry
}

// scanExtensions finds the federated extensions in dirs (plain names and @scope/name), keeping for
// each name the one in the earliest directory. Directories that do not exist are skipped; broken
// extensions are logged and skipped so that one bad install does not take the lab down.
func scanExtensions(dirs []string, log *slog.Logger) []*extension {
	byName := map[string]*extension{}
	for _, dir := range dirs {
		for _, extDir := range packageDirs(dir) {
			ext, err := readExtension(extDir)
			if err != nil {
				log.Warn("skipping lab extension", "dir", extDir, "err", err)
				continue
			}
			if ext == nil || byName[ext.name] != nil {
				continue
			}
			byName[ext.name] = ext
		}
	}
	exts := slices.Collect(maps.Values(byName))
	slices.SortFunc(exts, func(a, b *extension) int { return strings.Compare(a.name, b.name) })
	return exts
}

// packageDirs lists the package directories in dir, named like npm packages: name or @scope/name.
// Labextensions directories and schemas directories are laid out this way.
func packageDirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !isDir(path) {
			continue
		}
		if !strings.HasPrefix(e.Name(), "@") {
			dirs = append(dirs, path)
			continue
		}
		scoped, err := os.ReadDir(path)
		if err != nil {
			continue
		}
		for _, s := range scoped {
			if p := filepath.Join(path, s.Name()); isDir(p) {
				dirs = append(dirs, p)
			}
		}
	}
	return dirs
}

// isDir follows symbolic links: development installs link the extension directory to its source.
func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// readExtension reads dir/package.json. A directory without one, or whose package is not a
// prebuilt extension, is no extension (nil, nil).
func readExtension(dir string) (*extension, error) {
	var pkg struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		Jupyterlab struct {
			Build map[string]any `json:"_build"`
		} `json:"jupyterlab"`
	}
	err := readJSON(filepath.Join(dir, "package.json"), &pkg)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if pkg.Jupyterlab.Build == nil {
		return nil, nil
	}
	if pkg.Name == "" {
		return nil, errors.New("package.json has no name")
	}
	if load, _ := pkg.Jupyterlab.Build["load"].(string); load == "" {
		return nil, errors.New(`package.json has no jupyterlab._build.load (the extension's remote entry)`)
	}
	return &extension{name: pkg.Name, version: pkg.Version, dir: dir, build: pkg.Jupyterlab.Build}, nil
}

// extensionNamed returns the extension called name, or nil.
func (l *Lab) extensionNamed(name string) *extension {
	i, found := slices.BinarySearchFunc(l.extensions, name, func(e *extension, name string) int {
		return strings.Compare(e.name, name)
	})
	if !found {
		return nil
	}
	return l.extensions[i]
}

// splitPackagePath splits "name/rest" or "@scope/name/rest" into the package name and the rest.
func splitPackagePath(p string) (name, rest string) {
	parts := strings.SplitN(p, "/", 3)
	if strings.HasPrefix(p, "@") && len(parts) >= 2 {
		name = parts[0] + "/" + parts[1]
		if len(parts) == 3 {
			rest = parts[2]
		}
		return name, rest
	}
	name, rest, _ = strings.Cut(p, "/")
	return name, rest
}

// serveExtensionFile serves /lab/extensions/{name}/{file...} from the extension's directory.
func (l *Lab) serveExtensionFile(w http.ResponseWriter, r *http.Request) {
	name, file := splitPackagePath(r.PathValue("path"))
	ext := l.extensionNamed(name)
	if ext == nil {
		http.Error(w, "no lab extension named "+name, http.StatusNotFound)
		return
	}
	l.assets.serve(w, r, ext.dir, file)
}

// serveTheme serves /lab/api/themes/{path...}: a theme of a federated extension lives in
// <extension>/themes/<name>/, the core themes in AppDir/themes/<name>/.
func (l *Lab) serveTheme(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	name, _ := splitPackagePath(p)
	if ext := l.extensionNamed(name); ext != nil {
		dir := filepath.Join(ext.dir, "themes")
		if f, info, err := openAsset(dir, p); err == nil {
			defer f.Close()
			l.assets.serveFile(w, r, f, info)
			return
		}
	}
	l.assets.serve(w, r, filepath.Join(l.cfg.AppDir, "themes"), p)
}
