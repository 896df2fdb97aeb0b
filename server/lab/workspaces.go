package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hopsml/hops/internal/atomicfile"
	"github.com/hopsml/hops/server/httpjson"
)

// workspaceFileExt is the extension JupyterLab gives saved workspaces.
const workspaceFileExt = ".jupyterlab-workspace"

// maxWorkspaceBody bounds a workspace PUT: the layout and the state of every open document.
const maxWorkspaceBody = 64 << 20

// workspaceStore keeps JupyterLab workspaces (layout and state, saved by the frontend after every
// change) as dir/<name>.jupyterlab-workspace, each the JSON the frontend sent.
type workspaceStore struct {
	dir string
}

// path returns the file of workspace name, or a 400 error for a name that is no plain file name.
func (s *workspaceStore) path(name string) (string, error) {
	switch {
	case name == "":
		return "", httpjson.Errorf(http.StatusBadRequest, "workspace name is required")
	case strings.ContainsAny(name, `/\`+"\x00") || strings.Contains(name, "..") || strings.HasPrefix(name, "."):
		return "", httpjson.Errorf(http.StatusBadRequest,
			"invalid workspace name %q: no path separators, no leading dot, no ..", name)
	case len(name) > 200:
		return "", httpjson.Errorf(http.StatusBadRequest, "workspace name is longer than 200 bytes")
	}
	return filepath.Join(s.dir, name+workspaceFileExt), nil
}

// loadWorkspace reads a saved workspace, with its file times in metadata as jupyterlab_server reports them.
func loadWorkspace(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var ws map[string]any
	if err := json.Unmarshal(data, &ws); err != nil || ws == nil {
		return nil, fmt.Errorf("workspace %s is not a JSON object: %v", path, err)
	}
	meta, _ := ws["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		ws["metadata"] = meta
	}
	modified := info.ModTime().UTC().Format(time.RFC3339Nano)
	meta["last_modified"], meta["created"] = modified, modified
	return ws, nil
}

// listWorkspaces answers GET /lab/api/workspaces[/]: {"workspaces": {"ids": [...], "values": [...]}}.
func (l *Lab) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	entries, err := os.ReadDir(l.workspaces.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		httpjson.WriteError(w, fmt.Errorf("list workspaces: %w", err))
		return
	}
	ids, values := []string{}, []map[string]any{} // in file name order: os.ReadDir sorts
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), workspaceFileExt) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		ws, err := loadWorkspace(filepath.Join(l.workspaces.dir, e.Name()))
		if err != nil {
			l.log.Warn("skipping unreadable workspace", "file", e.Name(), "err", err)
			continue
		}
		id, _ := ws["metadata"].(map[string]any)["id"].(string)
		if id == "" {
			id = strings.TrimSuffix(e.Name(), workspaceFileExt)
		}
		ids = append(ids, id)
		values = append(values, ws)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"workspaces": map[string]any{"ids": ids, "values": values}})
}

// getWorkspace answers GET /lab/api/workspaces/{name}: the saved workspace, or an empty one.
func (l *Lab) getWorkspace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		l.listWorkspaces(w, r)
		return
	}
	path, err := l.workspaces.path(name)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	ws, err := loadWorkspace(path)
	if errors.Is(err, fs.ErrNotExist) {
		ws = map[string]any{"data": map[string]any{}, "metadata": map[string]any{"id": name}}
	} else if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, ws)
}

// putWorkspace answers PUT /lab/api/workspaces/{name} {data, metadata: {id}} with 204 once the
// body is stored as sent. metadata.id must name the same workspace, with or without a leading "/".
func (l *Lab) putWorkspace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	path, err := l.workspaces.path(name)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	var raw json.RawMessage
	if err := httpjson.Decode(r, &raw, maxWorkspaceBody, false); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	var ws struct {
		Data     map[string]json.RawMessage `json:"data"` // decoded only to check that it is an object
		Metadata struct {
			ID *string `json:"id"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &ws); err != nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest,
			"workspace must be {\"data\": {...}, \"metadata\": {\"id\": %q}}: %v", name, err))
		return
	}
	if ws.Metadata.ID == nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "workspace has no metadata.id (expected %q)", name))
		return
	}
	id, err := url.PathUnescape(strings.TrimPrefix(*ws.Metadata.ID, "/"))
	if err != nil || id != name {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest,
			"workspace metadata.id %q does not match the workspace name %q", *ws.Metadata.ID, name))
		return
	}
	if err := atomicfile.WriteFile(path, raw, 0o644); err != nil {
		httpjson.WriteError(w, fmt.Errorf("save workspace %s: %w", name, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteWorkspace answers DELETE /lab/api/workspaces/{name} with 204, or 404 if there is none.
func (l *Lab) deleteWorkspace(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	path, err := l.workspaces.path(name)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = httpjson.Errorf(http.StatusNotFound, "no workspace named %q", name)
		}
		httpjson.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
