package lab

import (
	"errors"
	"fmt"
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
// package.json whose jupyterlab._build says which remote entry the frontend loads. The directory is
// on disk or in a file system given to New (the extension embedded in the hops binary).
type extension struct {
	name    string
	version string
	source  string         // where it was found, for messages: a directory, or "<fs>/<name>"
	fsys    fs.FS          // the extension's directory
	build   map[string]any // jupyterlab._build: load, extension, mimeExtension, style, ...
}

// pageConfigEntry is the extension's item of the page config's federated_extensions: its _build
// keys plus its name, which is how JupyterLab's bootstrap finds and loads it.
func (e *extension) pageConfigEntry() map[string]any {
	entry := maps.Clone(e.build)
	entry["name"] = e.name
	return entry
}

// scanExtensions finds the federated extensions in dirs, then in fsyss (each laid out like a
// labextensions directory: plain names and @scope/name), keeping for each name the one found first.
// Directories that do not exist are skipped; broken extensions are logged and skipped so that one
// bad install does not take the lab down.
func scanExtensions(dirs []string, fsyss []fs.FS, log *slog.Logger) []*extension {
	byName := map[string]*extension{}
	add := func(source string, fsys fs.FS) {
		ext, err := readExtension(source, fsys)
		if err != nil {
			log.Warn("skipping lab extension", "dir", source, "err", err)
			return
		}
		if ext == nil || byName[ext.name] != nil {
			return
		}
		byName[ext.name] = ext
	}
	for _, dir := range dirs {
		for _, extDir := range packageDirs(dir) {
			add(extDir, rootDir(extDir))
		}
	}
	for i, fsys := range fsyss {
		for _, name := range packageNames(fsys) {
			sub, err := fs.Sub(fsys, name)
			if err != nil {
				continue
			}
			add(fmt.Sprintf("<labextension fs %d>/%s", i, name), sub)
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

// packageNames lists the package directories of fsys, named like npm packages: "name" or
// "@scope/name" (slash-separated, as fs.FS names are). Directories are followed through symbolic
// links where fsys does.
func packageNames(fsys fs.FS) []string {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil
	}
	isDirFS := func(name string) bool {
		info, err := fs.Stat(fsys, name)
		return err == nil && info.IsDir()
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !isDirFS(name) {
			continue
		}
		if !strings.HasPrefix(name, "@") {
			names = append(names, name)
			continue
		}
		scoped, err := fs.ReadDir(fsys, name)
		if err != nil {
			continue
		}
		for _, sc := range scoped {
			if p := name + "/" + sc.Name(); isDirFS(p) {
				names = append(names, p)
			}
		}
	}
	return names
}

// rootDir is a directory as an fs.FS that never leaves it: names with "..", and symbolic links
// that point outside, are refused (os.OpenInRoot). Each Open resolves the directory anew, so an
// extension reinstalled while hops runs is served from its new files.
type rootDir string

func (d rootDir) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := os.OpenInRoot(string(d), name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// readExtension reads package.json of the extension directory fsys (found at source). A directory
// without one, or whose package is not a prebuilt extension, is no extension (nil, nil).
func readExtension(source string, fsys fs.FS) (*extension, error) {
	var pkg struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		Jupyterlab struct {
			Build map[string]any `json:"_build"`
		} `json:"jupyterlab"`
	}
	err := readJSONFS(fsys, "package.json", &pkg)
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
	return &extension{name: pkg.Name, version: pkg.Version, source: source, fsys: fsys, build: pkg.Jupyterlab.Build}, nil
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
	l.assets.serveFS(w, r, ext.fsys, file, ext.source)
}

// serveTheme serves /lab/api/themes/{path...}: a theme of a federated extension lives in
// <extension>/themes/<name>/, the core themes in AppDir/themes/<name>/.
func (l *Lab) serveTheme(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	name, _ := splitPackagePath(p)
	if ext := l.extensionNamed(name); ext != nil {
		if themes, err := fs.Sub(ext.fsys, "themes"); err == nil {
			if f, info, err := openAssetFS(themes, p); err == nil {
				defer f.Close()
				l.assets.serveFile(w, r, f, info, ext.source+"/themes/"+p)
				return
			}
		}
	}
	l.assets.serve(w, r, filepath.Join(l.cfg.AppDir, "themes"), p)
}
