// Package experiments owns what hops records about runs. This file: the environment snapshot, what a
// run ran with (Python and every installed package, OS, CPU, GPUs with driver and CUDA, hops itself),
// taken from the interpreter that runs the code.
package experiments

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/internal/buildinfo"
)

//go:embed probe.py
var probeScript string

// Package is one installed Python distribution.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Python is the interpreter and what is installed in it.
type Python struct {
	Version        string    `json:"version"`
	Implementation string    `json:"implementation"`
	Executable     string    `json:"executable"`
	Prefix         string    `json:"prefix"`
	Packages       []Package `json:"packages"`
}

// Environment is a snapshot of what code runs with.
type Environment struct {
	Captured time.Time      `json:"captured"`
	Hops     string         `json:"hops"`
	Python   *Python        `json:"python,omitempty"`
	OS       string         `json:"os"`     // e.g. "Debian GNU/Linux 12 (bookworm)"
	Kernel   string         `json:"kernel"` // e.g. "Linux 6.1.0 x86_64"
	CPU      string         `json:"cpu"`    // model name
	Cores    int            `json:"cores"`
	GPU      *gpu.Inventory `json:"gpu,omitempty"`
	GPUError string         `json:"gpu_error,omitempty"` // why there is no GPU inventory
	// Variables are the environment variables that change how ML code runs (CUDA_*, OMP_*, PYTHON*,
	// ...); secrets are never recorded.
	Variables map[string]string `json:"variables,omitempty"`
}

// relevantPrefixes name the environment variables a snapshot records.
var relevantPrefixes = []string{"CUDA_", "NVIDIA_", "NCCL_", "CUBLAS_", "CUDNN_", "TF_", "XLA_", "TORCH", "PYTORCH_",
	"OMP_", "MKL_", "OPENBLAS_", "PYTHON", "VIRTUAL_ENV", "CONDA_", "LD_LIBRARY_PATH", "HF_", "TRANSFORMERS_",
	"JAX_", "KERAS_", "MPLBACKEND", "LANG", "LC_ALL", "TZ", "PATH"}

// secretWords mark a variable as a secret whatever its prefix.
var secretWords = []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH"}

// relevantVariables picks the variables of environ (KEY=value) that a snapshot records.
func relevantVariables(environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		relevant := false
		for _, p := range relevantPrefixes {
			relevant = relevant || strings.HasPrefix(k, p)
		}
		for _, w := range secretWords {
			relevant = relevant && !strings.Contains(strings.ToUpper(k), w)
		}
		if relevant {
			out[k] = v
		}
	}
	return out
}

// Snapshot captures the environment of the given Python interpreter ("" to skip Python) on this host.
func Snapshot(ctx context.Context, python string, gpus func() (gpu.Inventory, error)) (Environment, error) {
	env := Environment{Captured: time.Now().UTC(), Hops: buildinfo.Version, Cores: runtime.NumCPU(),
		OS: osName(), Kernel: kernelName(), CPU: cpuModel(), Variables: relevantVariables(os.Environ())}
	if inv, err := gpus(); err != nil {
		env.GPUError = err.Error()
	} else {
		env.GPU = &inv
	}
	if python == "" {
		return env, nil
	}
	p, err := probePython(ctx, python)
	if err != nil {
		return env, err
	}
	env.Python = p
	return env, nil
}

// Snapshotter takes snapshots of one interpreter's environment, reusing the Python part (which
// takes a Python process, ~0.1 s with a hundred packages) while nothing was installed or removed:
// pip changes the site-packages directories' modification times when it adds or removes a package.
type Snapshotter struct {
	Python string
	GPUs   func() (gpu.Inventory, error)

	mu     sync.Mutex
	python *Python
	stamp  string // modification times of the interpreter and its site-packages when python was read
}

// Snapshot captures the environment now.
func (s *Snapshotter) Snapshot(ctx context.Context) (Environment, error) {
	env, err := Snapshot(ctx, "", s.GPUs)
	if err != nil || s.Python == "" {
		return env, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.python != nil && s.stamp == installStamp(s.Python, s.python.Prefix) {
		env.Python = s.python
		return env, nil
	}
	p, err := probePython(ctx, s.Python)
	if err != nil {
		return env, err
	}
	s.python, s.stamp, env.Python = p, installStamp(s.Python, p.Prefix), p
	return env, nil
}

// installStamp identifies what is installed for an interpreter: the modification times of the
// interpreter and of its prefix's site-packages directories.
func installStamp(python, prefix string) string {
	var b strings.Builder
	dirs, _ := filepath.Glob(filepath.Join(prefix, "lib", "python*", "site-packages"))
	for _, p := range append([]string{python}, dirs...) {
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s@%d;", p, st.ModTime().UnixNano())
		}
	}
	return b.String()
}

func probePython(ctx context.Context, python string) (*Python, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", probeScript)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("inspect Python environment of %s: %w", python, ctx.Err())
		}
		return nil, fmt.Errorf("inspect Python environment of %s: %v: %s", python, err, strings.TrimSpace(stderr.String()))
	}
	var p Python
	if err := json.Unmarshal(out, &p); err != nil {
		return nil, fmt.Errorf("inspect Python environment of %s: unexpected output: %w", python, err)
	}
	return &p, nil
}

func osName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

func kernelName() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return runtime.GOOS + " " + runtime.GOARCH
	}
	str := func(b [65]int8) string {
		var s strings.Builder
		for _, c := range b {
			if c == 0 {
				break
			}
			s.WriteByte(byte(c))
		}
		return s.String()
	}
	return str(u.Sysname) + " " + str(u.Release) + " " + str(u.Machine)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
