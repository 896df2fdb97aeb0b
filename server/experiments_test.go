package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hopsml/hops/experiments"
)

// follow reads an experiment's event stream to its end.
func (ts *testServer) follow(t *testing.T, id string) []experiments.Event {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.url+"api/hops/experiments/"+id+"/events", nil)
	req.Header.Set("Authorization", "token "+ts.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	var events []experiments.Event
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var ev experiments.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	if len(events) == 0 || events[len(events)-1].Kind != "end" {
		t.Fatalf("the stream ended without an end event: %+v", events)
	}
	return events
}

func TestAnExperimentRunsRecordsItsNotebookVersionAndIsServed(t *testing.T) {
	ts := startServer(t)
	ts.saveNotebook(t, "nb.ipynb", "1")
	cell := "print(1)" // the notebook's one cell, as saved
	var e experiments.Experiment
	code := ts.call(t, "POST", "/api/hops/experiments", experiments.Request{Code: "import hops\nhops.log(acc=lr)\nprint('lr', lr)",
		Cell: cell, Notebook: "nb.ipynb", Grid: []string{"lr=0.1,0.2"}, Optimize: "acc:max"}, &e)
	if code != http.StatusCreated || e.State != experiments.Running || e.Name != "nb" || e.Commit == "" || e.CodeChanged {
		t.Fatalf("start: %d %+v", code, e)
	}
	events := ts.follow(t, e.ID)
	if events[0].Kind != "start" || events[0].Seq != 1 {
		t.Errorf("first event: %+v", events[0])
	}
	final := events[len(events)-1].Experiment
	if final.State != experiments.Finished || final.Best != "t1" || len(final.Trials[1].Timeline["acc"]) != 1 {
		t.Fatalf("end: %+v", final)
	}

	var got experiments.Experiment
	if code := ts.call(t, "GET", "/api/hops/experiments/"+e.ID+"?timelines=false", nil, &got); code != http.StatusOK ||
		got.Commit != e.Commit || got.Trials[0].Timeline != nil || got.Trials[0].Metrics["acc"] != 0.1 {
		t.Errorf("get: %d %+v", code, got)
	}
	var list struct{ Experiments []experiments.Experiment }
	if code := ts.call(t, "GET", "/api/hops/experiments?limit=5&name=nb", nil, &list); code != http.StatusOK ||
		len(list.Experiments) != 1 || list.Experiments[0].ID != e.ID {
		t.Errorf("list: %d %+v", code, list)
	}
	// A follower of an ended run gets its whole record at once; stopping it changes nothing.
	if again := ts.follow(t, e.ID); len(again) != 1 || again[0].Experiment.State != experiments.Finished {
		t.Errorf("events of an ended run: %+v", again)
	}
	if code := ts.call(t, "POST", "/api/hops/experiments/"+e.ID+"/stop", nil, nil); code != http.StatusAccepted {
		t.Errorf("stop an ended run: %d", code)
	}

	// A cell edited after the save is recorded as such.
	ts.call(t, "POST", "/api/hops/experiments", experiments.Request{Code: "pass", Cell: "print(2)", Notebook: "nb.ipynb"}, &e)
	if !e.CodeChanged || e.Commit == "" {
		t.Errorf("an unsaved cell: %+v", e)
	}
	ts.follow(t, e.ID)
}

func TestExperimentRequestsWithBadInputGetA4xxThatSaysWhatToDo(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/api/hops/experiments", `{"code": `, 400, "not valid JSON"},
		{"POST", "/api/hops/experiments", `{"code": "pass", "gpus": "one"}`, 400, `field "gpus"`},
		{"POST", "/api/hops/experiments", `{"code": "pass", "grid": ["lr="]}`, 400, `no values after "lr="`},
		{"POST", "/api/hops/experiments", `{"code": "pass", "gpus": 1}`, 400, "--gpus 0"},
		{"POST", "/api/hops/experiments", `{"code": ""}`, 400, "no code to run"},
		{"GET", "/api/hops/experiments?limit=0", "", 400, "limit=0"},
		{"GET", "/api/hops/experiments?before=nope", "", 404, "before="},
		{"GET", "/api/hops/experiments/nope", "", 404, "no such experiment"},
		{"GET", "/api/hops/experiments/nope?timelines=maybe", "", 400, "timelines=maybe"},
		{"GET", "/api/hops/experiments/nope/events", "", 404, "no such experiment"},
		{"GET", "/api/hops/experiments/nope/events?since=-1", "", 400, "since=-1"},
		{"POST", "/api/hops/experiments/nope/stop", "", 404, "no such experiment"},
	} {
		code, body := ts.rawRequest(t, tc.method, tc.path, tc.body)
		var e struct{ Message string }
		_ = json.Unmarshal([]byte(body), &e)
		if code != tc.status || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d mentioning %q", tc.method, tc.path, tc.body, code, body, tc.status, tc.want)
		}
	}
}

// TestAServerKilledMidRunKeepsWhatTheTrialsRecorded kills hops lab with SIGKILL while two trials log
// a metric and print a line every 20 ms. Its trials die with it; the next hops lab on the workspace
// records the run as killed, with every value and line a client had seen before the kill.
func TestAServerKilledMidRunKeepsWhatTheTrialsRecorded(t *testing.T) {
	dir := t.TempDir()
	cmd, url := startLabProcess(t, dir, "crash")
	code := "import hops, time\nfor step in range(100000):\n    print('line', step, flush=True)\n    hops.log(step=step, v=step)\n" +
		"    if step == 5:\n        open(f'report-{i}.txt', 'w').write(f'trial {i}')\n        hops.artifact(f'report-{i}.txt')\n" +
		"    time.sleep(0.02)\n"
	body, _ := json.Marshal(experiments.Request{Code: code, Grid: []string{"i=1,2"}, Executors: 2})
	req, _ := http.NewRequest("POST", url+"api/hops/experiments", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "token crash")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e experiments.Experiment
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()

	// Follow until both trials have logged 20 values; remember the last value and line seen of each.
	req, _ = http.NewRequest("GET", url+"api/hops/experiments/"+e.ID+"/events", nil)
	req.Header.Set("Authorization", "token crash")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	seenValue, seenLine := map[string]float64{}, map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev experiments.Event
		json.Unmarshal(sc.Bytes(), &ev)
		switch {
		case ev.Kind == "trial" && ev.Trial.Metrics != nil:
			seenValue[ev.Trial.ID] = ev.Trial.Metrics["v"]
		case ev.Kind == "output":
			seenLine[ev.TrialID] = ev.Text
		}
		if seenValue["t0"] >= 20 && seenValue["t1"] >= 20 {
			break
		}
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	resp.Body.Close()

	_, url = startLabProcess(t, dir, "again")
	req, _ = http.NewRequest("GET", url+"api/hops/experiments/"+e.ID, nil)
	req.Header.Set("Authorization", "token again")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got experiments.Experiment
	json.NewDecoder(resp.Body).Decode(&got)
	if got.State != experiments.Killed || !strings.Contains(got.Note, "hops lab stopped") {
		t.Fatalf("after the restart: state %s note %q", got.State, got.Note)
	}
	for _, tr := range got.Trials {
		tl := tr.Timeline["v"]
		if tr.State != experiments.Killed || len(tl) == 0 || tl[len(tl)-1].Value < seenValue[tr.ID] || tr.Metrics["v"] < seenValue[tr.ID] {
			t.Errorf("trial %s: %s, %d values, the client saw v=%v", tr.ID, tr.State, len(tl), seenValue[tr.ID])
		}
		for i, p := range tl {
			if p.Value != float64(i) || p.Step != int64(i) {
				t.Errorf("trial %s: value %d is %+v", tr.ID, i, p)
				break
			}
		}
		report := fmt.Sprintf("%s/%s/artifacts/report-%v.txt", got.Location, tr.ID, tr.Params["i"])
		if content, err := os.ReadFile(filepath.Join(dir, ".hops", "store", filepath.FromSlash(report))); !slices.Contains(tr.Artifacts, report) ||
			string(content) != fmt.Sprintf("trial %v", tr.Params["i"]) {
			t.Errorf("trial %s: artifacts %v, %s holds %q (%v)", tr.ID, tr.Artifacts, report, content, err)
		}
		log, err := os.ReadFile(filepath.Join(dir, ".hops", "store", filepath.FromSlash(got.Location), tr.ID, "output.log"))
		if err != nil || !strings.Contains(string(log), seenLine[tr.ID]+"\n") {
			t.Errorf("trial %s log (%v) lacks the line the client saw, %q", tr.ID, err, seenLine[tr.ID])
		}
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left := processesWithEnv("HOPS_EXPERIMENT_ID=" + e.ID)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("trials outlived their server: pids %v", left)
			break
		}
	}
}

// processesWithEnv lists the pids of processes whose environment has the variable kv (KEY=value).
func processesWithEnv(kv string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		env, err := os.ReadFile("/proc/" + d.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, v := range strings.Split(string(env), "\x00") {
			if v == kv {
				pids = append(pids, d.Name())
			}
		}
	}
	return pids
}

func TestCheckoutWritesTheNotebookAsCommittedAndItsEnvironment(t *testing.T) {
	ts := startServer(t)
	os.Mkdir(filepath.Join(ts.cfg.Root, "dir"), 0o755)
	ts.saveNotebook(t, "dir/train.ipynb", "1")
	var e experiments.Experiment
	ts.call(t, "POST", "/api/hops/experiments", experiments.Request{Code: "pass", Cell: "print(1)", Notebook: "dir/train.ipynb"}, &e)
	ts.follow(t, e.ID)
	ts.saveNotebook(t, "dir/train.ipynb", "2") // two saves later the notebook is elsewhere
	ts.saveNotebook(t, "dir/train.ipynb", "3")

	var res checkoutResult
	if code := ts.call(t, "POST", "/api/hops/experiments/"+e.ID+"/checkout", nil, &res); code != http.StatusCreated {
		t.Fatalf("checkout: %d %+v", code, res)
	}
	short := e.ID[strings.LastIndexByte(e.ID, '-')+1:]
	if res.Notebook != "dir/train@"+short+".ipynb" || res.Environment != "dir/train@"+short+".requirements.txt" || res.Commit != e.Commit || res.Note != "" {
		t.Fatalf("checkout: %+v", res)
	}
	committed, err := exec.Command("git", "-C", ts.cfg.Root, "show", e.Commit+":dir/train.ipynb").Output()
	if err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(filepath.Join(ts.cfg.Root, "dir", "train@"+short+".ipynb"))
	if string(written) != string(committed) {
		t.Errorf("the checked-out notebook is not the committed one byte for byte:\n%s\nvs\n%s", written, committed)
	}
	var model struct{ Type string }
	if code := ts.call(t, "GET", "/api/contents/"+res.Notebook, nil, &model); code != http.StatusOK || model.Type != "notebook" {
		t.Errorf("the checked-out notebook does not open as one: %d %+v", code, model)
	}
	reqs, _ := os.ReadFile(filepath.Join(ts.cfg.Root, filepath.FromSlash(res.Environment)))
	if !strings.Contains(string(reqs), "ipykernel==") || !strings.Contains(string(reqs), "# The Python packages experiment "+e.ID) {
		t.Errorf("requirements:\n%s", reqs)
	}

	var ran experiments.Experiment
	ts.call(t, "POST", "/api/hops/experiments", experiments.Request{Code: "pass"}, &ran)
	ts.follow(t, ran.ID)
	var unsaved experiments.Experiment
	ts.call(t, "POST", "/api/hops/experiments", experiments.Request{Code: "pass", Notebook: "never-saved.ipynb"}, &unsaved)
	ts.follow(t, unsaved.ID)
	os.Remove(filepath.Join(ts.cfg.Root, filepath.FromSlash(res.Environment)))
	var onBranch checkoutResult
	if code := ts.call(t, "POST", "/api/hops/experiments/"+e.ID+"/checkout", map[string]bool{"branch": true}, &onBranch); code != http.StatusCreated ||
		onBranch.Branch != "experiments/"+e.ID || onBranch.Notebook != "" {
		t.Fatalf("checkout on a branch: %d %+v", code, onBranch)
	}
	if got, _ := exec.Command("git", "-C", ts.cfg.Root, "rev-parse", onBranch.Branch).Output(); strings.TrimSpace(string(got)) != e.Commit {
		t.Errorf("branch %s is at %s, want %s", onBranch.Branch, got, e.Commit)
	}
	for _, tc := range []struct {
		id     string
		status int
		want   string
	}{
		{e.ID, http.StatusConflict, "already exists"},
		{ran.ID, http.StatusBadRequest, "ran outside a notebook"},
		{unsaved.ID, http.StatusConflict, "had never been saved"},
		{"nope", http.StatusNotFound, "no such experiment"},
	} {
		code, body := ts.rawRequest(t, "POST", "/api/hops/experiments/"+tc.id+"/checkout", "")
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("checkout %s: %d %s, want %d saying %q", tc.id, code, body, tc.status, tc.want)
		}
	}
}
