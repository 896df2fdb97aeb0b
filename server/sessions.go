package server

import (
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/hopsml/hops/server/httpjson"
)

// sessions binds documents (a notebook, a console) to kernels, as /api/sessions does.
type sessions struct {
	kernels *kernelManager
	mu      sync.Mutex
	byID    map[string]*session
}

type session struct {
	ID       string
	Path     string
	Name     string
	Type     string
	KernelID string
}

// sessionRequest is the body of POST and PATCH /api/sessions.
type sessionRequest struct {
	Path   *string `json:"path"`
	Name   *string `json:"name"`
	Type   *string `json:"type"`
	Kernel *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"kernel"`
}

func (ss *sessions) model(s *session) map[string]any {
	m := map[string]any{"id": s.ID, "path": s.Path, "name": s.Name, "type": s.Type, "kernel": nil}
	if k, err := ss.kernels.get(s.KernelID); err == nil {
		m["kernel"] = k.model()
	}
	if s.Type == "notebook" { // deprecated, still read by older clients
		m["notebook"] = map[string]string{"path": s.Path, "name": s.Name}
	}
	return m
}

// kernelGone forgets the sessions of a kernel that was shut down directly.
func (ss *sessions) kernelGone(kernelID string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, s := range ss.byID {
		if s.KernelID == kernelID {
			delete(ss.byID, id)
		}
	}
}

func (s *Server) handleSessionList(w http.ResponseWriter, r *http.Request) {
	s.sessions.mu.Lock()
	list := make([]*session, 0, len(s.sessions.byID))
	for _, ss := range s.sessions.byID {
		list = append(list, ss)
	}
	s.sessions.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	out := []map[string]any{}
	for _, ss := range list {
		out = append(out, s.sessions.model(ss))
	}
	httpjson.Write(w, http.StatusOK, out)
}

// handleSessionCreate starts a session, or returns the existing one for the path, as jupyter_server
// does, so that two browser tabs on one notebook share its kernel.
func (s *Server) handleSessionCreate(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	if err := httpjson.Decode(r, &req, 1<<20, false); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	if req.Path == nil || *req.Path == "" {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, `a session needs a "path" (the document it is for)`))
		return
	}
	typ, name := "notebook", ""
	if req.Type != nil {
		typ = *req.Type
	}
	if req.Name != nil {
		name = *req.Name
	}
	s.sessions.mu.Lock()
	for _, ss := range s.sessions.byID {
		if ss.Path == *req.Path && ss.Type == typ {
			if _, err := s.kernels.get(ss.KernelID); err == nil {
				s.sessions.mu.Unlock()
				httpjson.Write(w, http.StatusCreated, s.sessions.model(ss))
				return
			}
		}
	}
	s.sessions.mu.Unlock()

	k, err := s.sessionKernel(req, notebookPath(*req.Path, name))
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	ss := &session{ID: uuid.NewString(), Path: *req.Path, Name: name, Type: typ, KernelID: k.ID}
	s.sessions.mu.Lock()
	s.sessions.byID[ss.ID] = ss
	s.sessions.mu.Unlock()
	w.Header().Set("Location", "/api/sessions/"+ss.ID)
	httpjson.Write(w, http.StatusCreated, s.sessions.model(ss))
}

// sessionKernel finds the kernel a session request names by id, or starts one by name.
func (s *Server) sessionKernel(req sessionRequest, path string) (*Kernel, error) {
	if req.Kernel != nil && req.Kernel.ID != "" {
		return s.kernels.get(req.Kernel.ID)
	}
	name := ""
	if req.Kernel != nil {
		name = req.Kernel.Name
	}
	return s.kernels.start(name, path)
}

func (s *Server) sessionFromPath(w http.ResponseWriter, r *http.Request) *session {
	id := r.PathValue("id")
	s.sessions.mu.Lock()
	ss := s.sessions.byID[id]
	s.sessions.mu.Unlock()
	if ss == nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusNotFound, "no session with id %s; GET /api/sessions lists them", id))
	}
	return ss
}

func (s *Server) handleSessionGet(w http.ResponseWriter, r *http.Request) {
	if ss := s.sessionFromPath(w, r); ss != nil {
		httpjson.Write(w, http.StatusOK, s.sessions.model(ss))
	}
}

// handleSessionPatch renames a session or changes its kernel: a kernel name starts a new kernel and
// shuts the old one down; a kernel id rebinds the session.
func (s *Server) handleSessionPatch(w http.ResponseWriter, r *http.Request) {
	ss := s.sessionFromPath(w, r)
	if ss == nil {
		return
	}
	var req sessionRequest
	if err := httpjson.Decode(r, &req, 1<<20, false); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	var old *Kernel
	if req.Kernel != nil && (req.Kernel.ID != "" || req.Kernel.Name != "") {
		path := ss.Path
		if req.Path != nil {
			path = *req.Path
		}
		k, err := s.sessionKernel(req, path)
		if err != nil {
			httpjson.WriteError(w, err)
			return
		}
		if k.ID != ss.KernelID && req.Kernel.ID == "" {
			old, _ = s.kernels.get(ss.KernelID)
		}
		s.sessions.mu.Lock()
		ss.KernelID = k.ID
		s.sessions.mu.Unlock()
	}
	s.sessions.mu.Lock()
	if req.Path != nil {
		ss.Path = *req.Path
	}
	if req.Name != nil {
		ss.Name = *req.Name
	}
	if req.Type != nil {
		ss.Type = *req.Type
	}
	s.sessions.mu.Unlock()
	if old != nil {
		go old.shutdown()
	}
	httpjson.Write(w, http.StatusOK, s.sessions.model(ss))
}

func (s *Server) handleSessionDelete(w http.ResponseWriter, r *http.Request) {
	ss := s.sessionFromPath(w, r)
	if ss == nil {
		return
	}
	s.sessions.mu.Lock()
	delete(s.sessions.byID, ss.ID)
	s.sessions.mu.Unlock()
	k, err := s.kernels.get(ss.KernelID)
	if err != nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusGone, "the kernel of session %s is already gone", ss.ID))
		return
	}
	k.shutdown()
	w.WriteHeader(http.StatusNoContent)
}

// notebookPath is the document a new session is for. JupyterLab starts a notebook's session under a
// temporary path (a UUID beside the notebook) with the notebook's name, and moves the session to the
// notebook's path once the kernel runs; the kernel is told the notebook's path from the start.
func notebookPath(p, name string) string {
	dir, base := path.Split(p)
	if name == "" || strings.Contains(name, "/") || uuid.Validate(base) != nil {
		return p
	}
	return dir + name
}
