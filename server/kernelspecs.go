package server

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hopsml/hops/kernel"
	"github.com/hopsml/hops/server/httpjson"
)

// defaultKernel is the kernelspec new notebooks get: the hops kernel, which the server provides
// itself, so it is there whether or not `hops kernelspec install` was ever run.
const defaultKernel = "hops"

// kernelNamePattern is the kernel name syntax jupyter_server accepts.
var kernelNamePattern = regexp.MustCompile(`^[\w.\-%]+$`)

// kernelspec is one installed kernelspec: its directory, its kernel.json as written (served back
// verbatim in the API) and the launch description derived from it.
type kernelspec struct {
	Name   string
	Dir    string
	JSON   map[string]any
	Launch kernel.EngineSpec
}

// kernelspecs finds kernelspecs in dirs, earlier dirs winning, as jupyter_client does.
type kernelspecs struct {
	dirs   []string
	python string
}

// list reads every kernelspec. It rereads the directories on each call so that a kernelspec
// installed while the server runs shows up in the launcher without a restart (JupyterLab polls
// /api/kernelspecs every minute).
func (ks *kernelspecs) list() map[string]*kernelspec {
	out := map[string]*kernelspec{}
	for _, d := range ks.dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if _, seen := out[name]; seen || !kernelNamePattern.MatchString(name) {
				continue
			}
			if spec, err := ks.read(name, filepath.Join(d, name)); err == nil {
				out[name] = spec
			}
		}
	}
	return out
}

// get returns one kernelspec by name.
func (ks *kernelspecs) get(name string) (*kernelspec, error) {
	if !kernelNamePattern.MatchString(name) {
		return nil, httpjson.Errorf(http.StatusBadRequest, "%q is not a kernel name (letters, digits, '.', '-', '_', '%%')", name)
	}
	for _, d := range ks.dirs {
		dir := filepath.Join(d, name)
		if _, err := os.Stat(filepath.Join(dir, "kernel.json")); err == nil {
			return ks.read(name, dir)
		}
	}
	var names []string
	for n := range ks.list() {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, httpjson.Errorf(http.StatusNotFound, "no kernelspec named %q; installed: %s", name, strings.Join(names, ", "))
}

func (ks *kernelspecs) read(name, dir string) (*kernelspec, error) {
	spec, raw, err := kernel.ReadKernelspec(name, dir, ks.python)
	if err != nil {
		return nil, err
	}
	return &kernelspec{Name: name, Dir: dir, JSON: raw, Launch: spec}, nil
}

// model is the kernelspec as /api/kernelspecs describes it; resources are the files of the spec's
// directory (logos, kernel.js), keyed by name without extension as JupyterLab expects.
func (k *kernelspec) model() map[string]any {
	resources := map[string]string{}
	if entries, err := os.ReadDir(k.Dir); err == nil {
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || n == "kernel.json" || strings.HasPrefix(n, ".") {
				continue
			}
			key := strings.TrimSuffix(n, filepath.Ext(n))
			if n == "kernel.js" || n == "kernel.css" {
				key = n
			}
			resources[key] = "/kernelspecs/" + k.Name + "/" + n
		}
	}
	return map[string]any{"name": k.Name, "spec": k.JSON, "resources": resources}
}

func (s *Server) handleKernelspecs(w http.ResponseWriter, r *http.Request) {
	specs := map[string]any{}
	for name, k := range s.kernelspecs.list() {
		specs[name] = k.model()
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"default": defaultKernel, "kernelspecs": specs})
}

func (s *Server) handleKernelspec(w http.ResponseWriter, r *http.Request) {
	k, err := s.kernelspecs.get(r.PathValue("name"))
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, k.model())
}

// handleKernelspecResource serves a file of a kernelspec's directory (logos); nothing outside it.
func (s *Server) handleKernelspecResource(w http.ResponseWriter, r *http.Request) {
	k, err := s.kernelspecs.get(r.PathValue("name"))
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	file := r.PathValue("file")
	if file == "" || file == "kernel.json" || strings.ContainsAny(file, `/\`) || strings.HasPrefix(file, ".") {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusNotFound, "kernelspec %s has no resource %q", k.Name, file))
		return
	}
	root, err := os.OpenRoot(k.Dir)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	defer root.Close()
	f, err := root.Open(file)
	if err != nil {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusNotFound, "kernelspec %s has no resource %q", k.Name, file))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusNotFound, "kernelspec %s has no resource %q", k.Name, file))
		return
	}
	w.Header().Set("Cache-Control", "max-age=3600")
	http.ServeContent(w, r, file, st.ModTime(), f)
}
