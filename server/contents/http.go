package contents

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/hopsml/hops/server/httpjson"
)

// Register adds the routes to mux: /api/contents (get, new untitled, copy, save, upload, rename,
// delete, checkpoints, trust) and /files/ (raw bytes). Authentication is the caller's middleware.
func (m *Manager) Register(mux *http.ServeMux) {
	for _, p := range []string{"/api/contents", "/api/contents/{path...}"} {
		mux.HandleFunc("GET "+p, m.serve(m.getHTTP))
		mux.HandleFunc("POST "+p, m.serve(m.postHTTP))
		mux.HandleFunc("PUT "+p, m.serve(m.putHTTP))
		mux.HandleFunc("PATCH "+p, m.serve(m.patchHTTP))
		mux.HandleFunc("DELETE "+p, m.serve(m.deleteHTTP))
		mux.HandleFunc(p, notAllowed("GET, HEAD, POST, PUT, PATCH, DELETE"))
	}
	mux.HandleFunc("GET /files/{path...}", m.serve(m.filesHTTP))
	mux.HandleFunc("/files/{path...}", notAllowed("GET, HEAD"))
}

// serve answers a handler's error as JSON, logging those that are the server's fault.
func (m *Manager) serve(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var se *httpjson.StatusError
		if !errors.As(err, &se) || se.Status >= 500 {
			m.log.Error("contents: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		httpjson.WriteError(w, err)
	}
}

func notAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		httpjson.WriteError(w, httpjson.Errorf(http.StatusMethodNotAllowed, "%s is not supported on %s; use %s", r.Method, r.URL.Path, allow))
	}
}

// Sub-resources of a file, beside its own path as in jupyter_server's routes.
const (
	subCheckpoints = "checkpoints" // .../checkpoints
	subCheckpoint  = "checkpoint"  // .../checkpoints/{id}
	subTrust       = "trust"       // .../trust
)

// sub recognizes a path that ends in /checkpoints, /checkpoints/{id} or /trust after the path of
// a file (or of nothing at all), and returns that file, which sub-resource, and the checkpoint id.
// Anything else is the path of an entry itself (kind ""): only files have checkpoints and only
// directories have entries, so a directory called "checkpoints", common in ML work, stays browsable.
func (m *Manager) sub(p string) (target, kind, id string) {
	p = strings.TrimSuffix(p, "/")
	dir, last := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case last == subCheckpoints:
		target, kind = dir, subCheckpoints
	case last == subTrust:
		target, kind = dir, subTrust
	default:
		d, seg := path.Split(dir)
		if seg != subCheckpoints {
			return p, "", ""
		}
		target, kind, id = strings.TrimSuffix(d, "/"), subCheckpoint, last
	}
	if m.isFile(target) || m.missing(target) {
		// A file's sub-resource; or one of a file that is gone, whose checkpoints are an empty list
		// as with jupyter_server (JupyterLab asks for them while renaming).
		return target, kind, id
	}
	return p, "", ""
}

// missing reports whether p is a valid workspace path with nothing there (not one refused).
func (m *Manager) missing(p string) bool {
	p, err := m.check(p, reading)
	if err != nil {
		return false
	}
	q, err := m.resolve(p, false, reading)
	if err != nil {
		return false
	}
	_, err = m.root.Lstat(name(q))
	return errors.Is(err, fs.ErrNotExist) && !errors.Is(err, m.errEscapes)
}

// isFile reports whether p is a readable path to a regular file.
func (m *Manager) isFile(p string) bool {
	p, err := m.check(p, reading)
	if err != nil || p == "" {
		return false
	}
	_, fi, err := m.stat(p, reading)
	return err == nil && fi.Mode().IsRegular()
}

func (m *Manager) location(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return m.base + "api/contents/" + strings.Join(segs, "/")
}

// writeModel answers with a model and the headers jupyter_server sends with one.
func (m *Manager) writeModel(w http.ResponseWriter, status int, md *Model) {
	w.Header().Set("Location", m.location(md.Path))
	w.Header().Set("Last-Modified", md.LastModified.UTC().Format(http.TimeFormat))
	httpjson.Write(w, status, md)
}

// decodeBody reads an optional JSON object body into v and reports whether there was one
// (neither empty nor null).
func decodeBody(r *http.Request, v any) (bool, error) {
	var raw json.RawMessage
	if err := httpjson.Decode(r, &raw, 0, true); err != nil {
		return false, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if raw[0] != '{' {
		return false, httpjson.Errorf(http.StatusBadRequest, "request body must be a JSON object, not %s", raw[:min(len(raw), 40)])
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return false, httpjson.Errorf(http.StatusBadRequest, "request body: %q must be a %s, not a %s", te.Field, te.Type, te.Value)
		}
		return false, httpjson.Errorf(http.StatusBadRequest, "request body: %v", err)
	}
	return true, nil
}

// flag reads a 0|1 query parameter.
func flag(q url.Values, key string, def bool) (bool, error) {
	switch q.Get(key) {
	case "":
		return def, nil
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, httpjson.Errorf(http.StatusBadRequest, "query parameter %s must be 0 or 1, not %q", key, q.Get(key))
}

func (m *Manager) getHTTP(w http.ResponseWriter, r *http.Request) error {
	p := r.PathValue("path")
	if target, kind, _ := m.sub(p); kind == subCheckpoints {
		cps, err := m.ListCheckpoints(r.Context(), target)
		if err != nil {
			return err
		}
		httpjson.Write(w, http.StatusOK, cps)
		return nil
	}
	q := r.URL.Query()
	o := GetOptions{Type: q.Get("type"), Format: q.Get("format")}
	var err error
	if o.Content, err = flag(q, "content", true); err != nil {
		return err
	}
	if o.Hash, err = flag(q, "hash", false); err != nil {
		return err
	}
	md, err := m.Get(r.Context(), p, o)
	if err != nil {
		return err
	}
	w.Header().Set("Last-Modified", md.LastModified.UTC().Format(http.TimeFormat))
	httpjson.Write(w, http.StatusOK, md)
	return nil
}

func (m *Manager) postHTTP(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), r.PathValue("path")
	switch target, kind, id := m.sub(p); kind {
	case subCheckpoints:
		cp, err := m.CreateCheckpoint(ctx, target)
		if err != nil {
			return err
		}
		w.Header().Set("Location", m.location(target)+"/checkpoints/"+url.PathEscape(cp.ID))
		httpjson.Write(w, http.StatusCreated, cp)
		return nil
	case subCheckpoint:
		if err := m.RestoreCheckpoint(ctx, target, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case subTrust:
		if err := m.Trust(target); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	var body struct {
		Type     string          `json:"type"`
		Ext      string          `json:"ext"`
		CopyFrom string          `json:"copy_from"`
		Content  json.RawMessage `json:"content"`
	}
	if _, err := decodeBody(r, &body); err != nil {
		return err
	}
	if m.isFile(p) {
		return httpjson.Errorf(http.StatusBadRequest, "cannot POST to file %s: POST creates in a directory; PUT saves a file", p)
	}
	var (
		md  *Model
		err error
	)
	if body.CopyFrom != "" {
		if len(body.Content) > 0 && string(body.Content) != "null" {
			return httpjson.Errorf(http.StatusBadRequest, "send either copy_from or content, not both")
		}
		md, err = m.Copy(ctx, body.CopyFrom, p)
	} else {
		md, err = m.NewUntitled(ctx, p, body.Type, body.Ext)
	}
	if err != nil {
		return err
	}
	m.writeModel(w, http.StatusCreated, md)
	return nil
}

func (m *Manager) putHTTP(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), r.PathValue("path")
	var body struct {
		Type     string          `json:"type"`
		Format   string          `json:"format"`
		Content  json.RawMessage `json:"content"`
		Chunk    int             `json:"chunk"`
		CopyFrom string          `json:"copy_from"`
	}
	present, err := decodeBody(r, &body)
	if err != nil {
		return err
	}
	var (
		md      *Model
		created = true
	)
	switch {
	case !present:
		// As jupyter_server: a PUT without a body creates an untitled file in directory p.
		md, err = m.NewUntitled(ctx, p, "", "")
	case body.CopyFrom != "":
		// A copy to exactly p; Copy alone would copy into p if it were a directory.
		if cp, err := m.check(p, creating); err == nil {
			if _, _, err := m.stat(cp, creating); err == nil {
				return httpjson.Errorf(http.StatusConflict, "%s already exists: choose another name or delete it first", name(cp))
			}
		}
		md, err = m.Copy(ctx, body.CopyFrom, p)
	default:
		md, created, err = m.Save(ctx, p, SaveRequest{Type: body.Type, Format: body.Format, Content: body.Content, Chunk: body.Chunk})
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	m.writeModel(w, status, md)
	return nil
}

func (m *Manager) patchHTTP(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Path *string `json:"path"`
	}
	present, err := decodeBody(r, &body)
	if err != nil {
		return err
	}
	if !present || body.Path == nil {
		return httpjson.Errorf(http.StatusBadRequest, `rename: send {"path": "new/path"}`)
	}
	md, err := m.Rename(r.Context(), r.PathValue("path"), *body.Path)
	if err != nil {
		return err
	}
	m.writeModel(w, http.StatusOK, md)
	return nil
}

func (m *Manager) deleteHTTP(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), r.PathValue("path")
	var err error
	if target, kind, id := m.sub(p); kind == subCheckpoint {
		err = m.DeleteCheckpoint(ctx, target, id)
	} else {
		err = m.Delete(ctx, p)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// filesHTTP serves a file's raw bytes, streamed, with ranges and conditional requests. Its type
// is never sniffed by the browser, and any type that could run script (HTML, SVG, XML, ...)
// is sandboxed, so a workspace file cannot act with the user's cookie.
func (m *Manager) filesHTTP(w http.ResponseWriter, r *http.Request) error {
	p, err := m.check(r.PathValue("path"), reading)
	if err != nil {
		return err
	}
	// As jupyter_server: any download value but an explicit no asks for an attachment.
	download := !slices.Contains([]string{"", "0", "false"}, r.URL.Query().Get("download"))
	f, fi, err := m.open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi.IsDir() {
		return httpjson.Errorf(http.StatusBadRequest, "%s is a directory: /files/ serves files; list it with /api/contents/%s", name(p), p)
	}
	ctype, err := contentType(p, f)
	if err != nil {
		return m.fsError(p, err)
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	if !passive(ctype) {
		h.Set("Content-Security-Policy", "sandbox")
	}
	if download {
		cd := mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)})
		if cd == "" {
			cd = "attachment"
		}
		h.Set("Content-Disposition", cd)
	}
	http.ServeContent(w, r, path.Base(p), fi.ModTime(), f)
	return nil
}

// contentType is the type of a file by its extension, else sniffed from its first bytes.
func contentType(p string, f *os.File) (string, error) {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t, nil
	}
	var buf [512]byte
	n, err := io.ReadFull(f, buf[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return http.DetectContentType(buf[:n]), nil
}

// passive reports whether a browser only displays content of type t, never runs script in it;
// everything else gets a sandbox.
func passive(t string) bool {
	t, _, _ = strings.Cut(t, ";")
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case t == "image/svg+xml":
		return false
	case strings.HasPrefix(t, "image/"), strings.HasPrefix(t, "audio/"), strings.HasPrefix(t, "video/"), t == "application/pdf":
		return true
	}
	return false
}
