package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hopsml/hops/internal/atomicfile"
)

// EngineSpec says how to start an engine kernel: a Jupyter kernelspec, or the default ipykernel.
type EngineSpec struct {
	Name          string
	DisplayName   string
	Argv          []string // "{connection_file}" is replaced by the engine's connection file
	Env           map[string]string
	Language      string
	InterruptMode string // "signal" (default) or "message"
	// Python is the engine's interpreter when hops knows it (the default engine); commands that inspect
	// the engine's environment run it.
	Python string
}

// SpeaksIPC reports whether the kernel is known to accept ipc connection files (ipykernel and hops);
// any other kernel gets loopback TCP, which every kernel supports.
func (s EngineSpec) SpeaksIPC() bool {
	return s.Python != "" || isIPykernel(s.Argv) || (len(s.Argv) > 1 && filepath.Base(s.Argv[0]) == "hops" && s.Argv[1] == "kernel")
}

// ArgvFor is the command line that starts the kernel on the given connection file.
func (s EngineSpec) ArgvFor(connFile string) []string {
	argv := make([]string, len(s.Argv))
	for i, a := range s.Argv {
		argv[i] = strings.ReplaceAll(a, "{connection_file}", connFile)
	}
	return argv
}

// EnvList is the kernelspec's env as KEY=VALUE, with ${VAR} references expanded from the current
// environment as jupyter_client does.
func (s EngineSpec) EnvList() []string {
	var env []string
	for k, v := range s.Env {
		env = append(env, k+"="+os.ExpandEnv(v))
	}
	return env
}

// kernelJSON is the kernel.json file of a kernelspec.
type kernelJSON struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata,omitempty"`
}

// DefaultEngine is ipykernel run by the given Python interpreter: the project's environment.
func DefaultEngine(python string) EngineSpec {
	return EngineSpec{
		Name: "ipykernel", DisplayName: "Python 3 (ipykernel)", Language: "python", InterruptMode: "signal",
		// -Xfrozen_modules=off: as in ipykernel's own kernelspec, so that debugpy can set breakpoints
		// and does not warn on every start (older Pythons ignore unknown -X options).
		Argv:   []string{python, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"},
		Python: python,
	}
}

// ResolvePython returns the interpreter hops uses when none is named: $HOPS_PYTHON, else python3 on PATH.
func ResolvePython(flag string) (string, error) {
	p := flag
	if p == "" {
		p = os.Getenv("HOPS_PYTHON")
	}
	if p == "" {
		p = "python3"
	}
	abs, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("python interpreter %q not found: pass --python PATH or set HOPS_PYTHON to the project's venv python (make venv creates .venv/bin/python)", p)
	}
	return filepath.Abs(abs)
}

// KernelspecDirs lists the directories searched for kernelspecs, in Jupyter's order of precedence:
// $JUPYTER_PATH entries, the user data dir, the Python environment's prefix, then the system dirs.
func KernelspecDirs(python string) []string {
	var dirs []string
	for _, p := range filepath.SplitList(os.Getenv("JUPYTER_PATH")) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "kernels"))
		}
	}
	dirs = append(dirs, filepath.Join(userDataDir(), "kernels"))
	if python != "" {
		// <prefix>/bin/python -> <prefix>/share/jupyter/kernels (sys.prefix of a venv)
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(python)), "share", "jupyter", "kernels"))
	}
	return append(dirs, "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels")
}

func userDataDir() string {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "jupyter")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "jupyter")
}

// ReadKernelspec reads the kernelspec named name in dir: its kernel.json as written, for those who
// show it, and the launch description derived from it. A bare "python" in argv means the interpreter
// of the environment the spec came from; as jupyter_client does with its own interpreter, python
// (the project's) is put in its place.
func ReadKernelspec(name, dir, python string) (EngineSpec, map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		return EngineSpec{}, nil, fmt.Errorf("kernelspec %q: %w", name, err)
	}
	var raw map[string]any
	var kj kernelJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return EngineSpec{}, nil, fmt.Errorf("kernelspec %q: %s/kernel.json is not valid JSON: %w", name, dir, err)
	}
	if err := json.Unmarshal(b, &kj); err != nil || len(kj.Argv) == 0 {
		return EngineSpec{}, nil, fmt.Errorf("kernelspec %q: %s/kernel.json needs a non-empty argv list of strings", name, dir)
	}
	if python != "" && isBarePython(kj.Argv[0]) {
		kj.Argv[0] = python
	}
	spec := EngineSpec{Name: name, DisplayName: kj.DisplayName, Argv: kj.Argv, Env: kj.Env,
		Language: kj.Language, InterruptMode: kj.InterruptMode}
	if spec.InterruptMode == "" {
		spec.InterruptMode = "signal"
	}
	if isIPykernel(kj.Argv) {
		spec.Python = kj.Argv[0]
	}
	return spec, raw, nil
}

// FindEngine looks up an installed kernelspec by name to use as the engine.
func FindEngine(name, python string) (EngineSpec, error) {
	if name == "" || name == "ipykernel" {
		return DefaultEngine(python), nil
	}
	dirs := KernelspecDirs(python)
	for _, d := range dirs {
		dir := filepath.Join(d, name)
		if _, err := os.Stat(filepath.Join(dir, "kernel.json")); errors.Is(err, os.ErrNotExist) {
			continue
		}
		spec, _, err := ReadKernelspec(name, dir, python)
		if err != nil {
			return EngineSpec{}, fmt.Errorf("engine %w", err)
		}
		argv := spec.Argv
		if filepath.Base(argv[0]) == "hops" || (len(argv) > 1 && argv[1] == "kernel" && strings.Contains(argv[0], "hops")) {
			return EngineSpec{}, fmt.Errorf("engine %q is itself a hops kernel; pick the kernelspec of the language kernel to run under hops", name)
		}
		return spec, nil
	}
	return EngineSpec{}, fmt.Errorf("engine kernelspec %q not found in %s; `jupyter kernelspec list` shows the installed ones", name, strings.Join(dirs, ", "))
}

// isIPykernel reports whether argv runs ipykernel (python [-X...] -m ipykernel_launcher ...).
func isIPykernel(argv []string) bool {
	for i := 1; i+1 < len(argv); i++ {
		if argv[i] == "-m" {
			return strings.HasPrefix(argv[i+1], "ipykernel")
		}
	}
	return false
}

func isBarePython(cmd string) bool {
	if cmd == "python" || cmd == "python3" {
		return true
	}
	minor, ok := strings.CutPrefix(cmd, "python3.")
	return ok && minor != "" && strings.Trim(minor, "0123456789") == ""
}

// KernelspecOptions says where and how `hops kernelspec install` writes the hops kernelspec.
type KernelspecOptions struct {
	Name   string // kernelspec directory name, "hops" by default
	Binary string // absolute path of the hops binary
	Python string // interpreter of the default engine
	Engine string // engine kernelspec name, "" for the default ipykernel
	User   bool   // install for the user (Jupyter data dir)
	Prefix string // install under PREFIX/share/jupyter/kernels
}

// InstallKernelspec writes the "Python 3 (hops)" kernelspec and returns its directory.
func InstallKernelspec(o KernelspecOptions) (string, error) {
	if o.Name == "" {
		o.Name = "hops"
	}
	var root string
	switch {
	case o.Prefix != "" && o.User:
		return "", errors.New("--user and --prefix are exclusive: pick one")
	case o.Prefix != "":
		root = filepath.Join(o.Prefix, "share", "jupyter", "kernels")
	default:
		root = filepath.Join(userDataDir(), "kernels")
	}
	argv := []string{o.Binary, "kernel", "-f", "{connection_file}", "--python", o.Python}
	if o.Engine != "" {
		argv = append(argv, "--engine", o.Engine)
	}
	kj := kernelJSON{
		Argv: argv, DisplayName: "Python 3 (hops)", Language: "python", InterruptMode: "signal",
		Metadata: map[string]any{"debugger": false, "hops": map[string]any{"python": o.Python}},
	}
	dir := filepath.Join(root, o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("install kernelspec: %w", err)
	}
	b, _ := json.MarshalIndent(kj, "", "  ")
	files := map[string][]byte{"kernel.json": b, "logo-svg.svg": []byte(logoSVG()), "logo-64x64.png": logoPNG(64)}
	for name, data := range files {
		if err := atomicfile.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", fmt.Errorf("install kernelspec: %w", err)
		}
	}
	return dir, nil
}
