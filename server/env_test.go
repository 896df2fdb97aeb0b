package server

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tinyWheel writes a pure-Python wheel of package name at version into dir and returns its path:
// pip installs it without an index or a build backend.
func tinyWheel(t *testing.T, dir, name, version string) string {
	t.Helper()
	p := filepath.Join(dir, name+"-"+version+"-py3-none-any.whl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	info := name + "-" + version + ".dist-info/"
	files := map[string]string{
		name + "/__init__.py": "VERSION = '" + version + "'\n",
		info + "METADATA":     "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n",
		info + "WHEEL":        "Wheel-Version: 1.0\nGenerator: hops-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	var record strings.Builder
	for n, body := range files {
		w, _ := z.Create(n)
		w.Write([]byte(body))
		record.WriteString(n + ",,\n")
	}
	w, _ := z.Create(info + "RECORD")
	w.Write([]byte(record.String() + info + "RECORD,,\n"))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// pip runs %hops pip's request and returns pip's output lines and the final event.
func (ts *testServer) pip(t *testing.T, args ...string) ([]string, pipEvent) {
	t.Helper()
	body, _ := json.Marshal(pipRequest{Args: args})
	req, _ := http.NewRequest("POST", ts.url+"api/hops/env/pip", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "token "+ts.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	var last pipEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev pipEvent
		json.Unmarshal(sc.Bytes(), &ev)
		if ev.Done {
			last = ev
		} else {
			lines = append(lines, ev.Output)
		}
	}
	return lines, last
}

func TestPipChangesTheProjectEnvironmentAndItsLockOnlyWhenItSucceeds(t *testing.T) {
	real := projectPython(t)
	// A throwaway project environment: the tests must not change the venv they run with.
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(real, "-m", "venv", venv).CombinedOutput(); err != nil {
		t.Fatalf("make a venv: %v\n%s", err, out)
	}
	ts := startServerWith(t, func(c *Config) {
		c.Python = filepath.Join(venv, "bin", "python")
		c.LabDir = filepath.Join(pythonPrefix(real), "share", "jupyter", "lab")
	})
	wheels := t.TempDir()
	whl := tinyWheel(t, wheels, "hopstiny", "1.0")

	lines, done := ts.pip(t, "install", "--no-index", whl)
	if !done.OK || done.Lock != LockFile || len(done.Changes) != 1 || done.Changes[0] != "package hopstiny 1.0 added" {
		t.Fatalf("install: %+v\n%s", done, strings.Join(lines, "\n"))
	}
	if !strings.Contains(strings.Join(lines, "\n"), "Successfully installed hopstiny-1.0") {
		t.Errorf("pip's output was not streamed:\n%s", strings.Join(lines, "\n"))
	}
	lock, _ := os.ReadFile(filepath.Join(ts.cfg.Root, LockFile))
	if !strings.Contains(string(lock), "\nhopstiny==1.0\n") || !strings.Contains(string(lock), "\npip==") {
		t.Errorf("lock:\n%s", lock)
	}
	if out, err := exec.Command("git", "-C", ts.cfg.Root, "log", "--format=%s", "--", LockFile).Output(); err != nil || !strings.Contains(string(out), "Save "+LockFile) {
		t.Errorf("the lock is not a version: %v %s", err, out)
	}

	// A package that does not exist: a clear error, the lock untouched.
	_, failed := ts.pip(t, "install", "--no-index", "hops-no-such-package-xyz")
	if failed.OK || !strings.Contains(failed.Error, "pip install --no-index hops-no-such-package-xyz failed") ||
		!strings.Contains(failed.Error, LockFile+" is unchanged") || !strings.Contains(failed.Error, "No matching distribution") {
		t.Errorf("a missing package: %+v", failed)
	}
	if again, _ := os.ReadFile(filepath.Join(ts.cfg.Root, LockFile)); string(again) != string(lock) {
		t.Error("a failed pip changed the lock")
	}

	var st envState
	if code := ts.call(t, "GET", "/api/hops/env", nil, &st); code != http.StatusOK || !st.LockExists || len(st.LockDiffers) != 0 {
		t.Errorf("env: %d %+v", code, st.LockDiffers)
	}
	_, removed := ts.pip(t, "uninstall", "hopstiny")
	if !removed.OK || len(removed.Changes) != 1 || removed.Changes[0] != "package hopstiny 1.0 removed" {
		t.Errorf("uninstall: %+v", removed)
	}
	for _, bad := range []string{`{"args": ["freeze"]}`, `{"args": ["install"]}`, `{"args": "install x"}`} {
		if code, body := ts.rawRequest(t, "POST", "/api/hops/env/pip", bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
}
