// Package lab serves the JupyterLab 4 web application: the HTML page with its page config, the
// prebuilt static bundle of the jupyterlab-js package, federated (prebuilt) lab extensions, and the
// /lab/api/* endpoints the frontend calls (settings, workspaces, themes, translations, listings,
// licenses).
//
// Nothing here runs Python or Jinja. The page is built in Go from the <script> tags of the bundle's
// index.html and a page config assembled from the installed assets, so the unchanged JupyterLab UI
// runs against hops exactly as it would against jupyter_server with jupyterlab_server.
package lab

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
)

// Config says where the JupyterLab assets and the user's lab state live.
type Config struct {
	// AppDir is share/jupyter/lab of the venv: static/, schemas/, themes/ and optionally settings/.
	AppDir string
	// LabextensionDirs are share/jupyter/labextensions directories in precedence order: an extension
	// found in an earlier directory hides one of the same name in a later one.
	LabextensionDirs []string
	// LabextensionFS are more labextensions directories as file systems (extensions embedded in the
	// binary: <name>/package.json or @scope/<name>/package.json), after LabextensionDirs in precedence,
	// so that an extension installed on disk under the same name overrides the embedded one.
	LabextensionFS []fs.FS
	// StateDir holds user settings (StateDir/settings) and workspaces (StateDir/workspaces).
	StateDir string
	// Token is put in the page config so the frontend authenticates its API requests.
	Token string
	// ServerRoot is the workspace directory, shown as serverRoot in the page config.
	ServerRoot string
	// Version is the hops version, in the page config as hopsVersion.
	Version string
	// PageConfig holds extra page config keys, merged last so they win.
	PageConfig map[string]any
	// Log receives warnings about broken extensions, schemas and settings files; nil means slog.Default().
	Log *slog.Logger
}

// Lab serves the JupyterLab page, its assets and the /lab/api endpoints.
type Lab struct {
	cfg        Config
	log        *slog.Logger
	staticDir  string
	page       page
	extensions []*extension // federated extensions, sorted by name
	assets     *assetServer
	settings   *settingsStore
	workspaces *workspaceStore
	appName    string // name of the app bundle in static/package.json (its licenses bundle)
}

// New reads the bundle's index.html and package.json and scans the lab extension directories. It
// does no other file I/O: setting schemas are read on the first settings request.
func New(cfg Config) (*Lab, error) {
	staticDir := filepath.Join(cfg.AppDir, "static")
	index, err := os.ReadFile(filepath.Join(staticDir, "index.html"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("JupyterLab assets not found: %s is missing (run make venv to install jupyterlab-js)",
			filepath.Join(staticDir, "index.html"))
	}
	if err != nil {
		return nil, fmt.Errorf("read JupyterLab index: %w", err)
	}
	var app struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := readJSON(filepath.Join(staticDir, "package.json"), &app); err != nil {
		return nil, fmt.Errorf("read JupyterLab version: %w", err)
	}
	pg, err := parseIndex(index)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(staticDir, "index.html"), err)
	}
	log := cmp.Or(cfg.Log, slog.Default())
	exts := scanExtensions(cfg.LabextensionDirs, cfg.LabextensionFS, log)
	l := &Lab{
		cfg:        cfg,
		log:        log,
		staticDir:  staticDir,
		page:       pg,
		extensions: exts,
		assets:     &assetServer{},
		settings:   newSettingsStore(cfg.AppDir, exts, filepath.Join(cfg.StateDir, "settings"), log),
		workspaces: &workspaceStore{dir: filepath.Join(cfg.StateDir, "workspaces")},
		appName:    app.Name,
	}
	l.page.config = l.basePageConfig(app.Version)
	return l, nil
}

// Register adds every route of the lab to mux.
func (l *Lab) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", redirectTo("/lab"))
	for _, app := range []struct{ prefix, mode string }{
		{"/lab", "multiple-document"},
		{"/doc", "single-document"},
	} {
		mux.HandleFunc("GET "+app.prefix, l.servePage(app.mode))
		mux.HandleFunc("GET "+app.prefix+"/{$}", redirectTo(app.prefix))
		mux.HandleFunc("GET "+app.prefix+"/tree/{path...}", l.servePage(app.mode))
		mux.HandleFunc("GET "+app.prefix+"/workspaces/{workspace}", l.servePage(app.mode))
		mux.HandleFunc("GET "+app.prefix+"/workspaces/{workspace}/tree/{path...}", l.servePage(app.mode))
		mux.HandleFunc("GET "+app.prefix+"/{rest...}", l.serveNotFoundPage(app.mode))
	}

	mux.HandleFunc("GET /static/lab/{file...}", l.serveStatic)
	mux.HandleFunc("GET /static/favicons/{file}", serveFavicon)
	mux.HandleFunc("GET /lab/extensions/{path...}", l.serveExtensionFile)
	mux.HandleFunc("GET /lab/api/themes/{path...}", l.serveTheme)

	mux.HandleFunc("GET /lab/api/settings", l.listSettings)
	mux.HandleFunc("GET /lab/api/settings/{id...}", l.getSetting)
	mux.HandleFunc("PUT /lab/api/settings/{id...}", l.putSetting)

	mux.HandleFunc("GET /lab/api/workspaces", l.listWorkspaces)
	mux.HandleFunc("GET /lab/api/workspaces/{name...}", l.getWorkspace)
	mux.HandleFunc("PUT /lab/api/workspaces/{name...}", l.putWorkspace)
	mux.HandleFunc("DELETE /lab/api/workspaces/{name...}", l.deleteWorkspace)

	mux.HandleFunc("GET /lab/api/translations", serveTranslations)
	mux.HandleFunc("GET /lab/api/translations/{locale...}", serveTranslations)
	mux.HandleFunc("GET /lab/api/listings/{path...}", serveListings)
	mux.HandleFunc("GET /lab/api/licenses", l.serveLicenses)
	mux.HandleFunc("GET /lab/api/licenses/{$}", l.serveLicenses)
	mux.HandleFunc("GET /lab/api/plugins", servePluginLocks)
	mux.HandleFunc("GET /lab/api/{rest...}", serveAPINotFound)
	mux.HandleFunc("GET /api/nbconvert", serveExporters)
	mux.HandleFunc("GET /lsp/status", serveLanguageServers)
}

// redirectTo answers with a 302 to target, keeping the query (the token of a login link among it).
func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		url := target
		if r.URL.RawQuery != "" {
			url += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, url, http.StatusFound)
	}
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readJSONFS is readJSON for a file of fsys.
func readJSONFS(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
