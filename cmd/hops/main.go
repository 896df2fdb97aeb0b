// Command hops is the one hops binary: the notebook server (hops lab), the Jupyter kernel and its
// kernelspec installer, and, as the project grows, the experiment CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/internal/buildinfo"
	"github.com/hopsml/hops/kernel"
	"github.com/hopsml/hops/magics"
	"github.com/hopsml/hops/server"
	"github.com/hopsml/hops/store"
	storehdfs "github.com/hopsml/hops/store/hdfs"
	storelocal "github.com/hopsml/hops/store/local"
)

const usage = `hops: a reproducible ML workbench on JupyterLab.

Usage:
  hops lab [--dir DIR] [--ip 127.0.0.1] [--port 8888] [--token T] [--python PATH]
                               serve JupyterLab on the workspace DIR (default: the current directory)
  hops kernel -f CONNECTION_FILE [--python PATH] [--engine NAME]
                               run the hops Jupyter kernel (frontends start it from its kernelspec)
  hops kernelspec install [--user | --prefix DIR] [--name NAME] [--python PATH] [--engine NAME]
                               install the "Python 3 (hops)" kernelspec
  hops exp list [--name N] [--limit N] | show ID | compare ID ID... | checkout ID [--branch] | rerun ID [--dir DIR | --url URL --token T]
                               browse the experiments of a running hops lab (found through DIR/.hops/server.json)
  hops version                 print the version

Run "hops COMMAND -h" for the flags of a command.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hops:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "lab":
		return runLab(args[1:], stderr)
	case "kernel":
		return runKernel(args[1:], stderr)
	case "kernelspec":
		return runKernelspec(args[1:], stdout, stderr)
	case "exp":
		return runExp(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, buildinfo.String())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func runLab(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("hops lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "workspace directory: notebooks, data and the .hops state live here")
	ip := fs.String("ip", "127.0.0.1", "address to listen on (anything but loopback exposes the workspace to the network)")
	port := fs.Int("port", 8888, "port to listen on (0 picks a free one; a busy default moves to the next free port)")
	token := fs.String("token", "", "access token (default: a random one, printed in the URL)")
	python := fs.String("python", "", "the project's Python, running ipykernel under the hops kernel (default $HOPS_PYTHON, else python3)")
	storeURL := fs.String("store", "", "the project store: a directory, file:///dir or hdfs://[user@]namenode:port/path (default: the workspace's .hops/store)")
	fs.Bool("no-browser", true, "accepted for compatibility with jupyter: hops lab never opens a browser itself")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("hops lab takes no arguments (got %q); pass the workspace with --dir", fs.Args())
	}
	log := newLogger(stderr, "hops-lab")
	if os.Getenv("GOGC") == "" {
		// The server's live heap is small (per kernel, a few buffers): collecting at +50% instead of
		// +100% keeps its footprint down for a few milliseconds of CPU a minute.
		debug.SetGCPercent(50)
	}
	py, bin, err := pythonAndBinary(*python)
	if err != nil {
		return err
	}
	st, err := openStore(*storeURL)
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
		log.Info("project store", "at", st.String())
	}
	portSet := false
	fs.Visit(func(f *flag.Flag) { portSet = portSet || f.Name == "port" })
	cfg := server.Config{Root: *dir, IP: *ip, Port: *port, Token: *token, Python: py, Binary: bin, Log: log, Store: st}
	srv, err := server.New(cfg)
	// Like jupyter, a busy default port moves on to the next ones; a port asked for is not changed.
	for try := 1; err != nil && !portSet && try < 50 && errors.Is(err, syscall.EADDRINUSE); try++ {
		cfg.Port = *port + try
		srv, err = server.New(cfg)
	}
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(*dir)
	if err := writeServerInfo(abs, srv.BaseURL(), srv.Token()); err != nil {
		log.Warn("hops exp will not find this server by its workspace", "err", err)
	}
	defer os.Remove(serverInfoPath(abs))
	fmt.Fprintf(stderr, "\nhops lab %s is serving %s\n\n    %s\n\nOpen the URL above in a browser. Ctrl-C stops the server and its kernels.\n\n",
		buildinfo.Version, abs, srv.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return srv.Serve(ctx)
}

// openStore opens the project store a --store URL names; nil for the default (the server's own).
func openStore(raw string) (store.FS, error) {
	dir := raw
	switch {
	case raw == "":
		return nil, nil
	case strings.HasPrefix(raw, "hdfs://"):
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := storehdfs.Open(ctx, raw, storehdfs.Options{})
		if err != nil {
			return nil, err
		}
		return st, nil
	case strings.HasPrefix(raw, "file://"):
		u, err := url.Parse(raw)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("--store %s: a file URL names a local directory: file:///path/to/dir", raw)
		}
		dir = u.Path
	case strings.Contains(raw, "://"):
		return nil, fmt.Errorf("--store %s: unknown kind of store; give a directory, file:///dir or hdfs://namenode:port/path", raw)
	}
	st, err := storelocal.Open(dir)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// newLogger logs to stderr; HOPS_LOG=debug shows debug messages.
func newLogger(stderr io.Writer, component string) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("HOPS_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("component", component)
}

// pythonAndBinary resolves what a kernelspec runs: the project's Python (the flag, else
// $HOPS_PYTHON, else python3) and this binary's absolute path, symlinks resolved.
func pythonAndBinary(python string) (py, bin string, err error) {
	if py, err = kernel.ResolvePython(python); err != nil {
		return "", "", err
	}
	if bin, err = os.Executable(); err != nil {
		return "", "", err
	}
	bin, err = filepath.EvalSymlinks(bin)
	return py, bin, err
}

func runKernel(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("hops kernel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connFile := fs.String("f", "", "Jupyter connection file (required; the frontend passes it)")
	python := fs.String("python", "", "Python interpreter of the default ipykernel engine (default $HOPS_PYTHON, else python3)")
	engineName := fs.String("engine", "", "kernelspec name of the engine kernel (default: ipykernel run by --python)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *connFile == "" {
		fs.Usage()
		return errors.New("hops kernel needs -f CONNECTION_FILE")
	}
	log := newLogger(stderr, "hops-kernel")

	if path := os.Getenv("HOPS_CPUPROFILE"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	conn, err := kernel.ReadConnectionFile(*connFile)
	if err != nil {
		return err
	}
	py, err := kernel.ResolvePython(*python)
	if err != nil && *engineName == "" {
		return err
	}
	spec, err := kernel.FindEngine(*engineName, py)
	if err != nil {
		return err
	}

	k, err := kernel.New(kernel.Config{
		Connection: conn, Engine: spec, Magics: magics.Standard(), Log: log,
		MagicEnv: magics.Env{
			Snapshot: func(ctx context.Context) (experiments.Environment, error) {
				return experiments.Snapshot(ctx, spec.Python, func() (gpu.Inventory, error) { return gpu.Discover(gpu.System()) })
			},
			API:      magics.ClientFromEnv(),
			KernelID: os.Getenv("HOPS_KERNEL_ID"),
		},
	})
	if err != nil {
		return err
	}
	// SIGINT is an interrupt (interrupt_mode "signal"), never a reason to exit.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	go func() {
		for range interrupts {
			k.Interrupt()
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go exitWithParent(ctx, stop, log)
	return k.Serve(ctx)
}

// exitWithParent stops the kernel when the frontend process that started it is gone, as ipykernel
// does: a frontend killed with SIGKILL cannot shut its kernels down. JPY_PARENT_PID names it.
func exitWithParent(ctx context.Context, stop func(), log *slog.Logger) {
	parent, err := strconv.Atoi(os.Getenv("JPY_PARENT_PID"))
	if err != nil || parent <= 1 {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if os.Getppid() != parent {
				log.Warn("the frontend that started this kernel is gone; shutting down", "parent_pid", parent)
				stop()
				return
			}
		}
	}
}

// startCPUProfile writes a CPU profile of the kernel to path until the returned func is called
// (HOPS_CPUPROFILE=path, for `go tool pprof`).
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("HOPS_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("HOPS_CPUPROFILE: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func runKernelspec(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "install" {
		return errors.New(`usage: hops kernelspec install [--user | --prefix DIR] [--name NAME] [--python PATH] [--engine NAME]`)
	}
	fs := flag.NewFlagSet("hops kernelspec install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.Bool("user", false, "install for the current user (the default when --prefix is not given)")
	prefix := fs.String("prefix", "", "install under DIR/share/jupyter/kernels (e.g. a virtualenv's sys.prefix)")
	name := fs.String("name", "hops", "kernelspec name")
	python := fs.String("python", "", "Python interpreter of the engine (default $HOPS_PYTHON, else python3)")
	engineName := fs.String("engine", "", "kernelspec name of the engine kernel (default: ipykernel run by --python)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	py, bin, err := pythonAndBinary(*python)
	if err != nil {
		return err
	}
	dir, err := kernel.InstallKernelspec(kernel.KernelspecOptions{
		Name: *name, Binary: bin, Python: py, Engine: *engineName, User: *user, Prefix: *prefix,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Installed kernelspec %s in %s (engine: %s)\n", *name, dir,
		strings.TrimSpace(*engineName+" ipykernel via "+py))
	return nil
}
