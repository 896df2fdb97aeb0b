package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/hopsml/hops/server/httpjson"
	"github.com/hopsml/hops/store"
)

// projectStore serves /api/hops/store: the project store (store.FS) over HTTP, streamed both ways.
type projectStore struct {
	fs store.FS

	layoutMu sync.Mutex
	laidOut  bool // the project layout exists (made on first use; retried after a failure)
}

// layout creates the project layout the first time the store is used.
func (p *projectStore) layout(r *http.Request) error {
	p.layoutMu.Lock()
	defer p.layoutMu.Unlock()
	if p.laidOut {
		return nil
	}
	if err := store.EnsureLayout(r.Context(), p.fs); err != nil {
		return err
	}
	p.laidOut = true
	return nil
}

// storeError gives the store's own sentinels their statuses (a bad path 400, a backend that is down
// 503); httpjson.WriteError maps the io/fs ones (404, 409, 403). Messages name store paths, never
// disk paths.
func storeError(err error) error {
	switch {
	case errors.Is(err, store.ErrBadPath):
		return httpjson.Errorf(http.StatusBadRequest, "%s", err.Error())
	case errors.Is(err, store.ErrUnavailable):
		return httpjson.Errorf(http.StatusServiceUnavailable, "%s", err.Error())
	}
	return err
}

// storeListing is the answer for a directory.
type storeListing struct {
	Path    string       `json:"path"`
	Store   string       `json:"store"` // where the store is (a directory, an hdfs:// URL)
	Entries []store.Info `json:"entries"`
}

// handleStoreGet serves GET /api/hops/store/{path...}: a directory's entries as JSON, or a file's
// bytes (ranges supported; ?download=1 as an attachment).
func (s *Server) handleStoreGet(w http.ResponseWriter, r *http.Request) {
	ps := s.store
	if err := ps.layout(r); err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	name := r.PathValue("path")
	info, err := ps.fs.Stat(r.Context(), name)
	if err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	if info.Dir {
		entries, err := ps.fs.List(r.Context(), name)
		if err != nil {
			httpjson.WriteError(w, storeError(err))
			return
		}
		w.Header().Set("X-Hops-Store-Entry", "directory")
		httpjson.Write(w, http.StatusOK, storeListing{Path: name, Store: ps.fs.String(), Entries: entries})
		return
	}
	f, err := ps.fs.Open(r.Context(), name)
	if err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	defer f.Close()
	// The store holds user content: served from this origin, it must never run as a page.
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" || strings.HasPrefix(ctype, "text/html") || strings.Contains(ctype, "javascript") || strings.Contains(ctype, "svg") {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Hops-Store-Entry", "file")
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(name)}))
	}
	http.ServeContent(w, r, path.Base(name), info.ModTime, f)
}

// handleStorePut serves PUT /api/hops/store/{path...}: the request body, streamed, becomes the
// file (published whole when the upload is complete; a broken upload leaves the old file);
// ?type=directory creates a directory instead.
func (s *Server) handleStorePut(w http.ResponseWriter, r *http.Request) {
	ps := s.store
	if err := ps.layout(r); err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	name := r.PathValue("path")
	ctx := r.Context()
	if t := r.URL.Query().Get("type"); t == "directory" {
		if err := ps.fs.MkdirAll(ctx, name); err != nil {
			httpjson.WriteError(w, storeError(err))
			return
		}
	} else if t != "" && t != "file" {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "type=%q: file (the default) or directory", t))
		return
	} else {
		if name == "" {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "name the file to write: PUT /api/hops/store/DIR/NAME"))
			return
		}
		if dir := path.Dir(name); dir != "." {
			if err := ps.fs.MkdirAll(ctx, dir); err != nil {
				httpjson.WriteError(w, storeError(err))
				return
			}
		}
		fw, err := ps.fs.Create(ctx, name)
		if err != nil {
			httpjson.WriteError(w, storeError(err))
			return
		}
		if _, err := io.Copy(fw, r.Body); err != nil {
			fw.Abort()
			httpjson.WriteError(w, storeError(fmt.Errorf("upload of %s broke off; the store is unchanged: %w", name, err)))
			return
		}
		if err := fw.Close(); err != nil {
			httpjson.WriteError(w, storeError(err))
			return
		}
	}
	info, err := ps.fs.Stat(ctx, name)
	if err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	httpjson.Write(w, http.StatusCreated, info)
}

// handleStoreDelete serves DELETE /api/hops/store/{path...}: removes a file or a directory tree.
func (s *Server) handleStoreDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	if name == "" {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, "the store's root cannot be deleted: name what to delete"))
		return
	}
	if err := s.store.fs.Remove(r.Context(), name); err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleStorePatch serves PATCH /api/hops/store/{path...} {"path": "new/name"}: a rename; a file
// already at the new name is replaced.
func (s *Server) handleStorePatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path *string `json:"path"`
	}
	if err := httpjson.Decode(r, &req, 1<<16, false); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	if req.Path == nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest, `give the new name: {"path": "Resources/new.csv"}`))
		return
	}
	from := r.PathValue("path")
	if err := s.store.fs.Rename(r.Context(), from, *req.Path); err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	info, err := s.store.fs.Stat(r.Context(), *req.Path)
	if err != nil {
		httpjson.WriteError(w, storeError(err))
		return
	}
	httpjson.Write(w, http.StatusOK, info)
}
