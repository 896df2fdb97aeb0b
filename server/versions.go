package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/server/contents"
	"github.com/hopsml/hops/server/httpjson"
	"github.com/hopsml/hops/versioning"
	"github.com/hopsml/hops/versioning/nbdiff"
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
	} else {
		h.repo.SetCellCounter(countCells)
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
	// Oldest first, as jupyter_server would list several: JupyterLab's "Revert to Checkpoint"
	// reverses the list to offer the newest first.
	cps := make([]contents.Checkpoint, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- {
		if v := vs[i]; !v.Deleted {
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

// countCells is the Versions panel's "+a −r ~c cells" of a notebook version against the one
// before it (none before: every cell is added).
func countCells(old, new []byte) (*versioning.CellStats, error) {
	if old == nil {
		old = []byte(`{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`)
	}
	d, err := nbdiff.Diff(old, new, nbdiff.Options{})
	if err != nil {
		return nil, err
	}
	return &versioning.CellStats{Added: d.Summary.Added, Removed: d.Summary.Removed, Changed: d.Summary.Modified}, nil
}

// diffSide is one end of a diff: a version, or the file on disk ("current").
type diffSide struct {
	Commit  string     `json:"commit"` // "current" for the file on disk
	Short   string     `json:"short"`
	Time    *time.Time `json:"time,omitempty"` // none for the file on disk
	Message string     `json:"message"`
}

// handleDiff serves GET /api/hops/diff/{path...}?from=&to=: the notebook-aware diff of two
// versions of a notebook (to defaults to "current", the file on disk), as JSON or, with
// format=html, as an HTML fragment (%hops diff).
func (s *Server) handleDiff(w http.ResponseWriter, r *http.Request) {
	h := s.history
	if h.repo == nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusServiceUnavailable, "history is off: %v", h.err))
		return
	}
	p, q := r.PathValue("path"), r.URL.Query()
	if !strings.HasSuffix(p, ".ipynb") {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest,
			"%s is not a notebook: this diff compares notebooks cell by cell (git diff compares other files)", p))
		return
	}
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "which versions? give from=COMMIT and optionally to=COMMIT (default: current)"))
		return
	}
	if to == "" {
		to = "current"
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "html" {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "format=%q: json (default) or html", format))
		return
	}
	var opts nbdiff.Options
	var err error
	for name, dst := range map[string]*bool{"ignore_execution_counts": &opts.IgnoreExecutionCounts, "ignore_outputs": &opts.IgnoreOutputs} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseBool(v); err != nil {
				httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "%s=%q: true or false", name, v))
				return
			}
		}
	}
	oldSide, oldData, err := s.diffSide(p, from)
	if err != nil {
		httpjson.WriteError(w, versionError(err))
		return
	}
	newSide, newData, err := s.diffSide(p, to)
	if err != nil {
		httpjson.WriteError(w, versionError(err))
		return
	}
	d, err := nbdiff.Diff(oldData, newData, opts)
	if errors.Is(err, nbdiff.ErrNotNotebook) {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusUnprocessableEntity, "%s: %v", p, err))
		return
	}
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	if format == "html" {
		sm := d.Summary
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Hops-Diff-Summary", fmt.Sprintf("%d added, %d removed, %d modified, %d moved, %d unchanged cells",
			sm.Added, sm.Removed, sm.Modified, sm.Moved, sm.Unchanged))
		title := fmt.Sprintf("%s: %s → %s", p, oldSide.Short, newSide.Short)
		if err := nbdiff.WriteHTML(w, d, title); err != nil {
			s.log.Warn("writing a diff", "err", err)
		}
		return
	}
	httpjson.Write(w, http.StatusOK, struct {
		Path string   `json:"path"`
		From diffSide `json:"from"`
		To   diffSide `json:"to"`
		*nbdiff.NotebookDiff
	}{p, oldSide, newSide, d})
}

// diffSide reads the notebook p at commit (under the name it had then), or on disk for "current".
func (s *Server) diffSide(p, commit string) (diffSide, []byte, error) {
	repo := s.history.repo
	if commit == "current" {
		data, err := repo.ReadFile(p)
		return diffSide{Commit: "current", Short: "current", Message: "the file as it is now"}, data, err
	}
	v, err := repo.Describe(commit)
	if err != nil {
		return diffSide{}, nil, err
	}
	data, err := repo.Show(p, v.Commit)
	return diffSide{Commit: v.Commit, Short: v.Short, Time: &v.Time, Message: v.Message}, data, err
}
