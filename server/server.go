// Package server is hops lab: a Go implementation of the Jupyter Server API that the real JupyterLab
// 4 runs against unchanged. It owns kernels (started from kernelspecs, supervised, restarted when
// they crash), sessions, the kernel websockets in both framings, authentication, and the routing of
// /api/hops/, the project API. Contents and the lab UI are the subpackages contents and lab.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/executors"
	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/frontend"
	"github.com/hopsml/hops/internal/buildinfo"
	"github.com/hopsml/hops/kernel"
	"github.com/hopsml/hops/server/contents"
	"github.com/hopsml/hops/server/httpjson"
	"github.com/hopsml/hops/server/lab"
	"github.com/hopsml/hops/store"
	storelocal "github.com/hopsml/hops/store/local"
)

// Config is what hops lab serves and how.
type Config struct {
	Root   string // workspace directory; everything the API exposes is inside it
	IP     string // address to listen on; loopback unless told otherwise
	Port   int    // 0 picks a free port
	Token  string // "" generates a random one
	Python string // the project's interpreter: runs ipykernel under the hops kernel
	Binary string // the hops executable, for the built-in "hops" kernelspec
	// KernelspecDirs are searched for kernelspecs after the built-in one; nil means Jupyter's
	// standard search path for Python.
	KernelspecDirs []string
	// LabDir is JupyterLab's application directory (static, schemas, themes); "" means the one in
	// Python's prefix, where `pip install jupyterlab-js` puts it.
	LabDir string
	Log    *slog.Logger
	// GPUs lists the host's GPUs; nil means NVML.
	GPUs func() (gpu.Inventory, error)
	// Store is the project store, which the caller closes; nil means a local one in the
	// workspace's .hops/store, which the server opens and closes.
	Store store.FS
	// Executor runs the trials of %%hops run; nil means local processes with the host's GPUs.
	Executor executors.Backend
}

// Server is a configured hops lab.
type Server struct {
	cfg         Config
	log         *slog.Logger
	auth        *auth
	stateDir    string
	runtimeDir  string
	kernelspecs *kernelspecs
	kernels     *kernelManager
	sessions    *sessions
	contents    *contents.Manager
	history     *history
	store       *projectStore
	ownStore    bool // the server opened the store and closes it
	handler     http.Handler
	listener    net.Listener
	gpus        func() (gpu.Inventory, error)
	gpuHost     *gpu.Host // NVML, open while the server runs; nil without a driver or with Config.GPUs
	gpuErr      error     // why gpuHost is nil
	gpuAlloc    *gpu.Allocator
	catalog     *experiments.Catalog
	experiments *experiments.Service
	snapshots   *experiments.Snapshotter // the project Python's environment
	env         projectEnv
	started     time.Time

	configMu sync.Mutex

	ctx    context.Context
	cancel context.CancelFunc
}

// New prepares a server: it binds the listening socket (so the URL, port included, is known before
// Serve) and checks that the workspace and JupyterLab's assets are there.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("workspace %s is not a directory: create it or pass --dir", cfg.Root)
	}
	cfg.Root = root
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Token == "" {
		cfg.Token = randomHex(24)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen on %s:%d: %w (is another server using the port? pass --port)", cfg.IP, cfg.Port, err)
	}
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	s := &Server{cfg: cfg, log: cfg.Log, listener: ln, gpus: cfg.GPUs, started: time.Now().UTC(),
		stateDir: filepath.Join(root, ".hops")}
	if s.gpus == nil {
		// NVML stays initialized while the server runs: the executor samples the GPUs trials hold.
		s.gpuHost, s.gpuErr = gpu.Open(gpu.System())
		s.gpus = func() (gpu.Inventory, error) {
			if s.gpuHost == nil {
				return gpu.Inventory{}, s.gpuErr
			}
			return s.gpuHost.Inventory()
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.setup(); err != nil {
		ln.Close()
		s.cleanup()
		return nil, err
	}
	return s, nil
}

func (s *Server) setup() error {
	if err := os.MkdirAll(s.stateDir, 0o755); err != nil {
		return fmt.Errorf("workspace state dir: %w", err)
	}
	var err error
	// Connection files hold kernel keys; ipc socket paths must stay short (108 bytes), so /tmp.
	if s.runtimeDir, err = os.MkdirTemp("", "hops-lab-"); err != nil {
		return fmt.Errorf("runtime dir: %w", err)
	}
	// The built-in kernelspec: this very binary as the kernel, so a server and its kernels are always
	// the same version, installed or not.
	builtin := filepath.Join(s.runtimeDir, "kernelspecs")
	if _, err := kernel.InstallKernelspec(kernel.KernelspecOptions{Name: defaultKernel, Binary: s.cfg.Binary,
		Python: s.cfg.Python, Prefix: builtin}); err != nil {
		return err
	}
	dirs := s.cfg.KernelspecDirs
	if dirs == nil {
		dirs = kernel.KernelspecDirs(s.cfg.Python)
	}
	s.kernelspecs = &kernelspecs{dirs: append([]string{filepath.Join(builtin, "share", "jupyter", "kernels")}, dirs...),
		python: s.cfg.Python}

	s.auth = newAuth(s.cfg.Token, s.cfg.Port, net.ParseIP(s.cfg.IP).IsLoopback() || s.cfg.IP == "localhost")
	s.kernels = &kernelManager{ctx: s.ctx, log: s.log, specs: s.kernelspecs, runtime: s.runtimeDir, root: s.cfg.Root,
		kernels: map[string]*Kernel{},
		env:     append(os.Environ(), "HOPS_SERVER_URL="+s.baseURL(), "HOPS_TOKEN="+s.cfg.Token)}
	s.sessions = &sessions{kernels: s.kernels, byID: map[string]*session{}}

	if s.cfg.Store == nil {
		local, err := storelocal.Open(filepath.Join(s.stateDir, "store"))
		if err != nil {
			return err
		}
		s.cfg.Store, s.ownStore = local, true
	}
	s.store = &projectStore{fs: s.cfg.Store}
	s.history = newHistory(s.cfg.Root, s)
	cm, err := contents.New(s.cfg.Root, s.history.hooks(contents.Options{Log: s.log}))
	if err != nil {
		return err
	}
	s.contents = cm
	if err := s.setupExperiments(); err != nil {
		return err
	}
	labDir := s.cfg.LabDir
	if labDir == "" {
		labDir = filepath.Join(pythonPrefix(s.cfg.Python), "share", "jupyter", "lab")
	}
	l, err := lab.New(lab.Config{
		AppDir:           labDir,
		LabextensionDirs: labextensionDirs(s.cfg.Python),
		LabextensionFS:   []fs.FS{frontend.Labextensions()}, // the hops extension, built into the binary
		StateDir:         s.stateDir,
		Token:            s.cfg.Token,
		ServerRoot:       s.cfg.Root,
		Version:          buildinfo.Version,
		Log:              s.log,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	cm.Register(mux)
	l.Register(mux)
	s.routes(mux)
	s.experimentRoutes(mux)
	s.envRoutes(mux)
	s.handler = refuseUncleanPaths(s.auth.wrap(trimTrailingSlash(mux)))
	return nil
}

// routes registers the endpoints this package owns.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api", s.handleAPIVersion)
	mux.HandleFunc("GET /api/status", s.handleStatus)
	mux.HandleFunc("GET /api/me", s.handleMe)
	mux.HandleFunc("GET /api/config/{section}", s.handleConfig)
	mux.HandleFunc("PATCH /api/config/{section}", s.handleConfig)
	mux.HandleFunc("GET /api/events/subscribe", s.handleEvents)
	mux.HandleFunc("POST /api/shutdown", s.handleShutdown)
	mux.HandleFunc("GET /login", s.handleLogin)
	mux.HandleFunc("POST /login", s.handleLogin)

	mux.HandleFunc("GET /api/kernelspecs", s.handleKernelspecs)
	mux.HandleFunc("GET /api/kernelspecs/{name}", s.handleKernelspec)
	mux.HandleFunc("GET /kernelspecs/{name}/{file}", s.handleKernelspecResource)

	mux.HandleFunc("GET /api/kernels", s.handleKernelList)
	mux.HandleFunc("POST /api/kernels", s.handleKernelStart)
	mux.HandleFunc("GET /api/kernels/{id}", s.handleKernelGet)
	mux.HandleFunc("DELETE /api/kernels/{id}", s.handleKernelDelete)
	mux.HandleFunc("POST /api/kernels/{id}/interrupt", s.handleKernelInterrupt)
	mux.HandleFunc("POST /api/kernels/{id}/restart", s.handleKernelRestart)
	mux.HandleFunc("GET /api/kernels/{id}/channels", s.handleChannels)

	mux.HandleFunc("GET /api/sessions", s.handleSessionList)
	mux.HandleFunc("POST /api/sessions", s.handleSessionCreate)
	mux.HandleFunc("GET /api/sessions/{id}", s.handleSessionGet)
	mux.HandleFunc("PATCH /api/sessions/{id}", s.handleSessionPatch)
	mux.HandleFunc("DELETE /api/sessions/{id}", s.handleSessionDelete)

	mux.HandleFunc("GET /api/hops/version", s.handleHopsVersion)
	mux.HandleFunc("GET /api/hops/gpus", s.handleGPUs)
	mux.HandleFunc("GET /api/hops/openapi.yaml", s.handleOpenAPI)
	mux.HandleFunc("GET /api/hops/versions/{path...}", s.handleVersions)
	mux.HandleFunc("GET /api/hops/diff/{path...}", s.handleDiff)
	// The store's root is routed too: without it the mux would redirect /api/hops/store to
	// /api/hops/store/, which trimTrailingSlash turns back.
	mux.HandleFunc("GET /api/hops/store", s.handleStoreGet)
	mux.HandleFunc("PUT /api/hops/store", s.handleStorePut)
	mux.HandleFunc("PATCH /api/hops/store", s.handleStorePatch)
	mux.HandleFunc("DELETE /api/hops/store", s.handleStoreDelete)
	mux.HandleFunc("GET /api/hops/store/{path...}", s.handleStoreGet)
	mux.HandleFunc("PUT /api/hops/store/{path...}", s.handleStorePut)
	mux.HandleFunc("PATCH /api/hops/store/{path...}", s.handleStorePatch)
	mux.HandleFunc("DELETE /api/hops/store/{path...}", s.handleStoreDelete)
}

// refuseUncleanPaths answers a path with "." or ".." segments or an empty segment with 400. Go's mux
// would redirect it to the cleaned path; a client that sends one is confused or probing, and the
// answer should say so rather than lead anywhere.
func refuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
			strings.HasSuffix(p, "/..") || strings.HasSuffix(p, "/.") {
			httpjson.WriteError(w, httpjson.Errorf(http.StatusBadRequest,
				"path %q has '.', '..' or empty segments: use the canonical path", p))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// trimTrailingSlash serves /api/x/ as /api/x: JupyterLab and other clients use both spellings, and a
// redirect would drop the body of a PUT or POST.
func trimTrailingSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") &&
			(strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/lab/api/")) {
			r.URL.Path = strings.TrimRight(p, "/")
			r.URL.RawPath = ""
		}
		next.ServeHTTP(w, r)
	})
}

// pythonPrefix is sys.prefix of an interpreter that lives in PREFIX/bin (a venv or an install).
func pythonPrefix(python string) string { return filepath.Dir(filepath.Dir(python)) }

// labextensionDirs are where prebuilt JupyterLab extensions are installed, Jupyter's order.
func labextensionDirs(python string) []string {
	var dirs []string
	for _, d := range kernel.KernelspecDirs(python) {
		dirs = append(dirs, filepath.Join(filepath.Dir(d), "labextensions"))
	}
	return dirs
}

// URL is the address to open, token included.
func (s *Server) URL() string { return s.baseURL() + "lab?token=" + s.cfg.Token }

// BaseURL is the server's root URL, e.g. http://127.0.0.1:8888/.
func (s *Server) BaseURL() string { return s.baseURL() }

func (s *Server) baseURL() string {
	host := s.cfg.IP
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.cfg.Port)) + "/"
}

// Token is the server's access token.
func (s *Server) Token() string { return s.cfg.Token }

// Handler is the server's whole HTTP handler, authentication included.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves until ctx ends or a client asks the server to shut down, then shuts every kernel
// down and removes the runtime directory.
func (s *Server) Serve(ctx context.Context) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	stop := context.AfterFunc(ctx, s.cancel)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.listener) }()
	var err error
	select {
	case <-s.ctx.Done():
	case err = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.kernels.shutdownAll()
	if s.experiments != nil {
		s.experiments.Close() // running experiments are stopped and recorded as killed
	}
	_ = srv.Shutdown(shutdownCtx)
	s.cleanup()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// stop ends Serve.
func (s *Server) stop() { s.cancel() }

func (s *Server) cleanup() {
	if s.contents != nil {
		s.contents.Close()
	}
	if s.history != nil && s.history.repo != nil {
		s.history.repo.Close()
	}
	if s.catalog != nil {
		s.catalog.Close()
	}
	if s.gpuHost != nil {
		s.gpuHost.Close()
	}
	if s.ownStore {
		s.cfg.Store.Close()
	}
	if s.runtimeDir != "" {
		os.RemoveAll(s.runtimeDir)
	}
}
