package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/internal/atomicfile"
	"github.com/hopsml/hops/server/httpjson"
)

// settingsFileExt is the extension JupyterLab gives user settings files.
const settingsFileExt = ".jupyterlab-settings"

// maxSettingsBody bounds a settings PUT: settings are a few KiB of JSON5.
const maxSettingsBody = 4 << 20

// pluginSchema is the settings schema of one frontend plugin, <pkg>/<plugin>.json in a schemas
// directory, with the defaults overrides of AppDir/settings applied.
type pluginSchema struct {
	id      string // "<pkg>:<plugin>", e.g. "@jupyterlab/notebook-extension:tracker"
	pkg     string
	plugin  string
	version string // of the package, from the package.json.orig next to the schema
	schema  json.RawMessage
}

// schemaSet is every plugin schema of the app and of the federated extensions.
type schemaSet struct {
	byID map[string]*pluginSchema
	ids  []string // sorted
}

// settingsStore answers the settings API: schemas from the installed assets, user settings as
// raw JSON5 files in userDir/<pkg>/<plugin>.jupyterlab-settings.
type settingsStore struct {
	userDir string
	log     *slog.Logger
	schemas func() (*schemaSet, error) // reads the schemas once, on first use
}

func newSettingsStore(appDir string, exts []*extension, userDir string, log *slog.Logger) *settingsStore {
	return &settingsStore{
		userDir: userDir,
		log:     log,
		schemas: sync.OnceValues(func() (*schemaSet, error) { return loadSchemas(appDir, exts, log) }),
	}
}

// setting is the model of one plugin's settings in the settings API.
type setting struct {
	ID           string          `json:"id"`
	Schema       json.RawMessage `json:"schema"`
	Version      string          `json:"version"`
	Raw          string          `json:"raw"`      // the user's settings as written, JSON5
	Settings     json.RawMessage `json:"settings"` // Raw parsed
	LastModified *string         `json:"last_modified"`
	Created      *string         `json:"created"`
	Warning      string          `json:"warning,omitempty"`
}

// loadSchemas reads the app's schemas, then those of the federated extensions, which win on equal
// ids as they do in jupyterlab_server. A broken schema file is logged and left out.
func loadSchemas(appDir string, exts []*extension, log *slog.Logger) (*schemaSet, error) {
	appSchemas := filepath.Join(appDir, "schemas")
	if !isDir(appSchemas) {
		return nil, fmt.Errorf("JupyterLab setting schemas not found at %s (run make venv)", appSchemas)
	}
	overrides := readOverrides(filepath.Join(appDir, "settings"), log)
	set := &schemaSet{byID: map[string]*pluginSchema{}}
	add := func(schemas fs.FS, fallbackVersion string) {
		for _, pkg := range packageNames(schemas) {
			version := fallbackVersion
			var orig struct {
				Version string `json:"version"`
			}
			if readJSONFS(schemas, pkg+"/package.json.orig", &orig) == nil && orig.Version != "" {
				version = orig.Version
			}
			files, _ := fs.Glob(schemas, pkg+"/*.json")
			for _, file := range files {
				plugin := strings.TrimSuffix(path.Base(file), ".json")
				p := &pluginSchema{id: pkg + ":" + plugin, pkg: pkg, plugin: plugin, version: version}
				schema, err := readSchema(schemas, file, overrides[p.id])
				if err != nil {
					log.Warn("skipping settings schema", "id", p.id, "err", err)
					continue
				}
				p.schema = schema
				set.byID[p.id] = p
			}
		}
	}
	add(os.DirFS(appSchemas), "N/A")
	for _, ext := range exts {
		if schemas, err := fs.Sub(ext.fsys, "schemas"); err == nil {
			add(schemas, ext.version)
		}
	}
	for id := range set.byID {
		set.ids = append(set.ids, id)
	}
	slices.Sort(set.ids)
	return set, nil
}

// readSchema reads a schema file and applies the defaults overrides of its plugin.
func readSchema(fsys fs.FS, file string, overrides map[string]any) (json.RawMessage, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(overrides) == 0 {
		return data, nil
	}
	props, _ := schema["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		schema["properties"] = props
	}
	for key, value := range overrides {
		prop, _ := props[key].(map[string]any)
		if prop == nil {
			props[key] = map[string]any{"default": value}
			continue
		}
		prop["default"] = mergeDefaults(prop["default"], value)
	}
	return json.Marshal(schema)
}

// mergeDefaults overlays override on a schema default: objects merge key by key, anything else is
// replaced.
func mergeDefaults(base, override any) any {
	b, ok1 := base.(map[string]any)
	o, ok2 := override.(map[string]any)
	if !ok1 || !ok2 {
		return override
	}
	for k, v := range o {
		b[k] = mergeDefaults(b[k], v)
	}
	return b
}

// readOverrides reads the administrator's default overrides, settings/overrides.json(5) of the app
// dir: {"<plugin id>": {"<setting>": <default>}}.
func readOverrides(dir string, log *slog.Logger) map[string]map[string]any {
	overrides := map[string]map[string]any{}
	for _, name := range []string{"overrides.json", "overrides.json5"} {
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var parsed map[string]map[string]any
		if err == nil {
			var plain json.RawMessage
			if plain, err = parseSettingsJSON5(raw); err == nil {
				err = json.Unmarshal(plain, &parsed)
			}
		}
		if err != nil {
			log.Warn("ignoring settings overrides", "file", path, "err", err)
			continue
		}
		for id, defaults := range parsed {
			if overrides[id] == nil {
				overrides[id] = map[string]any{}
			}
			for k, v := range defaults {
				overrides[id][k] = mergeDefaults(overrides[id][k], v)
			}
		}
	}
	return overrides
}

// userPath is where the user's settings of plugin p are stored.
func (s *settingsStore) userPath(p *pluginSchema) string {
	return filepath.Join(s.userDir, filepath.FromSlash(p.pkg), p.plugin+settingsFileExt)
}

// setting returns plugin p's settings model. A user file that no longer parses is reported as a
// warning with empty settings, so that the lab still starts and the file can be fixed.
func (s *settingsStore) setting(p *pluginSchema) (setting, error) {
	st := setting{ID: p.id, Schema: p.schema, Version: p.version, Raw: "{}", Settings: json.RawMessage("{}")}
	f, err := os.Open(s.userPath(p))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read settings of %s: %w", p.id, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return st, fmt.Errorf("read settings of %s: %w", p.id, err)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return st, fmt.Errorf("read settings of %s: %w", p.id, err)
	}
	modified := info.ModTime().UTC().Format(time.RFC3339Nano)
	st.LastModified, st.Created = &modified, &modified
	if strings.TrimSpace(string(raw)) == "" {
		return st, nil
	}
	parsed, err := parseSettingsJSON5(raw)
	if err != nil {
		st.Warning = fmt.Sprintf("ignoring the settings in %s: %v", s.userPath(p), err)
		s.log.Warn("unparseable user settings", "id", p.id, "err", err)
		return st, nil
	}
	st.Raw, st.Settings = string(raw), parsed
	return st, nil
}

// listSettings answers GET /lab/api/settings[/]: {"settings": [...]}, only the ids with
// ?ids_only=true.
func (l *Lab) listSettings(w http.ResponseWriter, r *http.Request) {
	set, err := l.settings.schemas()
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	q := r.URL.Query()
	if q.Get("ids_only") == "true" || q.Get("names_only") == "true" {
		ids := make([]map[string]string, len(set.ids))
		for i, id := range set.ids {
			ids[i] = map[string]string{"id": id}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"settings": ids})
		return
	}
	all := make([]setting, 0, len(set.ids))
	for _, id := range set.ids {
		st, err := l.settings.setting(set.byID[id])
		if err != nil {
			httpjson.WriteError(w, err)
			return
		}
		all = append(all, st)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"settings": all})
}

// pluginSchemaFor returns the schema the request's {id} names.
func (l *Lab) pluginSchemaFor(r *http.Request) (*pluginSchema, error) {
	set, err := l.settings.schemas()
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	p := set.byID[id]
	if p == nil {
		return nil, httpjson.Errorf(http.StatusNotFound, "no settings schema for plugin %q", id)
	}
	return p, nil
}

// getSetting answers GET /lab/api/settings/{id} with the plugin's settings model.
func (l *Lab) getSetting(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") == "" {
		l.listSettings(w, r)
		return
	}
	p, err := l.pluginSchemaFor(r)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	st, err := l.settings.setting(p)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, st)
}

// putSetting answers PUT /lab/api/settings/{id} {"raw": "<JSON5>"}: the raw text is stored as is,
// comments included, once it parses.
func (l *Lab) putSetting(w http.ResponseWriter, r *http.Request) {
	p, err := l.pluginSchemaFor(r)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	var body struct {
		Raw *string `json:"raw"`
	}
	if err := httpjson.Decode(r, &body, maxSettingsBody, false); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	if body.Raw == nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, `request body must be {"raw": "<settings as JSON5>"}`))
		return
	}
	if _, err := parseSettingsJSON5([]byte(*body.Raw)); err != nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "settings of %s are not valid: %v", p.id, err))
		return
	}
	if err := atomicfile.WriteFile(l.settings.userPath(p), []byte(*body.Raw), 0o644); err != nil {
		httpjson.WriteError(w, fmt.Errorf("save settings of %s: %w", p.id, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
