package lab

import (
	"encoding/csv"
	"strings"
	"testing"
)

func TestSmallEndpoints(t *testing.T) {
	_, h, _ := fixtureLab(t)
	tests := []struct {
		target string
		status int
		body   string
	}{
		{"/lab/api/translations", 200, `{"data":{"en":{"displayName":"English","nativeName":"English"}},"message":""}`},
		{"/lab/api/translations/", 200, `{"data":{"en":{"displayName":"English","nativeName":"English"}},"message":""}`},
		{"/lab/api/translations/default", 200, `{"data":{},"message":""}`},
		{"/lab/api/translations/fr_FR", 200, `{"data":{},"message":""}`},
		{"/lab/api/listings/@jupyterlab/extensionmanager-extension/listings.json", 200,
			`{"allowed_extensions":[],"allowed_extensions_uris":[],"blocked_extensions":[],"blocked_extensions_uris":[]}`},
		{"/lab/api/plugins", 200, `{"allLocked":true,"lockRules":[]}`},
		{"/lsp/status", 200, `{"sessions":{},"specs":{},"version":2}`},
		{"/api/nbconvert", 200, `{}`},
	}
	for _, tt := range tests {
		resp := do(t, h, "GET", tt.target, "")
		if body := readBody(t, resp); resp.StatusCode != tt.status || body != tt.body {
			t.Errorf("GET %s: %d %s\nwant %d %s", tt.target, resp.StatusCode, body, tt.status, tt.body)
		}
	}
	for _, target := range []string{"/lab/api/listings/other.json", "/lab/api/nothing", "/lab/api/build"} {
		resp := do(t, h, "GET", target, "")
		if msg := decodeJSON[map[string]string](t, resp)["message"]; resp.StatusCode != 404 || msg == "" {
			t.Errorf("GET %s: %d %q, want a JSON 404", target, resp.StatusCode, msg)
		}
	}
}

func TestLicenses(t *testing.T) {
	t.Run("installed", func(t *testing.T) {
		_, h := realLab(t)
		got := decodeJSON[map[string]map[string]licenseBundle](t, do(t, h, "GET", "/lab/api/licenses/?format=json&full_text=true", ""))
		if n := len(got["bundles"]["@jupyterlab/application-top"].Packages); n < 100 {
			t.Errorf("JupyterLab bundle lists %d packages", n)
		}
		if len(got["bundles"]["@jupyter-widgets/jupyterlab-manager"].Packages) == 0 {
			t.Error("the widget manager's bundle has no packages")
		}
	})

	_, h, _ := fixtureLab(t)
	tests := []struct {
		query       string
		contentType string
		check       func(body string) bool
	}{
		{"", "application/json", func(b string) bool {
			return strings.Contains(b, `"@jupyterlab/application-top":{"packages":[{"name":"lumino"`) &&
				strings.Contains(b, `"plain_ext":{"packages":[{"name":"left-pad"`) && strings.Contains(b, `"@hops/lab":{"packages":[]}`)
		}},
		{"?bundles=plain", "application/json", func(b string) bool {
			return b == `{"bundles":{"plain_ext":{"packages":[{"name":"left-pad","versionInfo":"1.3.0","licenseId":"WTFPL","extractedText":""}]}}}`
		}},
		{"?format=csv", "text/csv; charset=utf-8", func(b string) bool {
			rows, err := csv.NewReader(strings.NewReader(b)).ReadAll()
			return err == nil && len(rows) == 3 && rows[1][0] == "@jupyterlab/application-top" && rows[1][4] == "Copyright lumino"
		}},
		{"?format=markdown", "text/markdown; charset=utf-8", func(b string) bool { return strings.Contains(b, "Copyright lumino") }},
		{"?format=markdown&full_text=false", "text/markdown; charset=utf-8", func(b string) bool {
			return strings.Contains(b, "**lumino**") && !strings.Contains(b, "Copyright lumino")
		}},
	}
	for _, tt := range tests {
		resp := do(t, h, "GET", "/lab/api/licenses/"+tt.query, "")
		body := readBody(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.contentType || !tt.check(body) {
			t.Errorf("licenses %s: %d %s\n%s", tt.query, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp := do(t, h, "GET", "/lab/api/licenses?format=csv&download=1", ""); resp.Header.Get("Content-Disposition") != `attachment; filename="jupyterlab-licenses.csv"` {
		t.Errorf("download: Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	}
	for _, q := range []string{"?format=pdf", "?bundles=(("} {
		if resp := do(t, h, "GET", "/lab/api/licenses/"+q, ""); resp.StatusCode != 400 {
			t.Errorf("licenses %s: %d, want 400", q, resp.StatusCode)
		}
	}
}
