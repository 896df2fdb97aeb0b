package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/server/contents"
	"github.com/hopsml/hops/server/httpjson"
)

// LockFile is the project environment's lock: every package of the project's Python with its
// version, in the workspace (so it is versioned like any file), rewritten by every %hops pip.
const LockFile = "requirements.lock"

// projectEnv changes the project's Python environment, one pip at a time, and keeps the lock.
type projectEnv struct {
	mu sync.Mutex // one pip at a time: two would race on site-packages and on the lock
}

func (s *Server) envRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/hops/env", s.handleEnvGet)
	mux.HandleFunc("POST /api/hops/env/pip", s.handleEnvPip)
}

// envState is the project environment now and how its lock compares.
type envState struct {
	Environment experiments.Environment `json:"environment"`
	Lock        string                  `json:"lock"`        // workspace path of the lock file
	LockExists  bool                    `json:"lock_exists"` // false until the first %hops pip
	// LockDiffers lists how the installed packages differ from the lock ("package x 1.0 added").
	LockDiffers []string `json:"lock_differs"`
}

func (s *Server) handleEnvGet(w http.ResponseWriter, r *http.Request) {
	env, err := s.snapshots.Snapshot(r.Context())
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	st := envState{Environment: env, Lock: LockFile, LockDiffers: []string{}}
	if locked, ok := s.readLock(r.Context()); ok {
		st.LockExists = true
		st.LockDiffers = append(st.LockDiffers, experiments.DiffPackages(locked, experiments.Packages(&env))...)
	}
	httpjson.Write(w, http.StatusOK, st)
}

// pipRequest is the body of POST /api/hops/env/pip: pip's command line after "pip".
type pipRequest struct {
	Args []string `json:"args"`
}

// pipEvent is one line of the answer of POST /api/hops/env/pip: pip's output as it comes, then the
// outcome.
type pipEvent struct {
	Output  string   `json:"output,omitempty"`
	Done    bool     `json:"done,omitempty"`
	OK      bool     `json:"ok,omitempty"`
	Error   string   `json:"error,omitempty"`
	Changes []string `json:"changes,omitempty"` // what the command changed, as a lock diff
	Lock    string   `json:"lock,omitempty"`
}

// handleEnvPip runs pip install or uninstall in the project's Python, streaming its output, and on
// success rewrites the lock file (a new version of it). A failed pip leaves the lock as it was.
func (s *Server) handleEnvPip(w http.ResponseWriter, r *http.Request) {
	var req pipRequest
	if err := httpjson.Decode(r, &req, 0, false); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	if len(req.Args) < 2 || (req.Args[0] != "install" && req.Args[0] != "uninstall") {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest,
			"give pip install PACKAGE... or pip uninstall PACKAGE... (got pip %s)", strings.Join(req.Args, " ")))
		return
	}
	if !s.env.mu.TryLock() {
		httpjson.WriteError(w, httpjson.Errorf(http.StatusConflict, "another %%hops pip is changing the environment: wait for it to finish"))
		return
	}
	defer s.env.mu.Unlock()
	before, err := s.snapshots.Snapshot(r.Context())
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	args := append([]string{"-m", "pip"}, req.Args...)
	args = append(args, "--disable-pip-version-check", "--no-input")
	if req.Args[0] == "uninstall" {
		args = append(args, "--yes")
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	send := func(ev pipEvent) {
		_ = enc.Encode(ev)
		if flusher != nil {
			flusher.Flush()
		}
	}
	// pip goes on when the client goes away: stopping it half way would leave site-packages torn.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.cfg.Python, args...)
	cmd.Dir = s.cfg.Root
	out, err := cmd.StdoutPipe()
	if err == nil {
		cmd.Stderr = cmd.Stdout
		err = cmd.Start()
	}
	if err != nil {
		send(pipEvent{Done: true, Error: fmt.Sprintf("start pip with %s: %v", s.cfg.Python, err)})
		return
	}
	var tail []string // the last lines, for the error
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		tail = append(tail, line)
		if len(tail) > 20 {
			tail = tail[1:]
		}
		send(pipEvent{Output: line})
	}
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		send(pipEvent{Done: true, Error: fmt.Sprintf("pip %s failed (%v); %s is unchanged. pip said:\n%s",
			strings.Join(req.Args, " "), err, LockFile, strings.Join(lastLines(tail, 5), "\n"))})
		return
	}
	after, err := s.snapshots.Snapshot(ctx)
	if err != nil {
		send(pipEvent{Done: true, Error: "pip succeeded, but the environment could not be read to update the lock: " + err.Error()})
		return
	}
	if err := s.writeLock(ctx, after); err != nil {
		send(pipEvent{Done: true, Error: "pip succeeded, but " + LockFile + " could not be written: " + err.Error()})
		return
	}
	send(pipEvent{Done: true, OK: true, Lock: LockFile, Changes: experiments.DiffPackages(experiments.Packages(&before), experiments.Packages(&after))})
}

func lastLines(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// writeLock writes the lock file through the contents API, so that it is a new version.
func (s *Server) writeLock(ctx context.Context, env experiments.Environment) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# The project environment (Python %s), written by hops on every %%hops pip; install it with\n", pythonVersion(env))
	b.WriteString("# pip install -r " + LockFile + "\n")
	for _, p := range env.Python.Packages {
		fmt.Fprintf(&b, "%s==%s\n", p.Name, p.Version)
	}
	content, _ := json.Marshal(b.String())
	_, _, err := s.contents.Save(ctx, LockFile, contents.SaveRequest{Type: contents.TypeFile, Format: "text", Content: content})
	return err
}

// readLock reads the lock's packages (lower-cased name → version); false without a lock.
func (s *Server) readLock(ctx context.Context) (map[string]string, bool) {
	m, err := s.contents.Get(ctx, LockFile, contents.GetOptions{Content: true, Format: "text"})
	if err != nil {
		return nil, false
	}
	text, _ := m.Content.(string)
	pkgs := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if name, version, ok := strings.Cut(strings.TrimSpace(line), "=="); ok && !strings.HasPrefix(line, "#") {
			pkgs[strings.ToLower(name)] = version
		}
	}
	return pkgs, true
}

func pythonVersion(env experiments.Environment) string {
	if env.Python == nil {
		return "unknown"
	}
	return env.Python.Version
}
