package magics

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/experiments/search"
)

// cellRecorder keeps every message a run shows, in order.
type cellRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (c *cellRecorder) add(s string) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, s)
	c.mu.Unlock()
	return nil
}
func (c *cellRecorder) Display(b Bundle) error {
	return c.add("display " + b["text/plain"].(string))
}
func (c *cellRecorder) Show(id string, b Bundle) error { return c.add("show " + id) }
func (c *cellRecorder) Update(id string, b Bundle) error {
	return c.add("update " + b["text/plain"].(string))
}
func (c *cellRecorder) Stream(name, text string) error { return c.add(name + " " + text) }
func (c *cellRecorder) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.msgs, "\n")
}

func TestARunViewSendsWhatAQuietTrialPrintedWithoutWaitingForTheNextEvent(t *testing.T) {
	out := &cellRecorder{}
	v := newRunView(&experiments.Experiment{ID: "e1", Name: "demo", TrialsTotal: 1, Started: time.Now()}, out)
	stop := v.tickWhileRunning()
	defer stop()
	v.event(experiments.Event{Kind: "trial", Trial: &experiments.Trial{ID: "t0", State: experiments.Running, Params: search.Params{"lr": 0.1}}})
	v.event(experiments.Event{Kind: "output", TrialID: "t0", Stream: "stdout", Text: "first"})
	v.event(experiments.Event{Kind: "output", TrialID: "t0", Stream: "stdout", Text: "sleeping"})
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.all(), "[t0] sleeping") || !strings.Contains(out.all(), "t0 lr=0.1") {
		if time.Now().After(deadline) {
			t.Fatalf("after a quiet second the cell shows:\n%s", out.all())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTheSummaryNamesTheBestTrialTheNoteAndFailedTrials(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e := &experiments.Experiment{ID: "e1", State: experiments.Finished, Started: start, Ended: start.Add(1500 * time.Millisecond),
		Objective: &search.Objective{Metric: "acc", Direction: search.Max}, Best: "t1", Note: "1 of 2 trials failed",
		Location: "Experiments/e1", Commit: "0123456789abcdef", CodeChanged: true,
		Trials: []*experiments.Trial{
			{ID: "t0", State: experiments.Failed, Params: search.Params{"lr": 0.5}, Error: "ValueError: boom", Traceback: "<script>"},
			{ID: "t1", State: experiments.Finished, Params: search.Params{"lr": 0.1}, Metrics: map[string]float64{"acc": 0.93},
				Artifacts: []string{"Experiments/e1/t1/artifacts/plots/loss.svg", "Experiments/e1/t1/artifacts/model-2.pt"},
				Models:    []experiments.Model{{Name: "mnist", Version: 3, Location: "Models/mnist/3"}}},
		}}
	b := summary(e)
	text, html := b["text/plain"].(string), b["text/html"].(string)
	for _, want := range []string{"finished in 1.5s", "Best: t1 (lr=0.1) with acc = 0.93 (max)", "Note: 1 of 2 trials failed",
		"t0 failed: ValueError: boom", "0123456, the cell differs from it (unsaved edits)",
		"Kept by the trials (under Experiments/e1/<trial>/artifacts/ and Models/ on the store):\n  t1: plots/loss.svg, model-2.pt, model mnist v3\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("a traceback is not escaped in the HTML summary")
	}
}

func TestDataFrameCodeKeepsParamsThenMetricsThenStateAndDuration(t *testing.T) {
	e := &experiments.Experiment{ID: "e1", Trials: []*experiments.Trial{
		{ID: "t0", State: experiments.Finished, Params: search.Params{"b": int64(2), "a": "x'''y"}, Metrics: map[string]float64{"loss": 1}},
	}}
	code := dataFrameCode("res", e)
	if !strings.Contains(code, `columns=_hops_json.loads("[\"trial\",\"a\",\"b\",\"loss\",\"state\",\"duration_s\"]")`) {
		t.Errorf("columns:\n%s", code)
	}
	if strings.Contains(code, "x'''y") {
		t.Error("record text reaches the Python source unencoded")
	}
}

func TestEnvironmentDiffNamesPythonPackagesAndGPUsThatChanged(t *testing.T) {
	a := &experiments.Environment{OS: "Debian 12", Python: &experiments.Python{Version: "3.11.7",
		Packages: []experiments.Package{{Name: "numpy", Version: "2.0"}, {Name: "torch", Version: "2.1.0"}, {Name: "six", Version: "1.16"}}}}
	b := &experiments.Environment{OS: "Debian 12", Python: &experiments.Python{Version: "3.11.9",
		Packages: []experiments.Package{{Name: "NumPy", Version: "2.0"}, {Name: "torch", Version: "2.2.0"}, {Name: "tqdm", Version: "4.66"}}},
		GPU: &gpu.Inventory{Driver: "550", CUDA: "12.4", Devices: []gpu.Device{{Name: "H100"}}}}
	got := strings.Join(experiments.DiffEnvironments(a, b), "\n")
	want := "Python 3.11.7 -> 3.11.9\npackage six 1.16 removed\npackage torch 2.1.0 -> 2.2.0\npackage tqdm 4.66 added\nGPUs none -> 1× H100 (driver 550, CUDA 12.4)"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if d := experiments.DiffEnvironments(a, a); len(d) != 0 {
		t.Errorf("an environment differs from itself: %v", d)
	}
}

func TestCompareRunsPutsParamsAndBestMetricsSideBySide(t *testing.T) {
	env := &experiments.Environment{Python: &experiments.Python{Version: "3.11.7"}}
	run := func(id string, lrs ...float64) *experiments.Experiment {
		e := &experiments.Experiment{ID: id, Name: "n" + id, State: experiments.Finished, Method: search.Grid, TrialsTotal: len(lrs),
			Best: "t1", Environment: env}
		for i, lr := range lrs {
			e.Trials = append(e.Trials, &experiments.Trial{ID: "t" + strconv.Itoa(i), State: experiments.Finished,
				Params: search.Params{"lr": lr}, Metrics: map[string]float64{"acc": lr * 10}})
		}
		return e
	}
	got := compareRuns([]*experiments.Experiment{run("A", 0.1, 0.2), run("B", 0.3, 0.4)})["text/plain"].(string)
	got = regexp.MustCompile(` {2,}`).ReplaceAllString(got, " | ")
	for _, want := range []string{"param lr | 0.1, 0.2 | 0.3, 0.4", "best trial's acc | 2 | 4", "environment: the same in every run"} {
		if !strings.Contains(got, want) {
			t.Errorf("comparison lacks %q:\n%s", want, got)
		}
	}
}

func TestRerunDifferencesSayWhetherMetricsAndEnvironmentChanged(t *testing.T) {
	env := func(pkgs ...string) *experiments.Environment {
		p := &experiments.Python{Version: "3.11.7"}
		for _, name := range pkgs {
			p.Packages = append(p.Packages, experiments.Package{Name: name, Version: "1.0"})
		}
		return &experiments.Environment{Python: p}
	}
	run := func(id string, acc float64, e *experiments.Environment) *experiments.Experiment {
		return &experiments.Experiment{ID: id, Environment: e, Trials: []*experiments.Trial{{ID: "t0", State: experiments.Finished,
			Params: search.Params{"seed": int64(1)}, Metrics: map[string]float64{"acc": acc}}}}
	}
	same := rerunDifferences(run("a", 0.9, env("numpy")), run("b", 0.9, env("numpy")))["text/plain"].(string)
	if !strings.Contains(same, "Metrics: identical in every trial.") || !strings.Contains(same, "Environment: no difference.") {
		t.Errorf("identical runs:\n%s", same)
	}
	changed := rerunDifferences(run("a", 0.9, env("numpy")), run("b", 0.8, env("numpy", "tqdm")))["text/plain"].(string)
	if !strings.Contains(changed, "Metrics: they differ.") || !strings.Contains(changed, "1 difference(s):\n  package tqdm 1.0 added") {
		t.Errorf("changed runs:\n%s", changed)
	}
}

func TestThinKeepsAtMostNEvenlySpacedPointsWithTheEnds(t *testing.T) {
	tl := make([]experiments.Point, 1000)
	for i := range tl {
		tl[i].Step = int64(i)
	}
	got := thin(tl, 500)
	if len(got) != 500 || got[0].Step != 0 || got[499].Step != 999 {
		t.Errorf("%d points from %d to %d", len(got), got[0].Step, got[len(got)-1].Step)
	}
	if short := tl[:10]; len(thin(short, 500)) != 10 {
		t.Error("a short timeline lost points")
	}
}
