package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/executors/local"
	"github.com/hopsml/hops/experiments/search"
	"github.com/hopsml/hops/store"
	storelocal "github.com/hopsml/hops/store/local"
)

// projectPython is the venv interpreter; without it trials cannot run: the tests fail under CI and
// skip elsewhere.
func projectPython(t *testing.T) string {
	t.Helper()
	py, err := filepath.Abs("../.venv/bin/python")
	if err == nil {
		_, err = os.Stat(py)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the project venv is missing (%v): run make venv", err)
		}
		t.Skip("no project venv; run make venv")
	}
	return py
}

type fixture struct {
	svc     *Service
	catalog *Catalog
	store   store.FS
	dir     string
}

// newFixture is an experiment service on a fresh workspace, running trials as local processes with
// the project's Python and the SDK from this repository.
func newFixture(t *testing.T) *fixture { return newFixtureWith(t, func(*local.Config) {}) }

func newFixtureWith(t *testing.T, configure func(*local.Config)) *fixture {
	t.Helper()
	py := projectPython(t)
	dir := t.TempDir()
	st, err := storelocal.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := OpenCatalog(filepath.Join(dir, "experiments.db"))
	if err != nil {
		t.Fatal(err)
	}
	sdk, _ := filepath.Abs("../python")
	lc := local.Config{Python: py}
	configure(&lc)
	svc, err := NewService(Config{Catalog: catalog, Store: st, Workspace: dir, Scratch: filepath.Join(dir, "runs"),
		Backend:  local.New(lc),
		TrialEnv: []string{"PYTHONPATH=" + sdk},
		Snapshot: func(ctx context.Context) (Environment, error) { return Snapshot(ctx, py, noDriver) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		catalog.Close()
		st.Close()
	})
	return &fixture{svc: svc, catalog: catalog, store: st, dir: dir}
}

// runToEnd starts a run and follows it to its end, returning the final record and every event.
func (f *fixture) runToEnd(t *testing.T, req Request) (*Experiment, []Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := f.svc.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	var final *Experiment
	if err := f.svc.Follow(ctx, e.ID, 0, func(ev Event) error {
		events = append(events, ev)
		if ev.Kind == "end" {
			final = ev.Experiment
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return final, events
}

func (f *fixture) readStore(t *testing.T, name string) string {
	t.Helper()
	r, err := f.store.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

func TestAGridSearchRunsEveryCombinationAndRecordsIt(t *testing.T) {
	f := newFixture(t)
	code := "import hops\nfor step in range(3):\n    hops.log(acc=lr * batch * (step + 1))\nprint('trained', lr, batch)\n"
	e, events := f.runToEnd(t, Request{Name: "grid", Code: code, Grid: []string{"lr=0.1,0.2,0.3", "batch=1,2"},
		Executors: 2, Optimize: "acc:max"})
	if e.State != Finished || len(e.Trials) != 6 || e.TrialsTotal != 6 || e.Method != search.Grid {
		t.Fatalf("state %s, %d of %d trials, method %s", e.State, len(e.Trials), e.TrialsTotal, e.Method)
	}
	for _, tr := range e.Trials {
		want := tr.Params["lr"].(float64) * float64(tr.Params["batch"].(int64)) * 3
		if tr.State != Finished || tr.Metrics["acc"] != want || len(tr.Timeline["acc"]) != 3 || tr.Started.IsZero() {
			t.Errorf("trial %s: %+v", tr.ID, tr)
		}
		if log := f.readStore(t, e.Location+"/"+tr.ID+"/output.log"); !strings.HasPrefix(log, "trained ") {
			t.Errorf("trial %s log: %q", tr.ID, log)
		}
	}
	if e.Best != "t5" {
		t.Errorf("best is %s, want t5 (lr=0.3, batch=2)", e.Best)
	}
	if e.Environment == nil || e.Environment.Python == nil || len(e.Environment.Python.Packages) == 0 {
		t.Errorf("no environment snapshot: %+v", e.Environment)
	}
	if got := f.readStore(t, e.Location+"/program.py"); got != code {
		t.Errorf("program.py is %q", got)
	}
	outputs := 0
	for _, ev := range events {
		if ev.Kind == "output" {
			outputs++
		}
	}
	if events[0].Kind != "start" || outputs != 6 {
		t.Errorf("first event %s, %d output lines (want start, 6)", events[0].Kind, outputs)
	}
	listed, err := f.svc.List(context.Background(), ListOptions{})
	if err != nil || len(listed) != 1 || listed[0].ID != e.ID || listed[0].State != Finished || listed[0].BestValue == nil {
		t.Errorf("listing: %v %+v", err, listed)
	} else if listed[0].Environment != nil || listed[0].Code != "" {
		t.Error("a listing carries each run's code and environment; they belong to the run's own record")
	}
}

func TestAFailingTrialIsMarkedFailedWithItsTracebackAndTheOthersGoOn(t *testing.T) {
	f := newFixture(t)
	e, events := f.runToEnd(t, Request{Code: "import hops\nif x == 2:\n    raise ValueError('x=2 is bad')\nhops.log(score=x)\n",
		Grid: []string{"x=1,2,3"}, Executors: 3})
	if e.State != Finished || !strings.Contains(e.Note, "1 of 3 trials failed") {
		t.Fatalf("state %s note %q", e.State, e.Note)
	}
	bad := e.Trials[1]
	if bad.State != Failed || bad.Error != "ValueError: x=2 is bad" || !strings.Contains(bad.Traceback, "raise ValueError('x=2 is bad')") {
		t.Errorf("failed trial: %+v", bad)
	}
	if e.Trials[0].State != Finished || e.Trials[2].State != Finished {
		t.Errorf("the other trials: %s %s", e.Trials[0].State, e.Trials[2].State)
	}
	sawTraceback := false
	for _, ev := range events {
		sawTraceback = sawTraceback || ev.Kind == "output" && ev.TrialID == bad.ID && ev.Stream == "stderr" && strings.Contains(ev.Text, "ValueError")
	}
	if !sawTraceback {
		t.Error("the failing trial's traceback was not streamed on stderr")
	}
}

func TestStopEndsEveryTrialWithinTwoSeconds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// The trials ignore SIGTERM: only the SIGKILL after the grace period ends them.
	code := "import signal, time, hops\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\ntime.sleep(60)\n"
	e, err := f.svc.Start(ctx, Request{Code: code, Grid: []string{"i=1,2,3"}, Executors: 2})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	var stopped time.Time
	var final *Experiment
	err = f.svc.Follow(ctx, e.ID, 0, func(ev Event) error {
		if ev.Kind == "output" && ev.Text == "up" {
			if running++; running == 2 {
				stopped = time.Now()
				if err := f.svc.Stop(e.ID); err != nil {
					return err
				}
			}
		}
		if ev.Kind == "end" {
			final = ev.Experiment
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(stopped); took > 2*time.Second {
		t.Errorf("the run took %s to stop", took)
	}
	if final.State != Killed || final.Note != "stopped by the user" {
		t.Errorf("state %s note %q", final.State, final.Note)
	}
	for _, tr := range final.Trials {
		if tr.State != Killed {
			t.Errorf("trial %s is %s", tr.ID, tr.State)
		}
	}
}

func TestAMetricToOptimizeThatNoTrialLogsIsNoted(t *testing.T) {
	f := newFixture(t)
	e, _ := f.runToEnd(t, Request{Code: "import hops\nhops.log(loss=x)\n", Grid: []string{"x=1,2"}, Optimize: "accuracy:max"})
	if e.State != Finished || e.Best != "" || !strings.Contains(e.Note, `no trial logged the metric to optimize, "accuracy"`) {
		t.Errorf("state %s best %q note %q", e.State, e.Best, e.Note)
	}
}

func TestDifferentialEvolutionRunsGenerationByGeneration(t *testing.T) {
	f := newFixture(t)
	e, _ := f.runToEnd(t, Request{Code: "import hops\nhops.log(y=-(x - 3) ** 2)\n", Random: []string{"x=0:10"},
		Search: "evolution", Generations: 3, Population: 4, Optimize: "y:max", Seed: 7, Executors: 2})
	if e.State != Finished || len(e.Trials) != 12 || e.Trials[11].Generation != 2 || e.Best == "" {
		t.Fatalf("state %s, %d trials, best %q", e.State, len(e.Trials), e.Best)
	}
}

func TestBadRequestsAreRefusedBeforeAnythingRuns(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"no code", Request{Code: "  \n"}, "no code to run"},
		{"empty grid", Request{Code: "pass", Grid: []string{"lr="}}, "--grid"},
		{"GPUs on a host without", Request{Code: "pass", GPUs: 1}, "--gpus 0"},
		{"unknown search", Request{Code: "pass", Grid: []string{"a=1"}, Search: "bayes"}, "grid, random or evolution"},
		{"bad timeout", Request{Code: "pass", Timeout: "soon"}, "--timeout soon"},
		{"bad objective", Request{Code: "pass", Optimize: "acc:up"}, "--optimize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Start(context.Background(), tc.req)
			var bad *RequestError
			if !errors.As(err, &bad) || !strings.Contains(bad.Msg, tc.want) {
				t.Fatalf("got %v, want a RequestError mentioning %q", err, tc.want)
			}
		})
	}
	if list, _ := f.svc.List(context.Background(), ListOptions{}); len(list) != 0 {
		t.Errorf("refused requests were recorded: %d", len(list))
	}
}

func TestARunLeftRunningByAKilledServerIsRecordedAsKilled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e := &Experiment{ID: NewID(time.Now()), Name: "crashed", Started: time.Now().UTC(), State: Running,
		Location: "Experiments/x", Trials: []*Trial{{ID: "t0", State: Running, Started: time.Now().UTC()}, {ID: "t1", Index: 1, State: Queued}}}
	if err := f.catalog.Save(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := NewService(Config{Catalog: f.catalog, Store: f.store, Scratch: filepath.Join(f.dir, "runs")}); err != nil {
		t.Fatal(err)
	}
	got, err := f.catalog.Get(ctx, e.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Killed || got.Ended.IsZero() || !strings.Contains(got.Note, "hops lab stopped") ||
		got.Trials[0].State != Killed || got.Trials[1].State != Killed {
		t.Errorf("%+v", got)
	}
}

func TestARunLeftRunningKeepsTheValuesArtifactsAndModelsItsTrialReported(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e := &Experiment{ID: NewID(time.Now()), Name: "crashed", Started: time.Now().UTC(), State: Running,
		Location: "Experiments/x", Trials: []*Trial{{ID: "t0", State: Running, Started: time.Now().UTC()}}}
	if err := f.catalog.Save(ctx, e); err != nil {
		t.Fatal(err)
	}
	// What the killed server left: the trial's events, one artifact already on the store, one still
	// only the SDK's staged copy, and one whose staged copy was lost with nothing on the store.
	dir := filepath.Join(f.dir, "runs", e.ID, "t0")
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	artifact := func(n int, name string) string {
		return fmt.Sprintf(`{"type":"artifact","time":1.5,"path":%q,"name":%q,"source":"/nb/%s"}`,
			filepath.Join(dir, "staged", fmt.Sprint(n), filepath.Base(name)), name, name)
	}
	model := func(n int, name string) string {
		return fmt.Sprintf(`{"type":"model","time":1.5,"path":%q,"name":%q,"metrics":{"acc":0.9},"source":"/nb/model"}`,
			filepath.Join(dir, "staged", fmt.Sprint(n), "model"), name)
	}
	write(filepath.Join(dir, "staged", "2", "model.pt"), "weights")
	write(filepath.Join(dir, "staged", "5", "model", "w.bin"), "w5")
	write(filepath.Join(dir, "events.jsonl"), strings.Join([]string{
		`{"type":"log","time":1.0,"step":0,"metrics":{"loss":0.5}}`,
		artifact(1, "plots/loss.svg"), artifact(2, "out/model.pt"), artifact(3, "lost.txt"),
		model(4, "tiny"), // exported before the kill: version 2 (version 1 is another run's)
		model(5, "tiny"), // staged, not exported: exported now, as version 3
		`{"type":"log","time":2.0,"step":1,"metrics":{"loss":0.25}}`,
		`{"type":"log","ti`, // cut short by the kill
	}, "\n"))
	put := func(name, content string) {
		t.Helper()
		if err := f.svc.putFile(ctx, name, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	put("Experiments/x/t0/artifacts/plots/loss.svg", "<svg/>")
	put("Models/tiny/1/model.json", `{"name":"tiny","version":1,"experiment":"another","trial":"t0"}`)
	put("Models/tiny/2/model.json", fmt.Sprintf(`{"name":"tiny","version":2,"experiment":%q,"trial":"t0","metrics":{"acc":0.9}}`, e.ID))

	if _, err := NewService(Config{Catalog: f.catalog, Store: f.store, Scratch: filepath.Join(f.dir, "runs")}); err != nil {
		t.Fatal(err)
	}
	got, err := f.catalog.Get(ctx, e.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	tr := got.Trials[0]
	want := []string{"Experiments/x/t0/artifacts/plots/loss.svg", "Experiments/x/t0/artifacts/out/model.pt"}
	if !slices.Equal(tr.Artifacts, want) {
		t.Errorf("artifacts %v, want %v", tr.Artifacts, want)
	}
	if got := f.readStore(t, "Experiments/x/t0/artifacts/out/model.pt"); got != "weights" {
		t.Errorf("the staged artifact on the store holds %q", got)
	}
	wantModels := []Model{{Name: "tiny", Version: 2, Location: "Models/tiny/2", Metrics: map[string]float64{"acc": 0.9}},
		{Name: "tiny", Version: 3, Location: "Models/tiny/3", Metrics: map[string]float64{"acc": 0.9}}}
	if !reflect.DeepEqual(tr.Models, wantModels) {
		t.Errorf("models %+v, want %+v", tr.Models, wantModels)
	}
	if got := f.readStore(t, "Models/tiny/3/model/w.bin"); got != "w5" {
		t.Errorf("the staged model on the store holds %q", got)
	}
	if tr.Metrics["loss"] != 0.25 || len(tr.Timeline["loss"]) != 2 {
		t.Errorf("metrics %v, timeline %v", tr.Metrics, tr.Timeline)
	}
}

func TestCellInNotebookMatchesACodeCellWrittenAsLinesOrAString(t *testing.T) {
	nb := []byte(`{"cells":[{"cell_type":"markdown","source":"%%hops run\nx"},
		{"cell_type":"code","source":["%%hops run --grid a=1,2\n","print(a)\n"]},
		{"cell_type":"code","source":"print(1)"}]}`)
	for cell, want := range map[string]bool{
		"%%hops run --grid a=1,2\nprint(a)":     true,
		"%%hops run --grid a=1,2\nprint(a)\n\n": true,
		"print(1)":                              true,
		"%%hops run\nx":                         false, // a markdown cell
		"%%hops run --grid a=1,2\nprint(a + 1)": false,
	} {
		if got := cellInNotebook(nb, cell); got != want {
			t.Errorf("cellInNotebook(%q) = %v", cell, got)
		}
	}
}

func TestTrialsOnAMockDGXA100GetWholeGPUsQueueForThemAndTheirUseIsRecorded(t *testing.T) {
	lib := dgxa100.New()
	for _, d := range lib.Devices { // the mock leaves utilization to the test
		d.(*server.Device).GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: 70}, nvml.SUCCESS
		}
	}
	host, err := gpu.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	inv, _ := host.Inventory()
	f := newFixtureWith(t, func(c *local.Config) {
		c.GPUs, c.Host, c.SampleEvery = gpu.NewAllocator(inv.Devices), host, 50*time.Millisecond
	})
	// 6 trials of 4 GPUs on 8 GPUs, 3 executors: the third trial of each wave waits for GPUs.
	e, events := f.runToEnd(t, Request{Code: "import os, time\nprint(os.environ['CUDA_VISIBLE_DEVICES'])\ntime.sleep(0.3)\n",
		Grid: []string{"i=1..6"}, GPUs: 4, Executors: 3})
	if e.State != Finished || e.GPUs != 4 {
		t.Fatalf("state %s gpus %d", e.State, e.GPUs)
	}
	waited := false
	for _, ev := range events {
		waited = waited || ev.Kind == "trial" && ev.Trial.State == Waiting
	}
	if !waited {
		t.Error("no trial waited for GPUs")
	}
	for _, tr := range e.Trials {
		if len(tr.GPUs) != 4 || len(tr.GPUSamples) == 0 {
			t.Errorf("trial %s: GPUs %v, %d samples", tr.ID, tr.GPUs, len(tr.GPUSamples))
		}
		for _, s := range tr.GPUSamples {
			if !slices.Contains(tr.GPUs, s.Index) {
				t.Errorf("trial %s has a sample of GPU %d it does not hold", tr.ID, s.Index)
			}
		}
	}
	_, err = f.svc.Start(context.Background(), Request{Code: "pass", GPUs: 9})
	if err == nil || !strings.Contains(err.Error(), "this host has 8 GPUs; ask for --gpus 8 or fewer") {
		t.Errorf("9 GPUs of 8: %v", err)
	}
}

func TestArtifactsModelsAndTensorBoardLogdirsGoToTheStore(t *testing.T) {
	f := newFixture(t)
	code := `import hops, os
with open("report.txt", "w") as out:
    out.write("seed %d" % seed)
hops.artifact("report.txt")
for d in ("a", "b"):
    os.makedirs(d, exist_ok=True)
    with open(d + "/report.txt", "w") as out:
        out.write(d)
    hops.artifact(d + "/report.txt")
for epoch in range(3):
    with open("ckpt.bin", "w") as out:
        out.write("epoch %d" % epoch)
    hops.artifact("ckpt.bin")
os.remove("ckpt.bin")  # kept as it was at the call all the same
logdir = hops.tensorboard.logdir()
with open(os.path.join(logdir, "events.out"), "w") as out:
    out.write("scalars")
import tempfile
with tempfile.TemporaryDirectory() as tmp:  # gone right after the export: the registry keeps its copy
    os.makedirs(tmp + "/model")
    with open(tmp + "/model/weights.bin", "w") as out:
        out.write("w%d" % seed)
    hops.model.export(tmp + "/model", "tiny", metrics={"acc": 0.5 + seed})
`
	e, _ := f.runToEnd(t, Request{Code: code, Grid: []string{"seed=1,2"}, Executors: 1})
	if e.State != Finished {
		t.Fatalf("state %s: %+v", e.State, e.Trials[0])
	}
	for i, tr := range e.Trials {
		dir := e.Location + "/" + tr.ID + "/artifacts/"
		want := []string{dir + "report.txt", dir + "a/report.txt", dir + "b/report.txt", dir + "ckpt.bin"}
		if !slices.Equal(tr.Artifacts, want) {
			t.Errorf("trial %s artifacts %v, want %v", tr.ID, tr.Artifacts, want)
		}
		for name, content := range map[string]string{"report.txt": fmt.Sprintf("seed %d", i+1), "a/report.txt": "a",
			"b/report.txt": "b", "ckpt.bin": "epoch 2"} {
			if got := f.readStore(t, dir+name); got != content {
				t.Errorf("trial %s artifact %s holds %q, want %q", tr.ID, name, got, content)
			}
		}
		if left, _ := os.ReadDir(filepath.Join(f.dir, "runs", e.ID, tr.ID, "staged")); len(left) != 0 {
			t.Errorf("trial %s: the SDK's copies are still in its directory after the store got them: %v", tr.ID, left)
		}
		if tr.Tensorboard != e.Location+"/"+tr.ID+"/tensorboard" || f.readStore(t, tr.Tensorboard+"/events.out") != "scalars" {
			t.Errorf("trial %s tensorboard %q", tr.ID, tr.Tensorboard)
		}
		if len(tr.Models) != 1 || tr.Models[0].Version != i+1 || tr.Models[0].Metrics["acc"] != 0.5+float64(i+1) {
			t.Fatalf("trial %s models %+v", tr.ID, tr.Models)
		}
		loc := tr.Models[0].Location
		if loc != fmt.Sprintf("Models/tiny/%d", i+1) || f.readStore(t, loc+"/model/weights.bin") != fmt.Sprintf("w%d", i+1) ||
			!strings.Contains(f.readStore(t, loc+"/model.json"), `"experiment": "`+e.ID+`"`) {
			t.Errorf("model at %s", loc)
		}
	}
}

func TestAModelVersionAppearsWholeAndAKilledExportsLeftoversAreReplaced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A server killed while it copied version 1 left this behind; version 1 was never published.
	if err := f.svc.putFile(ctx, "Models/tiny/.1.partial/model/weights.bin", []byte("half")); err != nil {
		t.Fatal(err)
	}
	code := "import hops, os\nos.makedirs('model')\nopen('model/weights.bin', 'w').write('whole')\nhops.model.export('model', 'tiny')\n"
	e, _ := f.runToEnd(t, Request{Code: code})
	if e.State != Finished || len(e.Trials[0].Models) != 1 || e.Trials[0].Models[0].Location != "Models/tiny/1" {
		t.Fatalf("state %s, models %+v", e.State, e.Trials[0].Models)
	}
	if got := f.readStore(t, "Models/tiny/1/model/weights.bin"); got != "whole" {
		t.Errorf("version 1 holds %q", got)
	}
	entries, err := f.store.List(ctx, "Models/tiny")
	if err != nil || len(entries) != 1 || entries[0].Name != "1" {
		t.Errorf("Models/tiny holds %+v (%v), want only version 1", entries, err)
	}
}

func TestOnlyTheSDKsOwnCopiesOfArtifactsAreRemovedAfterTheyAreStored(t *testing.T) {
	for path, want := range map[string]string{
		"/ws/.hops/runs/e1/t01/staged/3/model.pt":          "/ws/.hops/runs/e1/t01/staged/3",
		"/ws/.hops/runs/e1/t01/staged/3/plots/loss.svg":    "", // inside a staged directory: not the SDK's path
		"/ws/.hops/runs/e1/t01/staged/model.pt":            "",
		"/ws/.hops/runs/e1/t01/staged/../../t02/model.pt":  "",
		"/ws/.hops/runs/e1/t02/staged/1/model.pt":          "", // another trial's
		"/ws/notebooks/model.pt":                           "", // the user's own file (an SDK that stages nothing)
		"/ws/.hops/runs/e1/t01/staged/3/../../../model.pt": "",
	} {
		if got := stagedDir("/ws/.hops/runs/e1/t01", path); got != want {
			t.Errorf("stagedDir(%s) = %q, want %q", path, got, want)
		}
	}
}

func TestARerunRunsTheRecordedCodeWithTheRecordedParameters(t *testing.T) {
	f := newFixture(t)
	orig, _ := f.runToEnd(t, Request{Name: "search", Code: "import hops, random\nrandom.seed(7)\nhops.log(acc=random.random() * x)\n",
		Random: []string{"x=1:10"}, Trials: 3, Optimize: "acc:max", Executors: 2})
	again, _ := f.runToEnd(t, Request{RerunOf: orig.ID})
	if again.RerunOf != orig.ID || again.Code != orig.Code || again.Name != "search" || again.State != Finished || len(again.Trials) != 3 {
		t.Fatalf("rerun: %+v", again)
	}
	for i, tr := range again.Trials {
		o := orig.Trials[i]
		if tr.Params["x"] != o.Params["x"] || tr.Metrics["acc"] != o.Metrics["acc"] {
			t.Errorf("trial %s: %v %v, the original %v %v", tr.ID, tr.Params, tr.Metrics, o.Params, o.Metrics)
		}
	}
	if again.Best != orig.Best || *again.BestValue != *orig.BestValue {
		t.Errorf("best %s=%v, the original's %s=%v", again.Best, *again.BestValue, orig.Best, *orig.BestValue)
	}
	if _, err := f.svc.Start(context.Background(), Request{RerunOf: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a rerun of an unknown experiment: %v", err)
	}
}
