package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/hopsml/hops/server/contents"
	"github.com/hopsml/hops/server/httpjson"
	"github.com/hopsml/hops/versioning"
)

// history wires the workspace's git history into hops lab: contents hooks commit every save,
// rename and delete; the checkpoints API lists and restores git versions; /api/hops/versions and
// /api/hops/diff serve the Versions panel and %hops versions / %hops diff.
type history struct {
	repo *versioning.Repo // nil when the workspace could not be made a repository
	err  error            // why repo is nil
	log  *slog.Logger

	mu     sync.Mutex
	failed map[string]string // workspace path -> why its last change is not in history
}

func newHistory(root string, s *Server) *history {
	h := &history{log: s.log, failed: map[string]string{}}
	h.repo, h.err = versioning.Open(root, versioning.Options{Log: s.log})
	if h.err != nil {
		s.log.Error("notebook history is off: the workspace could not be opened as a git repository", "err", h.err)
	}
	return h
}

// hooks returns the contents options that record changes. A change that cannot be committed is
// still saved (the file is on disk and the request succeeds); the failure is logged and reported
// with the file's versions until a later change of it is recorded.
func (h *history) hooks(o contents.Options) contents.Options {
	if h.repo == nil {
		return o
	}
	o.AfterSave = func(ctx context.Context, p string) error {
		_, err := h.repo.Save(ctx, p)
		h.note(err, p)
		return nil
	}
	o.AfterRename = func(ctx context.Context, from, to string) error {
		_, err := h.repo.Rename(ctx, from, to)
		h.note(err, to)
		return nil
	}
	o.AfterDelete = func(ctx context.Context, p string) error {
		_, err := h.repo.Delete(ctx, p)
		h.note(err, p)
		return nil
	}
	o.Checkpoints = gitCheckpoints{h.repo}
	return o
}

func (h *history) note(err error, p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.failed, p)
		return
	}
	h.log.Error("a change was saved but not recorded in history", "path", p, "err", err)
	h.failed[p] = "the last change of " + p + " was saved but is not in its history: " + err.Error()
}

func (h *history) failure(p string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed[p]
}

// gitCheckpoints are JupyterLab's checkpoints as git versions: a checkpoint's id is a commit.
type gitCheckpoints struct{ repo *versioning.Repo }

// unrecordedID is the checkpoint id of a file git does not record (it matches .gitignore):
// JupyterLab creates a checkpoint after every save, which must not fail for such a file.
const unrecordedID = "unrecorded"

func (g gitCheckpoints) Create(ctx context.Context, p string) (*contents.Checkpoint, error) {
	if _, err := g.repo.Save(ctx, p); err != nil {
		return nil, versionError(err)
	}
	vs, _, err := g.repo.Log(p, 1, "")
	if errors.Is(err, versioning.ErrNotFound) {
		return &contents.Checkpoint{ID: unrecordedID}, nil
	}
	if err != nil {
		return nil, versionError(err)
	}
	return &contents.Checkpoint{ID: vs[0].Commit, LastModified: contents.Time{Time: vs[0].Time}}, nil
}

func (g gitCheckpoints) List(ctx context.Context, p string) ([]contents.Checkpoint, error) {
	vs, _, err := g.repo.Log(p, maxVersionsPage, "")
	if errors.Is(err, versioning.ErrNotFound) {
		return []contents.Checkpoint{}, nil
	}
	if err != nil {
		return nil, versionError(err)
	}
	cps := make([]contents.Checkpoint, 0, len(vs))
	for _, v := range vs {
		if !v.Deleted {
			cps = append(cps, contents.Checkpoint{ID: v.Commit, LastModified: contents.Time{Time: v.Time}})
		}
	}
	return cps, nil
}

func (g gitCheckpoints) Restore(ctx context.Context, p, id string, write func([]byte) error) error {
	_, err := g.repo.Restore(ctx, p, id, write)
	return versionError(err)
}

func (g gitCheckpoints) Delete(ctx context.Context, p, id string) error {
	return httpjson.Errorf(http.StatusBadRequest,
		"checkpoints of %s are git commits and are kept: history is not deleted through this API (git can rewrite it)", p)
}

// versionError maps versioning errors to statuses: bad paths 400, unknown versions 404, a busy
// repository 409; anything else is the server's problem.
func versionError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, versioning.ErrBadPath):
		return httpjson.Errorf(http.StatusBadRequest, "%s", err.Error())
	case errors.Is(err, versioning.ErrNotFound):
		return httpjson.Errorf(http.StatusNotFound, "%s", err.Error())
	case errors.Is(err, versioning.ErrBusy):
		return httpjson.Errorf(http.StatusConflict, "%s", err.Error())
	}
	return err
}

// Paging of version lists.
const (
	defaultVersionsPage = 100
	maxVersionsPage     = 1000
)

// handleVersions serves GET /api/hops/versions/{path...}: the versions of a file, or, when the
// last segment is a commit, the file at that version.
func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request) {
	h := s.history
	if h.repo == nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusServiceUnavailable, "history is off: %v", h.err))
		return
	}
	p := r.PathValue("path")
	if dir, commit := path.Split(p); dir != "" && isCommitish(commit) && !s.hasVersions(strings.TrimSuffix(p, "/")) {
		s.serveVersion(w, strings.TrimSuffix(dir, "/"), commit)
		return
	}
	limit := defaultVersionsPage
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > maxVersionsPage {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "limit=%q: give a number from 1 to %d", q, maxVersionsPage))
			return
		}
		limit = n
	}
	vs, more, err := h.repo.Log(p, limit, r.URL.Query().Get("before"))
	if err != nil {
		httpjson.WriteError(w, versionError(err))
		return
	}
	resp := struct {
		Path     string               `json:"path"`
		Versions []versioning.Version `json:"versions"`
		More     bool                 `json:"more"`
		Error    string               `json:"error,omitempty"`
	}{p, vs, more, h.failure(p)}
	httpjson.Write(w, http.StatusOK, resp)
}

// hasVersions says whether p is a file with history or on disk, so that a file whose name
// looks like a commit is listed rather than read as "the parent at that commit".
func (s *Server) hasVersions(p string) bool {
	if _, _, err := s.history.repo.Log(p, 1, ""); err == nil {
		return true
	}
	_, err := s.contents.Get(context.Background(), p, contents.GetOptions{})
	return err == nil
}

func (s *Server) serveVersion(w http.ResponseWriter, p, commit string) {
	data, err := s.history.repo.Show(p, commit)
	if err != nil {
		httpjson.WriteError(w, versionError(err))
		return
	}
	// Old versions are user content from this origin: never let a browser run them.
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(p, ".ipynb") || strings.HasSuffix(p, ".json") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// isCommitish says whether s can name a commit: 4 to 40 hex digits.
func isCommitish(s string) bool {
	if len(s) < 4 || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
