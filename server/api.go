package server

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/internal/atomicfile"
	"github.com/hopsml/hops/internal/buildinfo"
	"github.com/hopsml/hops/server/httpjson"
)

// OpenAPISpec documents /api/hops/, the project API that the frontend, the kernel, the Python SDK
// and the CLI share.
//
//go:embed openapi.yaml
var OpenAPISpec []byte

// jupyterServerVersion is the Jupyter Server API version hops implements, reported by GET /api.
const jupyterServerVersion = "2.21.1"

func (s *Server) handleAPIVersion(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"version": jupyterServerVersion})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	connections := 0
	kernels := s.kernels.list()
	for _, k := range kernels {
		connections += k.model().Connections
	}
	httpjson.Write(w, http.StatusOK, map[string]any{
		"started": isoTime(s.started), "last_activity": isoTime(s.lastActivity()),
		"kernels": len(kernels), "connections": connections,
	})
}

// handleMe describes the one user of this server and grants every permission asked about: whoever
// holds the token owns the workspace.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	permissions := map[string][]string{}
	if p := r.URL.Query().Get("permissions"); p != "" {
		if err := json.Unmarshal([]byte(p), &permissions); err != nil {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest,
				`permissions must be a JSON object of resource to actions, like {"contents":["read"]}: %v`, err))
			return
		}
	}
	name := "hops"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	initials := strings.ToUpper(name[:1])
	httpjson.Write(w, http.StatusOK, map[string]any{
		"identity": map[string]any{"username": name, "name": name, "display_name": name, "initials": initials,
			"avatar_url": nil, "color": nil},
		"permissions": permissions,
	})
}

// configSection is the name syntax of /api/config sections; it is also a file name.
var configSection = regexp.MustCompile(`^[\w-]+$`)

// handleConfig serves frontend config sections stored as JSON under .hops/config; PATCH merges
// recursively, a null value deleting its key, as jupyter_server does.
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	section := r.PathValue("section")
	if !configSection.MatchString(section) {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "config section %q: use letters, digits, '_' and '-'", section))
		return
	}
	path := filepath.Join(s.stateDir, "config", section+".json")
	s.configMu.Lock()
	defer s.configMu.Unlock()
	current := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &current); err != nil {
			current = map[string]any{} // a damaged section starts over rather than breaking the UI
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		httpjson.WriteError(w, err)
		return
	}
	if r.Method == http.MethodPatch {
		var patch map[string]any
		if err := httpjson.Decode(r, &patch, 1<<20, false); err != nil {
			httpjson.WriteError(w, err)
			return
		}
		mergeConfig(current, patch)
		b, _ := json.MarshalIndent(current, "", "  ")
		if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
			httpjson.WriteError(w, err)
			return
		}
	}
	httpjson.Write(w, http.StatusOK, current)
}

func mergeConfig(dst, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			if dv, ok := dst[k].(map[string]any); ok {
				mergeConfig(dv, pv)
				continue
			}
			dst[k] = pv
		default:
			dst[k] = v
		}
	}
}

// handleEvents accepts JupyterLab's event-bus websocket. hops emits no server events yet; holding the
// socket open keeps the browser from retrying it forever.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: s.auth.checkOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}

func (s *Server) handleShutdown(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"message": "hops lab is shutting down"})
	go s.stop()
}

// handleHopsVersion reports what is running: hops, Go and the platform.
func (s *Server) handleHopsVersion(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{
		"version": buildinfo.Version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH,
		"jupyter_server_api": jupyterServerVersion, "started": isoTime(s.started),
	})
}

// handleGPUs lists this host's GPUs through NVML. No GPU or no driver is not an error: the list is
// empty and "error" says why, so the UI can show it.
func (s *Server) handleGPUs(w http.ResponseWriter, r *http.Request) {
	inv, err := s.gpus()
	out := map[string]any{"driver": inv.Driver, "cuda": inv.CUDA, "devices": inv.Devices, "error": nil,
		"holders": s.gpuHolders()}
	if inv.Devices == nil {
		out["devices"] = []gpu.Device{}
	}
	if err != nil {
		out["error"] = err.Error()
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(OpenAPISpec)
}

// lastActivity is the latest activity of any kernel (a message either way), or the server's start.
func (s *Server) lastActivity() time.Time {
	t := s.started
	for _, k := range s.kernels.list() {
		k.mu.Lock()
		if k.lastActivity.After(t) {
			t = k.lastActivity
		}
		k.mu.Unlock()
	}
	return t
}
