package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/executors/local"
	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/python"
	"github.com/hopsml/hops/server/contents"
	"github.com/hopsml/hops/server/httpjson"
	"github.com/hopsml/hops/versioning"
)

// setupExperiments opens the experiment catalog (.hops/experiments.db) and starts the service that
// runs %%hops run cells on the configured executor (local processes by default, GPUs from NVML).
func (s *Server) setupExperiments() error {
	sdkDir := filepath.Join(s.runtimeDir, "python")
	if err := python.Install(sdkDir); err != nil {
		return fmt.Errorf("install the hops SDK for trials: %w", err)
	}
	backend := s.cfg.Executor
	if backend == nil {
		cfg := local.Config{Python: s.cfg.Python, Env: os.Environ()}
		if s.gpuHost != nil {
			inv, err := s.gpuHost.Inventory()
			if err == nil {
				s.gpuAlloc = gpu.NewAllocator(inv.Devices)
				cfg.GPUs, cfg.Host = s.gpuAlloc, s.gpuHost
			}
			cfg.NoGPUs = err
		} else {
			cfg.NoGPUs = s.gpuErr
		}
		backend = local.New(cfg)
	}
	catalog, err := experiments.OpenCatalog(filepath.Join(s.stateDir, "experiments.db"))
	if err != nil {
		return err
	}
	s.catalog = catalog
	s.snapshots = &experiments.Snapshotter{Python: s.cfg.Python, GPUs: s.gpus}
	pythonPath := sdkDir
	if p := os.Getenv("PYTHONPATH"); p != "" {
		pythonPath += string(os.PathListSeparator) + p
	}
	svc, err := experiments.NewService(experiments.Config{
		Catalog:   catalog,
		Store:     s.cfg.Store,
		Backend:   backend,
		Versions:  notebookVersions{s.history},
		Workspace: s.cfg.Root,
		Scratch:   filepath.Join(s.stateDir, "runs"),
		TrialEnv: []string{"PYTHONPATH=" + pythonPath, "HOPS_SERVER_URL=" + s.baseURL(), "HOPS_TOKEN=" + s.cfg.Token,
			"MPLBACKEND=Agg"},
		Snapshot: s.snapshots.Snapshot,
		Log:      s.log,
	})
	if err != nil {
		return err
	}
	s.experiments = svc
	return nil
}

// notebookVersions answers the experiment service's question about a notebook's last saved version
// from the workspace's git history.
type notebookVersions struct{ h *history }

func (n notebookVersions) LastVersion(ctx context.Context, p string) (string, []byte, error) {
	if n.h.repo == nil {
		return "", nil, n.h.err
	}
	vs, _, err := n.h.repo.Log(p, 1, "")
	if err != nil || len(vs) == 0 || vs[0].Deleted {
		if errors.Is(err, versioning.ErrNotFound) {
			err = nil
		}
		return "", nil, err
	}
	data, err := n.h.repo.Show(p, vs[0].Commit)
	return vs[0].Commit, data, err
}

func (s *Server) experimentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/hops/experiments", s.handleExperimentList)
	mux.HandleFunc("POST /api/hops/experiments", s.handleExperimentStart)
	mux.HandleFunc("GET /api/hops/experiments/{id}", s.handleExperimentGet)
	mux.HandleFunc("GET /api/hops/experiments/{id}/events", s.handleExperimentEvents)
	mux.HandleFunc("POST /api/hops/experiments/{id}/stop", s.handleExperimentStop)
	mux.HandleFunc("POST /api/hops/experiments/{id}/checkout", s.handleExperimentCheckout)
}

// checkoutResult says where a checkout put the notebook and its environment.
type checkoutResult struct {
	Notebook    string `json:"notebook,omitempty"` // workspace path of the notebook as it was at Commit
	Branch      string `json:"branch,omitempty"`   // with {"branch": true}: the git branch at Commit instead
	Environment string `json:"environment"`        // workspace path of the requirements it ran with; "" without a snapshot
	Commit      string `json:"commit"`
	// PythonVersion is the Python the experiment ran on, to build the environment with.
	PythonVersion string `json:"python_version,omitempty"`
	Note          string `json:"note,omitempty"`
}

// handleExperimentCheckout writes the notebook of an experiment as it was at the recorded commit
// next to the current one, as <name>@<short id>.ipynb, byte for byte (or, with {"branch": true},
// makes the git branch experiments/<id> at that commit), with the Python packages it ran with as
// <name>@<short id>.requirements.txt. The files are saved as versions like any file.
func (s *Server) handleExperimentCheckout(w http.ResponseWriter, r *http.Request) {
	var opts struct {
		Branch bool `json:"branch"`
	}
	if err := httpjson.Decode(r, &opts, 0, true); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	e, err := s.experiments.Get(r.Context(), r.PathValue("id"), false)
	if err != nil {
		experimentError(w, err)
		return
	}
	switch {
	case e.Notebook == "":
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest,
			"experiment %s ran outside a notebook, so there is none to check out; its code is in %s/program.py on the project store", e.ID, e.Location))
		return
	case e.Commit == "" || s.history.repo == nil:
		httpjson.WriteError(w, httpjson.Errorf(http.StatusConflict,
			"%s had never been saved when experiment %s ran, so no version of it was recorded; its code is in %s/program.py on the project store", e.Notebook, e.ID, e.Location))
		return
	}
	data, err := s.history.repo.Show(e.Notebook, e.Commit)
	if err != nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusConflict, "the version %s of %s is gone from the workspace's history: %v", e.Commit[:7], e.Notebook, err))
		return
	}
	short := e.ID[strings.LastIndexByte(e.ID, '-')+1:]
	base := strings.TrimSuffix(e.Notebook, ".ipynb") + "@" + short
	res := checkoutResult{Commit: e.Commit}
	files := map[string][]byte{}
	if opts.Branch {
		res.Branch = "experiments/" + e.ID
	} else {
		res.Notebook = base + ".ipynb"
		files[res.Notebook] = data
	}
	if env := e.Environment; env != nil && env.Python != nil {
		res.Environment, res.PythonVersion = base+".requirements.txt", env.Python.Version
		files[res.Environment] = requirements(e)
	}
	for p := range files {
		if _, err := s.contents.Get(r.Context(), p, contents.GetOptions{}); err == nil {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusConflict,
				"%s already exists: open it, or rename or delete it and check out again", p))
			return
		}
	}
	if res.Branch != "" {
		if err := s.history.repo.Branch(res.Branch, e.Commit); err != nil {
			if errors.Is(err, versioning.ErrExists) {
				err = httpjson.Errorf(http.StatusConflict, "branch %s already exists: check it out with git, or delete it and check out again", res.Branch)
			}
			httpjson.WriteError(w, err)
			return
		}
	}
	for _, p := range []string{res.Notebook, res.Environment} {
		if p == "" {
			continue
		}
		content, _ := json.Marshal(string(files[p]))
		if _, _, err := s.contents.Save(r.Context(), p, contents.SaveRequest{Type: contents.TypeFile, Format: "text", Content: content}); err != nil {
			httpjson.WriteError(w, err)
			return
		}
	}
	if e.CodeChanged {
		res.Note = "the cell that ran had been edited after this save; the code that ran is in " + e.Location + "/program.py"
	}
	httpjson.Write(w, http.StatusCreated, res)
}

// requirements is the pip requirements file of the packages an experiment ran with.
func requirements(e *experiments.Experiment) []byte {
	var b strings.Builder
	py := e.Environment.Python
	fmt.Fprintf(&b, "# The Python packages experiment %s ran with: Python %s, %s, recorded %s.\n", e.ID, py.Version,
		e.Environment.Hops, e.Environment.Captured.Format(time.RFC3339))
	minor := py.Version
	if parts := strings.Split(minor, "."); len(parts) >= 2 {
		minor = parts[0] + "." + parts[1]
	}
	fmt.Fprintf(&b, "# Recreate them: python%s -m venv .venv && .venv/bin/pip install -r <this file>\n", minor)
	for _, p := range py.Packages {
		fmt.Fprintf(&b, "%s==%s\n", p.Name, p.Version)
	}
	return []byte(b.String())
}

func experimentError(w http.ResponseWriter, err error) {
	var bad *experiments.RequestError
	switch {
	case errors.As(err, &bad):
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "%s", bad.Msg))
	case errors.Is(err, experiments.ErrNotFound):
		httpjson.WriteError(w, httpjson.Errorf(http.StatusNotFound, "%s", err.Error()))
	default:
		httpjson.WriteError(w, err)
	}
}

func (s *Server) handleExperimentStart(w http.ResponseWriter, r *http.Request) {
	var req experiments.Request
	if err := httpjson.Decode(r, &req, 0, false); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	e, err := s.experiments.Start(r.Context(), req)
	if err != nil {
		experimentError(w, err)
		return
	}
	w.Header().Set("Location", "/api/hops/experiments/"+e.ID)
	httpjson.Write(w, http.StatusCreated, e)
}

func (s *Server) handleExperimentList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := experiments.ListOptions{Name: q.Get("name"), Before: q.Get("before")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "limit=%s: give a number from 1 to 1000", v))
			return
		}
		o.Limit = n
	}
	list, err := s.experiments.List(r.Context(), o)
	if err != nil {
		experimentError(w, err)
		return
	}
	if list == nil {
		list = []*experiments.Experiment{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"experiments": list})
}

func (s *Server) handleExperimentGet(w http.ResponseWriter, r *http.Request) {
	full := true
	if v := r.URL.Query().Get("timelines"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "timelines=%s: give true or false", v))
			return
		}
		full = b
	}
	e, err := s.experiments.Get(r.Context(), r.PathValue("id"), full)
	if err != nil {
		experimentError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, e)
}

// handleExperimentEvents streams a run's events as JSON lines until it ends; since=N skips the
// events a reconnecting client already has.
func (s *Server) handleExperimentEvents(w http.ResponseWriter, r *http.Request) {
	since := 0
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "since=%s: give the seq of the last event you have (0 for all)", v))
			return
		}
		since = n
	}
	id := r.PathValue("id")
	if _, err := s.experiments.Get(r.Context(), id, false); err != nil {
		experimentError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	err := s.experiments.Follow(r.Context(), id, since, func(e experiments.Event) error {
		if err := enc.Encode(e); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		s.log.Warn("experiment events", "id", id, "err", err)
	}
}

func (s *Server) handleExperimentStop(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.experiments.Stop(id); err != nil {
		experimentError(w, err)
		return
	}
	httpjson.Write(w, http.StatusAccepted, map[string]string{"message": "stopping experiment " + id})
}

// gpuHolders are the trials holding each GPU, for /api/hops/gpus.
func (s *Server) gpuHolders() map[string]string {
	out := map[string]string{}
	if s.gpuAlloc == nil {
		return out
	}
	for i, h := range s.gpuAlloc.Holders() {
		out[strconv.Itoa(i)] = h
	}
	return out
}
