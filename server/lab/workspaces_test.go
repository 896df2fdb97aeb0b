package lab

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type workspace struct {
	Data     map[string]any `json:"data"`
	Metadata map[string]any `json:"metadata"`
}

func TestWorkspaceLifecycle(t *testing.T) {
	l, h, _ := fixtureLab(t)

	empty := decodeJSON[workspace](t, do(t, h, "GET", "/lab/api/workspaces/default", ""))
	if len(empty.Data) != 0 || empty.Metadata["id"] != "default" {
		t.Errorf("unsaved workspace = %+v, want empty data and metadata.id default", empty)
	}

	saved := `{"data":{"layout-restorer:data":{"main":{"current":"notebook:a.ipynb"}}},"metadata":{"id":"default"}}`
	if resp := do(t, h, "PUT", "/lab/api/workspaces/default", saved); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", resp.StatusCode, readBody(t, resp))
	}
	if _, err := os.Stat(filepath.Join(l.cfg.StateDir, "workspaces", "default.jupyterlab-workspace")); err != nil {
		t.Errorf("workspace file: %v", err)
	}
	got := decodeJSON[workspace](t, do(t, h, "GET", "/lab/api/workspaces/default", ""))
	if restorer, _ := got.Data["layout-restorer:data"].(map[string]any); restorer == nil {
		t.Errorf("GET after PUT lost the data: %+v", got)
	}
	if got.Metadata["id"] != "default" || got.Metadata["last_modified"] == nil || got.Metadata["created"] == nil {
		t.Errorf("metadata = %v, want id and file times", got.Metadata)
	}

	// A leading "/" in metadata.id is accepted, as jupyterlab_server does.
	if resp := do(t, h, "PUT", "/lab/api/workspaces/other", `{"data":{},"metadata":{"id":"/other"}}`); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT with /id: %d %s", resp.StatusCode, readBody(t, resp))
	}
	for _, target := range []string{"/lab/api/workspaces", "/lab/api/workspaces/"} {
		list := decodeJSON[map[string]struct {
			IDs    []string    `json:"ids"`
			Values []workspace `json:"values"`
		}](t, do(t, h, "GET", target, ""))["workspaces"]
		if strings.Join(list.IDs, ",") != "default,/other" || len(list.Values) != 2 {
			t.Errorf("GET %s: ids %v, %d values", target, list.IDs, len(list.Values))
		}
	}

	if resp := do(t, h, "DELETE", "/lab/api/workspaces/default", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if resp := do(t, h, "DELETE", "/lab/api/workspaces/default", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", resp.StatusCode)
	}
	if got := decodeJSON[workspace](t, do(t, h, "GET", "/lab/api/workspaces/default", "")); len(got.Data) != 0 {
		t.Errorf("deleted workspace still has data: %v", got.Data)
	}
}

func TestWorkspaceBadRequests(t *testing.T) {
	_, h, _ := fixtureLab(t)
	valid := func(id string) string {
		b, _ := json.Marshal(map[string]any{"data": map[string]any{}, "metadata": map[string]any{"id": id}})
		return string(b)
	}
	tests := []struct {
		name, method, target, body string
		message                    string
	}{
		{"slash in name", "PUT", "/lab/api/workspaces/a/b", valid("a/b"), "invalid workspace name"},
		{"encoded slash", "GET", "/lab/api/workspaces/a%2Fb", "", "invalid workspace name"},
		{"dot dot", "PUT", "/lab/api/workspaces/a..b", valid("a..b"), "invalid workspace name"},
		{"escape", "DELETE", "/lab/api/workspaces/..%2F..%2Fsettings", "", "invalid workspace name"},
		{"backslash", "PUT", "/lab/api/workspaces/a%5Cb", valid(`a\b`), "invalid workspace name"},
		{"hidden", "PUT", "/lab/api/workspaces/.hidden", valid(".hidden"), "invalid workspace name"},
		{"id mismatch", "PUT", "/lab/api/workspaces/mine", valid("yours"), "does not match"},
		{"no id", "PUT", "/lab/api/workspaces/mine", `{"data": {}, "metadata": {}}`, "no metadata.id"},
		{"malformed JSON", "PUT", "/lab/api/workspaces/mine", `{"data": {`, "not valid JSON"},
		{"data not an object", "PUT", "/lab/api/workspaces/mine", `{"data": [], "metadata": {"id": "mine"}}`, "workspace must be"},
		{"empty body", "PUT", "/lab/api/workspaces/mine", ``, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, tt.method, tt.target, tt.body)
			got := decodeJSON[map[string]string](t, resp)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(got["message"], tt.message) {
				t.Errorf("%s %s: %d %q, want 400 with %q", tt.method, tt.target, resp.StatusCode, got["message"], tt.message)
			}
		})
	}
}
