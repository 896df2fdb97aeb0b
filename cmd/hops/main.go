// Command hops is the one hops binary: the Jupyter kernel, its kernelspec installer and, as the
// project grows, the notebook server and the experiment CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/internal/buildinfo"
	"github.com/hopsml/hops/kernel"
	"github.com/hopsml/hops/magics"
)

const usage = `hops: a reproducible ML workbench on JupyterLab.

Usage:
  hops kernel -f CONNECTION_FILE [--python PATH] [--engine NAME]
                               run the hops Jupyter kernel (frontends start it from its kernelspec)
  hops kernelspec install [--user | --prefix DIR] [--name NAME] [--python PATH] [--engine NAME]
                               install the "Python 3 (hops)" kernelspec
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
	case "kernel":
		return runKernel(args[1:], stderr)
	case "kernelspec":
		return runKernelspec(args[1:], stdout, stderr)
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
	level := slog.LevelInfo
	if os.Getenv("HOPS_LOG") == "debug" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("component", "hops-kernel")

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
		MagicEnv: magics.Env{Snapshot: func(ctx context.Context) (experiments.Environment, error) {
			return experiments.Snapshot(ctx, spec.Python, func() (gpu.Inventory, error) { return gpu.Discover(gpu.System()) })
		}},
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
	return k.Serve(ctx)
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
	py, err := kernel.ResolvePython(*python)
	if err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	if bin, err = filepath.EvalSymlinks(bin); err != nil {
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
