package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"maps"
	"net/http"
	"regexp"
	"strings"
)

// URLs of the lab; the base URL is always "/".
const (
	appURL           = "/lab"
	staticURL        = "/static/lab"
	labextensionsURL = "/lab/extensions"
	settingsURL      = "/lab/api/settings"
	themesURL        = "/lab/api/themes"
	translationsURL  = "/lab/api/translations"
	workspacesURL    = "/lab/api/workspaces"
	listingsURL      = "/lab/api/listings"
	licensesURL      = "/lab/api/licenses"
	treeURL          = "/lab/tree"
)

// disabledPlugins are frontend plugins that would call endpoints hops does not serve: the extension
// manager (PyPI search, install), the announcements plugin (news feed, update check), and nbdime's
// extension (installed in the venv as the notebook diff's benchmark peer; it needs nbdime's Python
// server extension, and hops has its own notebook diff).
var disabledPlugins = []string{
	"@jupyterlab/extensionmanager-extension",
	"@jupyterlab/apputils-extension:announcements",
	"nbdime-jupyterlab",
}

// pageHead is the markup of the page up to its page config JSON.
const pageHead = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>JupyterLab</title>` +
	`<meta name="viewport" content="width=device-width,initial-scale=1">` +
	`<script id="jupyter-config-data" type="application/json">`

// page is the JupyterLab HTML page: everything but the per-request page config keys is fixed at New.
type page struct {
	tail   string         // markup after the page config JSON: favicons, bundle scripts, body
	config map[string]any // page config keys shared by every request; read-only after New
}

var (
	scriptSrcPattern   = regexp.MustCompile(`<script\b[^>]*\bsrc="([^"]*)"`)
	staticPrefixInSrc  = regexp.MustCompile(`^\{\{\s*page_config\.fullStaticUrl\s*\}\}/`)
	bodyOpeningPattern = regexp.MustCompile(`<body\b[^>]*>`)
)

// parseIndex takes the bundle's entry scripts and <body> tag out of static/index.html, a Jinja
// template whose script URLs start with {{page_config.fullStaticUrl}}, and lays out the page around
// them.
func parseIndex(index []byte) (page, error) {
	var scripts []string
	for _, m := range scriptSrcPattern.FindAllSubmatch(index, -1) {
		src := html.UnescapeString(string(m[1]))
		loc := staticPrefixInSrc.FindStringIndex(src)
		if loc == nil {
			return page{}, fmt.Errorf("script %q is not in the static bundle (expected {{page_config.fullStaticUrl}}/...)", src)
		}
		scripts = append(scripts, staticURL+"/"+src[loc[1]:])
	}
	if len(scripts) == 0 {
		return page{}, errors.New("no <script src> of the JupyterLab bundle found")
	}
	body := "<body>"
	if m := bodyOpeningPattern.Find(index); m != nil {
		body = string(m)
	}

	var tail strings.Builder
	tail.WriteString(`</script>` +
		`<link rel="icon" type="image/x-icon" href="/static/favicons/favicon.ico" class="idle favicon">` +
		`<link rel="" type="image/x-icon" href="/static/favicons/favicon-busy-1.ico" class="busy favicon">`)
	for _, src := range scripts {
		fmt.Fprintf(&tail, `<script defer src="%s"></script>`, html.EscapeString(src))
	}
	tail.WriteString(`</head>` + body + `<script>` + stripTokenScript + `</script></body></html>`)
	return page{tail: tail.String()}, nil
}

// stripTokenScript removes the token query parameter from the address bar once the page has it, so
// the token does not linger in the history or get shared by copying the URL.
const stripTokenScript = `(function () {
  var params = window.location.search.slice(1).split('&');
  var kept = params.filter(function (p) { return p.split('=')[0] !== 'token'; });
  if (kept.length === params.length) { return; }
  var search = kept.length ? '?' + kept.join('&') : '';
  window.history.replaceState(window.history.state, '', window.location.pathname + search + window.location.hash);
})();`

// basePageConfig is the page config every page shares, with Config.PageConfig merged last.
func (l *Lab) basePageConfig(appVersion string) map[string]any {
	federated := make([]map[string]any, 0, len(l.extensions))
	for _, ext := range l.extensions {
		federated = append(federated, ext.pageConfigEntry())
	}
	c := map[string]any{
		"appName":                "JupyterLab",
		"appNamespace":           "lab",
		"appVersion":             appVersion,
		"hopsVersion":            l.cfg.Version,
		"baseUrl":                "/",
		"wsUrl":                  "",
		"appUrl":                 appURL,
		"fullAppUrl":             appURL,
		"fullStaticUrl":          staticURL,
		"labextensionsUrl":       labextensionsURL,
		"fullLabextensionsUrl":   labextensionsURL,
		"settingsUrl":            settingsURL,
		"fullSettingsUrl":        settingsURL,
		"themesUrl":              themesURL,
		"fullThemesUrl":          themesURL,
		"translationsApiUrl":     translationsURL,
		"fullTranslationsApiUrl": translationsURL,
		"workspacesApiUrl":       workspacesURL,
		"fullWorkspacesApiUrl":   workspacesURL,
		"listingsUrl":            listingsURL,
		"fullListingsUrl":        listingsURL,
		"licensesUrl":            licensesURL,
		"fullLicensesUrl":        licensesURL,
		"treeUrl":                treeURL,
		"fullTreeUrl":            treeURL,
		"token":                  l.cfg.Token,
		"serverRoot":             l.cfg.ServerRoot,
		"preferredPath":          "/",
		"store_id":               0,
		"federated_extensions":   federated,
		"disabledExtensions":     disabledPlugins,
		"deferredExtensions":     []string{},
		"ignorePlugins":          []string{},
		"terminalsAvailable":     false,
		"buildAvailable":         false,
		"buildCheck":             false,
		"devMode":                false,
		"cacheFiles":             false,
		"exposeAppInBrowser":     false,
		"quitButton":             true,
		"notebookStartsKernel":   true,
		"allow_hidden_files":     false,
		"copyAbsolutePath":       false,
		// A jupyter_server version: the file browser uploads large files in chunks only to servers
		// that advertise one.
		"notebookVersion": "[2, 21, 0]",
		"news":            map[string]any{"disabled": true},
	}
	maps.Copy(c, l.cfg.PageConfig)
	return c
}

// servePage answers with the lab page in the given mode; the workspace and tree path come from the
// route's wildcards.
func (l *Lab) servePage(mode string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.writePage(w, http.StatusOK, mode, r.PathValue("workspace"), r.PathValue("path"), "")
	}
}

// serveNotFoundPage answers an unknown page under /lab or /doc the way JupyterLab expects: its page
// with notFoundUrl set, which the frontend shows as a "path not found" dialog, and status 404.
func (l *Lab) serveNotFoundPage(mode string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.writePage(w, http.StatusNotFound, mode, "", "", r.URL.Path)
	}
}

func (l *Lab) writePage(w http.ResponseWriter, status int, mode, workspace, treePath, notFoundURL string) {
	if workspace == "" {
		workspace = "default"
	}
	c := maps.Clone(l.page.config)
	c["mode"] = mode
	c["workspace"] = workspace
	c["treePath"] = treePath
	if notFoundURL != "" {
		c["notFoundUrl"] = notFoundURL
	}
	// json.Marshal escapes <, > and & as \u003c..., so no value can close the <script> element.
	configJSON, err := json.Marshal(c)
	if err != nil {
		http.Error(w, "encode page config: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	b.Grow(len(pageHead) + len(configJSON) + len(l.page.tail))
	b.WriteString(pageHead)
	b.Write(configJSON)
	b.WriteString(l.page.tail)

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store") // it carries the token
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
