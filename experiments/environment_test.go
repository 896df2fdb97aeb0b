package experiments

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/hopsml/hops/executors/gpu"
)

func noDriver() (gpu.Inventory, error) { return gpu.Inventory{}, gpu.ErrNoDriver }

func TestSnapshotReadsThePythonItIsGiven(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to snapshot a Python environment")
	}
	env, err := Snapshot(context.Background(), python, noDriver)
	if err != nil {
		t.Fatal(err)
	}
	if env.Python == nil || !strings.HasPrefix(env.Python.Version, "3.") || env.Python.Executable == "" {
		t.Fatalf("python: %+v", env.Python)
	}
	if len(env.Python.Packages) == 0 {
		t.Error("no packages listed; pip at least is installed")
	}
	for i := 1; i < len(env.Python.Packages); i++ {
		if strings.ToLower(env.Python.Packages[i-1].Name) > strings.ToLower(env.Python.Packages[i].Name) {
			t.Errorf("packages not sorted: %s before %s", env.Python.Packages[i-1].Name, env.Python.Packages[i].Name)
		}
	}
	if env.OS == "" || env.Kernel == "" || env.CPU == "" || env.Cores < 1 || env.Hops == "" {
		t.Errorf("host facts missing: %+v", env)
	}
	if env.GPU != nil || env.GPUError != gpu.ErrNoDriver.Error() {
		t.Errorf("gpu %+v, error %q", env.GPU, env.GPUError)
	}
}

func TestSnapshotWithoutPythonStillDescribesTheHost(t *testing.T) {
	inv := gpu.Inventory{Driver: "550.54.15", CUDA: "12.4", Devices: []gpu.Device{{Name: "NVIDIA H100"}}}
	env, err := Snapshot(context.Background(), "", func() (gpu.Inventory, error) { return inv, nil })
	if err != nil || env.Python != nil || env.GPU == nil || env.GPU.Devices[0].Name != "NVIDIA H100" {
		t.Fatalf("env %+v err %v", env, err)
	}
}

func TestSnapshotOfAMissingInterpreterSaysWhich(t *testing.T) {
	_, err := Snapshot(context.Background(), "/nonexistent/python", noDriver)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/python") {
		t.Fatalf("got %v", err)
	}
}

func TestASnapshotterProbesPythonAgainOnlyAfterAnInstall(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to snapshot a Python environment")
	}
	s := &Snapshotter{Python: python, GPUs: noDriver}
	first, err := s.Snapshot(context.Background())
	if err != nil || first.Python == nil {
		t.Fatal(err)
	}
	second, _ := s.Snapshot(context.Background())
	if second.Python != first.Python {
		t.Error("nothing was installed, yet Python was probed again")
	}
	s.stamp = "before an install" // what a pip install does to site-packages' modification time
	third, _ := s.Snapshot(context.Background())
	if third.Python == first.Python || len(third.Python.Packages) != len(first.Python.Packages) {
		t.Error("after an install the snapshot was not taken again")
	}
}
