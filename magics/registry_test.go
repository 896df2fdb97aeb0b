package magics

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments"
)

// recorder is an Output that keeps what a command shows.
type recorder struct {
	displays []Bundle
}

func (r *recorder) Display(data Bundle) error {
	r.displays = append(r.displays, data)
	return nil
}

func (r *recorder) Show(_ string, data Bundle) error { return r.Display(data) }

func (r *recorder) Update(string, Bundle) error { return nil }

func (r *recorder) Stream(string, string) error { return nil }

// mentions checks that text contains every string of want and none of not.
func mentions(t *testing.T, what, text string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not mention %q:\n%s", what, w, text)
		}
	}
	for _, n := range not {
		if strings.Contains(text, n) {
			t.Errorf("%s mentions %q:\n%s", what, n, text)
		}
	}
}

const testEngine = "ipykernel 6.29.5, Python 3.11.7"

func testEnv(snapshot func(context.Context) (experiments.Environment, error)) (*Env, *recorder) {
	out := &recorder{}
	return &Env{Out: out, Engine: testEngine, Protocol: "5.3", Snapshot: snapshot}, out
}

// testEnvironment is a host with three Python packages and no GPU driver.
func testEnvironment() experiments.Environment {
	return experiments.Environment{
		Captured: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Hops:     "0.1.0-test",
		Python: &experiments.Python{
			Version: "3.11.7", Implementation: "CPython", Executable: "/proj/.venv/bin/python", Prefix: "/proj/.venv",
			Packages: []experiments.Package{
				{Name: "numpy", Version: "1.26.4"},
				{Name: "torch", Version: "2.3.1"},
				{Name: "Torchvision", Version: "0.18.1"},
			},
		},
		OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "Linux 6.1.0 x86_64", CPU: "AMD EPYC 7742", Cores: 16,
		GPUError: "no NVIDIA driver: libnvidia-ml.so.1 not found",
	}
}

func snapshotOf(env experiments.Environment) func(context.Context) (experiments.Environment, error) {
	return func(context.Context) (experiments.Environment, error) { return env, nil }
}

// run runs one %hops line with the standard commands and returns the one bundle it displays.
func run(t *testing.T, line string, env *Env, out *recorder) Bundle {
	t.Helper()
	if err := Standard().Run(context.Background(), line, "", false, env); err != nil {
		t.Fatalf("%%hops %s: %v", line, err)
	}
	if len(out.displays) != 1 {
		t.Fatalf("%%hops %s displayed %d bundles, want 1", line, len(out.displays))
	}
	return out.displays[0]
}

func text(t *testing.T, b Bundle, mime string) string {
	t.Helper()
	s, ok := b[mime].(string)
	if !ok {
		t.Fatalf("bundle has no %s string: %#v", mime, b)
	}
	return s
}

func TestVersionShowsHopsAndTheEngine(t *testing.T) {
	env, out := testEnv(nil)
	b := run(t, "version", env, out)
	got := text(t, b, "text/plain")
	for _, want := range []string{"hops", testEngine, "5.3"} {
		if !strings.Contains(got, want) {
			t.Errorf("%%hops version shows %q, missing %q", got, want)
		}
	}
}

func TestRunRejectsBadLinesWithAUsageError(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       string // in the message
	}{
		{"no command", "", "needs a command"},
		{"blank line", "   ", "needs a command"},
		{"misspelt command", "verison", "did you mean `%hops version`"},
		{"unknown command", "hepl", "did you mean `%hops help`"},
		{"unknown flag", "env --grp x", "--grep"},
		{"unknown short flag", "env -g x", "unknown flag -g"},
		{"flag on a command without flags", "version --json", "takes no flags"},
		{"bool flag given a value", "env --json=yes", `got "yes"`},
		{"missing flag value", "env --grep", "needs a value"},
		{"flag given twice", "env --grep a --grep b", "given twice"},
		{"argument to a command without arguments", "version now", "takes no arguments"},
		{"too many arguments to help", "help env version", "help takes 0 to 1 arguments, got 2"},
		{"help of an unknown command", "help evn", "did you mean `%hops help env`"},
		{"unterminated quote", `env --grep "torch`, "unterminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, out := testEnv(snapshotOf(testEnvironment()))
			err := Standard().Run(context.Background(), tc.line, "", false, env)
			var usage *UsageError
			if !errors.As(err, &usage) {
				t.Fatalf("%%hops %s = %v, want a *UsageError", tc.line, err)
			}
			if !strings.Contains(usage.Msg, tc.want) {
				t.Errorf("%%hops %s: %q does not contain %q", tc.line, usage.Msg, tc.want)
			}
			if len(out.displays) != 0 {
				t.Errorf("%%hops %s showed output with its usage error: %v", tc.line, out.displays)
			}
		})
	}
}

func TestHelpShowsEveryCommandWithItsExample(t *testing.T) {
	r := Standard()
	env, out := testEnv(nil)
	b := run(t, "help", env, out)
	plain, html := text(t, b, "text/plain"), text(t, b, "text/html")
	if len(r.Names()) < 3 {
		t.Fatalf("Standard has commands %q, want at least env, help and version", r.Names())
	}
	for _, name := range r.Names() {
		c, _ := r.Lookup(name)
		for mime, s := range map[string]string{"text/plain": plain, "text/html": html} {
			if !strings.Contains(s, "%hops "+name) {
				t.Errorf("help %s does not mention %%hops %s", mime, name)
			}
			if c.Example == "" || !strings.Contains(s, c.Example) {
				t.Errorf("help %s does not show the example %q of %s", mime, c.Example, name)
			}
		}
	}
}

func TestHelpOfOneCommandShowsOnlyThatCommand(t *testing.T) {
	env, out := testEnv(nil)
	b := run(t, "help env", env, out)
	plain := text(t, b, "text/plain")
	for _, want := range []string{"%hops env", "--grep PATTERN", "--json", "%hops env --grep torch"} {
		if !strings.Contains(plain, want) {
			t.Errorf("help env %q does not contain %q", plain, want)
		}
	}
	for _, other := range []string{"%hops version", "%hops help"} {
		if strings.Contains(plain, other) || strings.Contains(text(t, b, "text/html"), other) {
			t.Errorf("help env mentions %s", other)
		}
	}
}

func TestCommandHelpFlagShowsTheCommandsHelp(t *testing.T) {
	env, out := testEnv(nil)
	want := run(t, "help env", env, out)
	for _, line := range []string{"env --help", "env -h", "env --help --no-such-flag"} {
		env, out := testEnv(func(context.Context) (experiments.Environment, error) {
			t.Errorf("%%hops %s ran the command", line)
			return experiments.Environment{}, nil
		})
		if got := run(t, line, env, out); !reflect.DeepEqual(got, want) {
			t.Errorf("%%hops %s shows %v, want the help of env %v", line, got, want)
		}
	}
}

func TestCellWithABodyForALineCommandIsAUsageError(t *testing.T) {
	env, out := testEnv(nil)
	err := Standard().Run(context.Background(), "version", "print(1)\n", true, env)
	var usage *UsageError
	if !errors.As(err, &usage) || !strings.Contains(usage.Msg, "takes no cell body") {
		t.Errorf("%%%%hops version with a body = %v, want a *UsageError saying it takes no cell body", err)
	}
	if len(out.displays) != 0 {
		t.Errorf("displayed %v", out.displays)
	}

	// A %%hops cell whose body is blank is the same as the line.
	env, out = testEnv(nil)
	if err := Standard().Run(context.Background(), "version", "\n  \n", true, env); err != nil {
		t.Errorf("%%%%hops version with a blank body: %v", err)
	}
	if len(out.displays) != 1 {
		t.Errorf("%%%%hops version with a blank body displayed %d bundles, want 1", len(out.displays))
	}
}

func TestRunPassesTheCellBodyToACellCommand(t *testing.T) {
	var got *Invocation
	r := NewRegistry(&Command{Name: "record", Cell: true, MaxArgs: -1, Example: "%%hops record",
		Flags: []Flag{{Name: "tag", Short: "t", Value: "TAG", Repeat: true}, {Name: "quiet", Kind: Bool}},
		Run:   func(_ context.Context, inv *Invocation) error { got = inv; return nil }})
	env, _ := testEnv(nil)
	if err := r.Run(context.Background(), "record -t a --tag=b --quiet=false x -- --y", "body\n", true, env); err != nil {
		t.Fatal(err)
	}
	if got.Body != "body\n" || !got.Cell || got.Env != env {
		t.Errorf("body %q cell %v env %p, want the cell's", got.Body, got.Cell, got.Env)
	}
	if !reflect.DeepEqual(got.Flags["tag"], []string{"a", "b"}) || got.String("tag") != "b" {
		t.Errorf("tag %q, want [a b] with b last", got.Flags["tag"])
	}
	if got.Bool("quiet") {
		t.Error("--quiet=false reads as true")
	}
	if !reflect.DeepEqual(got.Args, []string{"x", "--y"}) {
		t.Errorf("args %q, want [x --y]: -- ends the flags", got.Args)
	}
}

func TestEnvShowsPythonPackagesAndWhyThereIsNoGPU(t *testing.T) {
	env, out := testEnv(snapshotOf(testEnvironment()))
	b := run(t, "env", env, out)
	plain, html := text(t, b, "text/plain"), text(t, b, "text/html")
	for _, want := range []string{
		"no NVIDIA driver", "numpy==1.26.4", "torch==2.3.1", "Torchvision==0.18.1", "packages (3)",
		"CPython 3.11.7", "/proj/.venv/bin/python", "Debian GNU/Linux 12", "AMD EPYC 7742, 16 cores", testEngine,
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("%%hops env text does not contain %q:\n%s", want, plain)
		}
	}
	for _, want := range []string{"no NVIDIA driver", "numpy", "1.26.4", "Python packages (3)"} {
		if !strings.Contains(html, want) {
			t.Errorf("%%hops env HTML does not contain %q", want)
		}
	}
}

func TestEnvGrepKeepsOnlyMatchingPackages(t *testing.T) {
	for _, tc := range []struct {
		line      string
		want, not []string
	}{
		{"env --grep torch", []string{"torch==2.3.1", "Torchvision==0.18.1", "packages (2)"}, []string{"numpy"}},
		{"env --grep=TORCH", []string{"torch==2.3.1", "Torchvision==0.18.1"}, []string{"numpy"}},
		{"env --grep vision", []string{"Torchvision==0.18.1", "packages (1)"}, []string{"numpy", "torch=="}},
		{"env --grep nothing-matches", []string{"packages (0)"}, []string{"numpy", "torch"}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			env, out := testEnv(snapshotOf(testEnvironment()))
			plain := text(t, run(t, tc.line, env, out), "text/plain")
			mentions(t, tc.line, plain, tc.want, tc.not)
		})
	}
}

func TestEnvJSONShowsTheSnapshotAsJSON(t *testing.T) {
	for _, tc := range []struct {
		line     string
		packages []string
	}{
		{"env --json", []string{"numpy", "torch", "Torchvision"}},
		{"env --json --grep torch", []string{"torch", "Torchvision"}},
		{"env --json=true", []string{"numpy", "torch", "Torchvision"}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			env, out := testEnv(snapshotOf(testEnvironment()))
			b := run(t, tc.line, env, out)
			data, ok := b["application/json"].(experiments.Environment)
			if !ok {
				t.Fatalf("bundle application/json = %#v, want the experiments.Environment", b["application/json"])
			}
			var got []string
			for _, p := range data.Python.Packages {
				got = append(got, p.Name)
			}
			if !reflect.DeepEqual(got, tc.packages) {
				t.Errorf("application/json packages %q, want %q", got, tc.packages)
			}
			var decoded experiments.Environment
			if err := json.Unmarshal([]byte(text(t, b, "text/plain")), &decoded); err != nil {
				t.Fatalf("text/plain is not the JSON of the snapshot: %v", err)
			}
			if !reflect.DeepEqual(decoded, data) {
				t.Errorf("text/plain decodes to %+v, want %+v", decoded, data)
			}
			if _, ok := b["text/html"]; ok {
				t.Error("--json also shows the HTML table")
			}
		})
	}
	env, out := testEnv(snapshotOf(testEnvironment()))
	if b := run(t, "env --json=false", env, out); b["application/json"] != nil {
		t.Error("--json=false shows JSON")
	}
}

func TestEnvShowsGPUsWhenThereAreSome(t *testing.T) {
	e := testEnvironment()
	e.GPUError = ""
	e.GPU = &gpu.Inventory{Driver: "550.54.15", CUDA: "12.4", Devices: []gpu.Device{
		{Index: 0, UUID: "GPU-0000", Name: "NVIDIA H100 80GB HBM3", MemoryTotal: 80 << 30, UtilizationGPU: 42},
	}}
	env, out := testEnv(snapshotOf(e))
	plain := text(t, run(t, "env", env, out), "text/plain")
	for _, want := range []string{"1 (NVIDIA driver 550.54.15, CUDA 12.4)", "NVIDIA H100 80GB HBM3, 80 GiB memory, 42% busy, GPU-0000"} {
		if !strings.Contains(plain, want) {
			t.Errorf("%%hops env text does not contain %q:\n%s", want, plain)
		}
	}
}

func TestEnvWithoutPythonSaysItWasNotInspected(t *testing.T) {
	e := testEnvironment()
	e.Python = nil
	env, out := testEnv(snapshotOf(e))
	plain := text(t, run(t, "env --grep torch", env, out), "text/plain")
	if !strings.Contains(plain, "not inspected") || strings.Contains(plain, "packages") {
		t.Errorf("%%hops env without Python shows:\n%s", plain)
	}
}

func TestEnvReturnsTheSnapshotError(t *testing.T) {
	want := errors.New("probe python: exit status 1")
	env, out := testEnv(func(context.Context) (experiments.Environment, error) {
		return experiments.Environment{}, want
	})
	if err := Standard().Run(context.Background(), "env", "", false, env); !errors.Is(err, want) {
		t.Errorf("%%hops env = %v, want the snapshot's error %v", err, want)
	}
	if len(out.displays) != 0 {
		t.Errorf("displayed %v after a failed snapshot", out.displays)
	}
}

func TestEnvWithoutASnapshotFails(t *testing.T) {
	env, _ := testEnv(nil)
	err := Standard().Run(context.Background(), "env", "", false, env)
	var usage *UsageError
	if err == nil || errors.As(err, &usage) {
		t.Errorf("%%hops env with no Snapshot = %v, want a non-usage error", err)
	}
}

func TestEnvPassesTheContextToSnapshot(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "cell")
	var got any
	env, _ := testEnv(func(ctx context.Context) (experiments.Environment, error) {
		got = ctx.Value(key{})
		return testEnvironment(), nil
	})
	if err := Standard().Run(ctx, "env", "", false, env); err != nil {
		t.Fatal(err)
	}
	if got != "cell" {
		t.Error("Snapshot did not get the context Run was given")
	}
}
