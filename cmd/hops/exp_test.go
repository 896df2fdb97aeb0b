package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/magics"
)

// fakeLab answers the experiments API with two runs, checking the token.
func fakeLab(t *testing.T) *httptest.Server {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	runs := map[string]*experiments.Experiment{}
	for _, id := range []string{"e1", "e2"} {
		runs[id] = &experiments.Experiment{ID: id, Name: "train", State: experiments.Finished, Started: start, Ended: start.Add(2 * time.Second),
			TrialsTotal: 1, Trials: []*experiments.Trial{{ID: "t0", State: experiments.Finished, Metrics: map[string]float64{"acc": 0.5}}}}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token secret" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message": "wrong token"}`))
			return
		}
		id, _ := strings.CutPrefix(r.URL.Path, "/api/hops/experiments/")
		switch {
		case r.URL.Path == "/api/hops/experiments":
			json.NewEncoder(w).Encode(map[string]any{"experiments": []*experiments.Experiment{runs["e2"], runs["e1"]}})
		case runs[id] != nil:
			json.NewEncoder(w).Encode(runs[id])
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message": "no such experiment: \"` + id + `\""}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHopsExpFindsTheLabOfItsWorkspaceAndPrintsExperiments(t *testing.T) {
	t.Setenv("HOPS_SERVER_URL", "")
	lab := fakeLab(t)
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, ".hops"), 0o755)
	if err := writeServerInfo(ws, lab.URL+"/", "secret"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(serverInfoPath(ws)); st.Mode().Perm() != 0o600 {
		t.Errorf("server.json is %v: the token must be readable by its user only", st.Mode().Perm())
	}
	for _, tc := range []struct {
		args          []string
		want, wantErr string
	}{
		{[]string{"exp", "list", "--dir", ws}, "2 experiment(s), newest first", ""},
		{[]string{"exp", "show", "e1", "--dir", ws}, "Experiment e1 finished in 2s", ""},
		{[]string{"exp", "compare", "--dir", ws, "e1", "e2"}, "best trial's acc", ""},
		{[]string{"exp", "compare", "e1", "--dir", ws}, "", "two or more experiment ids, got 1"},
		{[]string{"exp", "show", "nope", "--dir", ws}, "", `no such experiment: "nope"`},
		{[]string{"exp", "list", "--url", lab.URL, "--token", "wrong"}, "", "wrong token"},
		{[]string{"exp", "list", "--dir", t.TempDir()}, "", "no hops lab is serving"},
		{[]string{"exp", "remove", "--dir", ws}, "", `unknown command "remove"`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(tc.args, &stdout, &stderr)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || !strings.Contains(stdout.String(), tc.want)):
			t.Errorf("%v: %v\n%s\nwant %q", tc.args, err, stdout.String(), tc.want)
		}
	}
}

func TestBuildEnvMakesAVenvWithTheRecordedPythonAndRequirements(t *testing.T) {
	ws := t.TempDir()
	os.WriteFile(filepath.Join(ws, "train@3f9a.requirements.txt"), []byte("# nothing beyond pip itself\n"), 0o644)
	res := magics.CheckoutResult{Environment: "train@3f9a.requirements.txt", PythonVersion: runtimePythonVersion(t)}
	var out bytes.Buffer
	if err := buildEnv(context.Background(), ws, "e1", res, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(ws, ".hops", "envs", "e1", "bin", "python")); err != nil || !strings.Contains(out.String(), "activate") {
		t.Errorf("no venv: %v\n%s", err, out.String())
	}
	for _, tc := range []struct {
		res  magics.CheckoutResult
		id   string
		want string
	}{
		{res, "e1", "exists: use it"},
		{magics.CheckoutResult{Environment: "x.txt", PythonVersion: "2.1.0"}, "e2", "python2.1 is not on PATH"},
		{magics.CheckoutResult{}, "e3", "recorded no Python environment"},
	} {
		if err := buildEnv(context.Background(), ws, tc.id, tc.res, &out, &out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.id, err, tc.want)
		}
	}
}

// runtimePythonVersion is the version of python3 on PATH, e.g. "3.11.7".
func runtimePythonVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		t.Fatal("python3 is needed to build a venv")
	}
	return strings.TrimSpace(string(out))
}
