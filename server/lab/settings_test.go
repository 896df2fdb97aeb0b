package lab

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hopsml/hops/internal/atomicfile"
)

type settingsList struct {
	Settings []setting `json:"settings"`
}

func TestSettingsListHasTheInstalledSchemas(t *testing.T) {
	_, h := realLab(t)
	for _, target := range []string{"/lab/api/settings", "/lab/api/settings/"} {
		list := decodeJSON[settingsList](t, do(t, h, "GET", target, ""))
		byID := map[string]setting{}
		for _, s := range list.Settings {
			byID[s.ID] = s
		}
		tracker, ok := byID["@jupyterlab/notebook-extension:tracker"]
		if !ok {
			t.Fatalf("GET %s: no @jupyterlab/notebook-extension:tracker among %d settings", target, len(list.Settings))
		}
		var schema struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(tracker.Schema, &schema); err != nil || len(schema.Properties) == 0 {
			t.Errorf("tracker schema has no properties (err %v)", err)
		}
		if tracker.Version == "" || tracker.Version == "N/A" {
			t.Errorf("tracker version = %q, want the package version", tracker.Version)
		}
		if tracker.Raw != "{}" || string(tracker.Settings) != "{}" || tracker.LastModified != nil {
			t.Errorf("tracker without user settings: raw %q settings %s last_modified %v", tracker.Raw, tracker.Settings, tracker.LastModified)
		}
		if widgets := byID["@jupyter-widgets/jupyterlab-manager:plugin"]; widgets.Version == "" {
			t.Error("the widget manager's schema (a federated extension's) is missing")
		}
	}
}

func TestSettingsIDsOnly(t *testing.T) {
	_, h := realLab(t)
	list := decodeJSON[map[string][]map[string]any](t, do(t, h, "GET", "/lab/api/settings?ids_only=true", ""))
	if len(list["settings"]) < 50 {
		t.Fatalf("ids_only listed %d plugins", len(list["settings"]))
	}
	for _, s := range list["settings"] {
		if len(s) != 1 || s["id"] == "" {
			t.Fatalf("ids_only item %v, want only an id", s)
		}
	}
}

func TestSettingsRoundTripKeepsRawJSON5(t *testing.T) {
	l, h := realLab(t)
	const id = "@jupyterlab/notebook-extension:tracker"
	raw := "{\n  // my defaults\n  \"codeCellConfig\": {\"lineNumbers\": true, /* on */},\n  \"kernelShutdown\": false,\n}\n"
	body, _ := json.Marshal(map[string]string{"raw": raw})
	if resp := do(t, h, "PUT", "/lab/api/settings/"+id, string(body)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", resp.StatusCode, readBody(t, resp))
	}

	got := decodeJSON[setting](t, do(t, h, "GET", "/lab/api/settings/"+id, ""))
	if got.ID != id || got.Raw != raw {
		t.Errorf("GET after PUT: id %q raw %q; want %q %q", got.ID, got.Raw, id, raw)
	}
	if want := `{"codeCellConfig":{"lineNumbers":true},"kernelShutdown":false}`; string(got.Settings) != want {
		t.Errorf("settings = %s, want %s", got.Settings, want)
	}
	if got.LastModified == nil || got.Created == nil || len(got.Schema) == 0 || got.Version == "" {
		t.Errorf("model lacks times, schema or version: %+v", got)
	}
	stored, err := os.ReadFile(filepath.Join(l.cfg.StateDir, "settings", "@jupyterlab", "notebook-extension", "tracker.jupyterlab-settings"))
	if err != nil || string(stored) != raw {
		t.Errorf("stored file = %q (err %v), want the raw text", stored, err)
	}
	list := decodeJSON[settingsList](t, do(t, h, "GET", "/lab/api/settings", ""))
	for _, s := range list.Settings {
		if s.ID == id && s.Raw != raw {
			t.Errorf("the list shows raw %q, want the saved one", s.Raw)
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	_, h := realLab(t)
	const tracker = "/lab/api/settings/@jupyterlab/notebook-extension:tracker"
	tests := []struct {
		name, method, target, body string
		status                     int
		message                    string
	}{
		{"unknown plugin", "GET", "/lab/api/settings/@nobody/nothing:plugin", "", 404, "no settings schema"},
		{"unknown plugin PUT", "PUT", "/lab/api/settings/@nobody/nothing:plugin", `{"raw": "{}"}`, 404, "no settings schema"},
		{"body not JSON", "PUT", tracker, `{"raw": `, 400, "not valid JSON"},
		{"no raw", "PUT", tracker, `{"settings": {}}`, 400, `{"raw"`},
		{"raw not JSON5", "PUT", tracker, `{"raw": "{kernelShutdown: 'yes'"}`, 400, "not valid"},
		{"raw not an object", "PUT", tracker, `{"raw": "[1, 2]"}`, 400, "not a JSON object"},
		{"unterminated comment", "PUT", tracker, `{"raw": "{} /* oops"}`, 400, "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, tt.method, tt.target, tt.body)
			got := decodeJSON[map[string]string](t, resp)
			if resp.StatusCode != tt.status || !strings.Contains(got["message"], tt.message) {
				t.Errorf("%d %q, want %d with a message containing %q", resp.StatusCode, got["message"], tt.status, tt.message)
			}
		})
	}
}

func TestSettingsFromFixture(t *testing.T) {
	l, h, _ := fixtureLab(t)

	t.Run("defaults overrides of the app dir apply", func(t *testing.T) {
		got := decodeJSON[setting](t, do(t, h, "GET", "/lab/api/settings/@jupyterlab/apputils-extension:themes", ""))
		var schema struct {
			Properties map[string]struct {
				Default any `json:"default"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(got.Schema, &schema); err != nil {
			t.Fatal(err)
		}
		if d := schema.Properties["theme"].Default; d != "JupyterLab Dark" {
			t.Errorf("theme default = %v, want the override", d)
		}
		overrides, _ := json.Marshal(schema.Properties["overrides"].Default)
		if string(overrides) != `{"code-font-size":null,"ui-font-size":"14px"}` {
			t.Errorf("object defaults merge key by key: got %s", overrides)
		}
		if schema.Properties["added"].Default != 1.0 {
			t.Errorf("an override of an unknown setting adds it: got %v", schema.Properties["added"])
		}
		if got.Version != "4.6.5" {
			t.Errorf("version = %q, want the one of package.json.orig", got.Version)
		}
	})

	t.Run("schemas of plain, scoped and extension packages; broken ones left out", func(t *testing.T) {
		list := decodeJSON[settingsList](t, do(t, h, "GET", "/lab/api/settings", ""))
		var ids []string
		for _, s := range list.Settings {
			ids = append(ids, s.ID+"@"+s.Version)
		}
		want := "@hops/lab:plugin@1.0.0 @jupyterlab/apputils-extension:themes@4.6.5 plain-extension:plugin@N/A"
		if strings.Join(ids, " ") != want {
			t.Errorf("settings = %v, want %s", ids, want)
		}
	})

	t.Run("a user file that no longer parses is a warning, not an error", func(t *testing.T) {
		path := filepath.Join(l.cfg.StateDir, "settings", "@hops", "lab", "plugin.jupyterlab-settings")
		if err := atomicfile.WriteFile(path, []byte("{oops"), 0o644); err != nil {
			t.Fatal(err)
		}
		resp := do(t, h, "GET", "/lab/api/settings/@hops/lab:plugin", "")
		got := decodeJSON[setting](t, resp)
		if resp.StatusCode != 200 || got.Raw != "{}" || string(got.Settings) != "{}" || !strings.Contains(got.Warning, "plugin.jupyterlab-settings") {
			t.Errorf("%d %+v", resp.StatusCode, got)
		}
	})
}
