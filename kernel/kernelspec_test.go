package kernel

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readKernelJSON decodes dir/kernel.json.
func readKernelJSON(t *testing.T, dir string) kernelJSON {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var kj kernelJSON
	if err := json.Unmarshal(b, &kj); err != nil {
		t.Fatalf("kernel.json is not valid JSON: %v\n%s", err, b)
	}
	return kj
}

func TestInstallKernelspecWritesKernelJSONUnderThePrefix(t *testing.T) {
	prefix := t.TempDir()
	const binary, python = "/opt/hops/bin/hops", "/home/u/project/.venv/bin/python"
	dir, err := InstallKernelspec(KernelspecOptions{Binary: binary, Python: python, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(prefix, "share", "jupyter", "kernels", "hops"); dir != want {
		t.Errorf("installed in %s, want %s", dir, want)
	}
	kj := readKernelJSON(t, dir)
	if want := []string{binary, "kernel", "-f", "{connection_file}", "--python", python}; !reflect.DeepEqual(kj.Argv, want) {
		t.Errorf("argv %q, want %q", kj.Argv, want)
	}
	if kj.DisplayName != "Python 3 (hops)" || kj.Language != "python" || kj.InterruptMode != "signal" {
		t.Errorf("display_name %q language %q interrupt_mode %q, want \"Python 3 (hops)\" python signal",
			kj.DisplayName, kj.Language, kj.InterruptMode)
	}
	if hops, _ := kj.Metadata["hops"].(map[string]any); hops["python"] != python {
		t.Errorf("metadata %v does not record the python %s", kj.Metadata, python)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"kernel.json", "logo-64x64.png", "logo-svg.svg"}; !reflect.DeepEqual(names, want) {
		t.Errorf("kernelspec files %q, want exactly %q (no temporary files left behind)", names, want)
	}
}

func TestInstallKernelspecWritesTheLogos(t *testing.T) {
	dir, err := InstallKernelspec(KernelspecOptions{Binary: "/bin/hops", Python: "/usr/bin/python3", Prefix: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "logo-svg.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(svg), "<svg") {
		t.Errorf("logo-svg.svg does not start with <svg: %.40q", svg)
	}
	f, err := os.Open(filepath.Join(dir, "logo-64x64.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("logo-64x64.png is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
		t.Errorf("logo is %dx%d, want 64x64", b.Dx(), b.Dy())
	}
	for _, name := range []string{"kernel.json", "logo-svg.svg", "logo-64x64.png"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o644 {
			t.Errorf("%s mode %v, want 0644", name, perm)
		}
	}
}

func TestInstallKernelspecNamesTheEngineAndTheDirectory(t *testing.T) {
	prefix := t.TempDir()
	dir, err := InstallKernelspec(KernelspecOptions{Name: "hops-r", Binary: "/bin/hops", Python: "/usr/bin/python3", Engine: "ir", Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "hops-r" {
		t.Errorf("installed in %s, want a directory named hops-r", dir)
	}
	want := []string{"/bin/hops", "kernel", "-f", "{connection_file}", "--python", "/usr/bin/python3", "--engine", "ir"}
	if argv := readKernelJSON(t, dir).Argv; !reflect.DeepEqual(argv, want) {
		t.Errorf("argv %q, want %q", argv, want)
	}
}

func TestInstallKernelspecTwiceOverwrites(t *testing.T) {
	prefix := t.TempDir()
	for _, python := range []string{"/old/bin/python", "/new/bin/python"} {
		if _, err := InstallKernelspec(KernelspecOptions{Binary: "/bin/hops", Python: python, Prefix: prefix}); err != nil {
			t.Fatal(err)
		}
	}
	argv := readKernelJSON(t, filepath.Join(prefix, "share", "jupyter", "kernels", "hops")).Argv
	if argv[len(argv)-1] != "/new/bin/python" {
		t.Errorf("argv %q after reinstalling with /new/bin/python", argv)
	}
}

func TestInstallKernelspecRejectsUserAndPrefixTogether(t *testing.T) {
	prefix := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", t.TempDir())
	_, err := InstallKernelspec(KernelspecOptions{Binary: "/bin/hops", Python: "/usr/bin/python3", User: true, Prefix: prefix})
	if err == nil || !strings.Contains(err.Error(), "--user") || !strings.Contains(err.Error(), "--prefix") {
		t.Fatalf("InstallKernelspec with User and Prefix = %v, want an error naming --user and --prefix", err)
	}
	if entries, _ := os.ReadDir(prefix); len(entries) != 0 {
		t.Errorf("the refused install wrote %v under the prefix", entries)
	}
}

func TestInstallKernelspecForTheUserHonoursJupyterDataDir(t *testing.T) {
	data := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", data)
	dir, err := InstallKernelspec(KernelspecOptions{Binary: "/bin/hops", Python: "/usr/bin/python3", User: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(data, "kernels", "hops"); dir != want {
		t.Errorf("installed in %s, want %s", dir, want)
	}
	if kj := readKernelJSON(t, dir); kj.DisplayName != "Python 3 (hops)" {
		t.Errorf("display_name %q", kj.DisplayName)
	}
}

// isolateJupyter points JUPYTER_PATH and the user data dir at fresh temp dirs and returns the
// kernels directory of JUPYTER_PATH.
func isolateJupyter(t *testing.T) string {
	t.Helper()
	path := t.TempDir()
	t.Setenv("JUPYTER_PATH", path)
	t.Setenv("JUPYTER_DATA_DIR", t.TempDir())
	return filepath.Join(path, "kernels")
}

func writeKernelspec(t *testing.T, kernels, name, kernelJSON string) {
	t.Helper()
	dir := filepath.Join(kernels, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), []byte(kernelJSON), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindEngineWithNoNameIsTheDefaultIpykernel(t *testing.T) {
	const python = "/venv/bin/python"
	for _, name := range []string{"", "ipykernel"} {
		got, err := FindEngine(name, python)
		if err != nil {
			t.Fatalf("FindEngine(%q): %v", name, err)
		}
		if want := DefaultEngine(python); !reflect.DeepEqual(got, want) {
			t.Errorf("FindEngine(%q) = %+v, want %+v", name, got, want)
		}
	}
	d := DefaultEngine(python)
	if d.Python != python || d.Argv[0] != python || d.Language != "python" || d.InterruptMode != "signal" {
		t.Errorf("DefaultEngine = %+v", d)
	}
}

func TestFindEngineReadsAKernelspecOnJupyterPath(t *testing.T) {
	kernels := isolateJupyter(t)
	writeKernelspec(t, kernels, "ir", `{
  "argv": ["/usr/lib/R/bin/R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"],
  "display_name": "R", "language": "R", "interrupt_mode": "message", "env": {"R_LIBS": "/opt/r"}
}`)
	spec, err := FindEngine("ir", "")
	if err != nil {
		t.Fatal(err)
	}
	want := EngineSpec{
		Name: "ir", DisplayName: "R", Language: "R", InterruptMode: "message",
		Argv: []string{"/usr/lib/R/bin/R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"},
		Env:  map[string]string{"R_LIBS": "/opt/r"},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("FindEngine(ir) =\n%+v\nwant\n%+v", spec, want)
	}
}

func TestFindEngineDefaultsInterruptModeToSignalAndKnowsIpykernelsPython(t *testing.T) {
	kernels := isolateJupyter(t)
	writeKernelspec(t, kernels, "py311", `{"argv": ["/opt/py311/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
  "display_name": "Python 3.11", "language": "python"}`)
	spec, err := FindEngine("py311", "/other/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	if spec.InterruptMode != "signal" {
		t.Errorf("interrupt_mode %q, want signal when kernel.json names none", spec.InterruptMode)
	}
	if spec.Python != "/opt/py311/bin/python" {
		t.Errorf("Python %q, want the interpreter of the ipykernel argv", spec.Python)
	}
}

func TestFindEnginePrefersJupyterPathOverTheUserDataDir(t *testing.T) {
	kernels := isolateJupyter(t)
	writeKernelspec(t, kernels, "dup", `{"argv": ["/from/jupyter_path"], "language": "python"}`)
	writeKernelspec(t, filepath.Join(os.Getenv("JUPYTER_DATA_DIR"), "kernels"), "dup", `{"argv": ["/from/data_dir"], "language": "python"}`)
	spec, err := FindEngine("dup", "")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Argv[0] != "/from/jupyter_path" {
		t.Errorf("found %q, want the JUPYTER_PATH kernelspec first", spec.Argv)
	}
}

func TestFindEngineOfAnUnknownNameSaysHowToListKernelspecs(t *testing.T) {
	isolateJupyter(t)
	_, err := FindEngine("no-such-engine-7f3a", "")
	if err == nil {
		t.Fatal("FindEngine of an unknown name succeeded")
	}
	if !strings.Contains(err.Error(), "`jupyter kernelspec list`") || !strings.Contains(err.Error(), "no-such-engine-7f3a") {
		t.Errorf("error %q does not name the engine and mention `jupyter kernelspec list`", err)
	}
}

func TestFindEngineRefusesAHopsKernelspec(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv string
	}{
		{"hops binary", `["/usr/local/bin/hops", "kernel", "-f", "{connection_file}"]`},
		{"bare hops", `["hops", "kernel", "-f", "{connection_file}"]`},
		{"renamed hops binary", `["/home/u/go/bin/hops-dev", "kernel", "-f", "{connection_file}"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kernels := isolateJupyter(t)
			writeKernelspec(t, kernels, "loop", `{"argv": `+tc.argv+`, "language": "python"}`)
			_, err := FindEngine("loop", "")
			if err == nil || !strings.Contains(err.Error(), "hops kernel") {
				t.Errorf("FindEngine of a kernelspec running %s = %v, want it refused as a hops kernel", tc.argv, err)
			}
		})
	}
}

func TestFindEngineRefusesTheKernelspecHopsInstalls(t *testing.T) {
	isolateJupyter(t)
	dir, err := InstallKernelspec(KernelspecOptions{Binary: "/opt/bin/hops", Python: "/usr/bin/python3", User: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FindEngine(filepath.Base(dir), ""); err == nil || !strings.Contains(err.Error(), "hops kernel") {
		t.Errorf("FindEngine of the installed hops kernelspec = %v, want it refused as a hops kernel", err)
	}
}

func TestFindEngineRejectsBrokenKernelspecs(t *testing.T) {
	for _, tc := range []struct {
		name, kernelJSON, want string
	}{
		{"invalid JSON", `{"argv": [`, "not valid JSON"},
		{"empty argv", `{"argv": [], "language": "python"}`, "empty argv"},
		{"no argv", `{"language": "python"}`, "empty argv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kernels := isolateJupyter(t)
			writeKernelspec(t, kernels, "broken", tc.kernelJSON)
			_, err := FindEngine("broken", "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("FindEngine = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestKernelspecDirsSearchJupyterPathThenUserThenPythonPrefix(t *testing.T) {
	a, b, data := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("JUPYTER_PATH", a+string(os.PathListSeparator)+b)
	t.Setenv("JUPYTER_DATA_DIR", data)
	got := KernelspecDirs("/proj/.venv/bin/python")
	want := []string{
		filepath.Join(a, "kernels"), filepath.Join(b, "kernels"), filepath.Join(data, "kernels"),
		"/proj/.venv/share/jupyter/kernels", "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("KernelspecDirs =\n%q\nwant\n%q", got, want)
	}
}

func TestFindEngineRunsABarePythonWithTheProjectInterpreter(t *testing.T) {
	root := t.TempDir()
	t.Setenv("JUPYTER_PATH", root)
	dir := filepath.Join(root, "kernels", "py")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kj := `{"argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "Python 3", "language": "python"}`
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), []byte(kj), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := FindEngine("py", "/project/.venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Argv[0] != "/project/.venv/bin/python" || spec.Python != "/project/.venv/bin/python" {
		t.Errorf("argv %v, python %q", spec.Argv, spec.Python)
	}
}

func TestIsBarePython(t *testing.T) {
	for cmd, want := range map[string]bool{"python": true, "python3": true, "python3.11": true,
		"python3.": false, "python3.x": false, "/usr/bin/python3": false, "ipython": false} {
		if got := isBarePython(cmd); got != want {
			t.Errorf("isBarePython(%q) = %v, want %v", cmd, got, want)
		}
	}
}
