package lab

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"

	"github.com/hopsml/hops/server/httpjson"
)

// serveTranslations answers GET /lab/api/translations[/] with the available languages, and
// /lab/api/translations/{locale} with the locale's catalogs. hops ships no language packs: English
// only, and empty catalogs, so the frontend keeps its built-in English strings whatever locale it
// asks for ("default" at startup).
func serveTranslations(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("locale") != "" {
		httpjson.Write(w, http.StatusOK, map[string]any{"data": map[string]any{}, "message": ""})
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{
		"data":    map[string]any{"en": map[string]string{"displayName": "English", "nativeName": "English"}},
		"message": "",
	})
}

// serveListings answers the extension manager's allow and block lists: nothing listed.
func serveListings(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("path") != "@jupyterlab/extensionmanager-extension/listings.json" {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusNotFound, "no listings at %s", r.URL.Path))
		return
	}
	httpjson.Write(w, http.StatusOK, map[string][]string{
		"blocked_extensions_uris": {},
		"allowed_extensions_uris": {},
		"blocked_extensions":      {},
		"allowed_extensions":      {},
	})
}

// serveExporters answers GET /api/nbconvert, the export formats of File > Save and Export
// Notebook As: none, as hops has no nbconvert service.
func serveExporters(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{})
}

// servePluginLocks answers GET /lab/api/plugins for the plugin manager: every plugin is locked,
// as hops does not persist enabling or disabling plugins (disabledExtensions is fixed).
func servePluginLocks(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{"allLocked": true, "lockRules": []string{}})
}

// serveLanguageServers answers GET /lsp/status, jupyter-lsp's endpoint that the LSP plugin asks
// at startup: no language servers, so the frontend opens no LSP connections.
func serveLanguageServers(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{"version": 2, "sessions": map[string]any{}, "specs": map[string]any{}})
}

// serveAPINotFound answers unknown /lab/api endpoints in JSON rather than with the lab's 404 page.
func serveAPINotFound(w http.ResponseWriter, r *http.Request) {
	httpjson.WriteError(w, httpjson.Errorf(http.StatusNotFound, "no lab API endpoint %s", r.URL.Path))
}

// licensePackage is one third-party package in a bundle's third-party-licenses.json.
type licensePackage struct {
	Name          string `json:"name"`
	VersionInfo   string `json:"versionInfo"`
	LicenseID     string `json:"licenseId"`
	ExtractedText string `json:"extractedText"`
}

type licenseBundle struct {
	Packages []licensePackage `json:"packages"`
}

// Report formats of the licenses endpoint: content type and download file extension.
var licenseFormats = map[string]struct{ contentType, ext string }{
	"json":     {"application/json", ".json"},
	"csv":      {"text/csv; charset=utf-8", ".csv"},
	"markdown": {"text/markdown; charset=utf-8", ".md"},
}

// serveLicenses answers GET /lab/api/licenses/ (Help > Licenses): the third-party licenses of the
// app bundle and of every federated extension. Query: bundles (a regexp matched at the start of
// bundle names), format (json, csv, markdown), full_text (markdown only), download.
func (l *Lab) serveLicenses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	f, ok := licenseFormats[format]
	if !ok {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "unknown licenses format %q: use json, csv or markdown", format))
		return
	}
	pattern := q.Get("bundles")
	if pattern == "" {
		pattern = ".*"
	}
	bundlesRe, err := regexp.Compile(`^(?:` + pattern + `)`)
	if err != nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "bundles is not a valid regular expression: %v", err))
		return
	}
	fullText := q.Get("full_text") != "false" && q.Get("full_text") != "0"

	bundles := map[string]licenseBundle{}
	type licenseFile struct {
		fsys fs.FS
		name string
	}
	sources := map[string][]licenseFile{l.appName: {{os.DirFS(l.staticDir), "third-party-licenses.json"}}}
	for _, ext := range l.extensions {
		sources[ext.name] = []licenseFile{{ext.fsys, "third-party-licenses.json"}, {ext.fsys, "static/third-party-licenses.json"}}
	}
	for name, files := range sources {
		if !bundlesRe.MatchString(name) {
			continue
		}
		b := licenseBundle{Packages: []licensePackage{}}
		for _, lf := range files {
			var file licenseBundle
			err := readJSONFS(lf.fsys, lf.name, &file)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				l.log.Warn("unreadable third-party licenses", "bundle", name, "err", err)
			}
			b.Packages = append(b.Packages, file.Packages...)
		}
		bundles[name] = b
	}

	var body []byte
	switch format {
	case "json":
		body, err = json.Marshal(map[string]any{"bundles": bundles})
	case "csv":
		body, err = licensesCSV(bundles)
	case "markdown":
		body = licensesMarkdown(bundles, fullText)
	}
	if err != nil {
		httpjson.WriteError(w, fmt.Errorf("licenses report: %w", err))
		return
	}
	if download, _ := strconv.ParseBool(q.Get("download")); download {
		w.Header().Set("Content-Disposition", `attachment; filename="jupyterlab-licenses`+f.ext+`"`)
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Write(body)
}

func licensesCSV(bundles map[string]licenseBundle) ([]byte, error) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"bundle", "name", "versionInfo", "licenseId", "extractedText"})
	for _, name := range slices.Sorted(maps.Keys(bundles)) {
		for _, p := range bundles[name].Packages {
			cw.Write([]string{name, p.Name, p.VersionInfo, p.LicenseID, p.ExtractedText})
		}
	}
	cw.Flush()
	return buf.Bytes(), cw.Error()
}

func licensesMarkdown(bundles map[string]licenseBundle, fullText bool) []byte {
	var buf bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(bundles)) {
		fmt.Fprintf(&buf, "# %s\n\n", name)
		for _, p := range bundles[name].Packages {
			fmt.Fprintf(&buf, "## **%s** `%s` %s\n\n", p.Name, p.VersionInfo, p.LicenseID)
			if fullText && p.ExtractedText != "" {
				fmt.Fprintf(&buf, "<pre>\n%s\n</pre>\n\n", p.ExtractedText)
			}
		}
	}
	return buf.Bytes()
}
