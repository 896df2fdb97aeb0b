package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hopsml/hops/versioning"
)

// notebookJSON is a small valid notebook whose one cell prints marker.
func notebookJSON(marker string) map[string]any {
	return map[string]any{
		"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{},
		"cells": []any{map[string]any{"id": "c1", "cell_type": "code", "source": "print(" + marker + ")",
			"metadata": map[string]any{}, "outputs": []any{}, "execution_count": nil}},
	}
}

func (ts *testServer) saveNotebook(t *testing.T, p, marker string) {
	t.Helper()
	body := map[string]any{"type": "notebook", "format": "json", "content": notebookJSON(marker)}
	if code := ts.call(t, "PUT", "/api/contents/"+p, body, nil); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("save %s: status %d", p, code)
	}
}

type versionsPage struct {
	Path     string               `json:"path"`
	Versions []versioning.Version `json:"versions"`
	More     bool                 `json:"more"`
	Error    string               `json:"error"`
}

func TestEverySaveIsAVersionAndCheckpointsAreGitVersions(t *testing.T) {
	ts := startServer(t)
	for _, m := range []string{"1", "2", "3"} {
		ts.saveNotebook(t, "nb.ipynb", m)
	}
	var page versionsPage
	if code := ts.call(t, "GET", "/api/hops/versions/nb.ipynb", nil, &page); code != http.StatusOK || len(page.Versions) != 3 {
		t.Fatalf("versions: %d %+v", code, page)
	}
	first, last := page.Versions[2], page.Versions[0]
	if first.Message != "Save nb.ipynb" || page.Path != "nb.ipynb" || page.Error != "" {
		t.Fatalf("first version: %+v", first)
	}
	code, body := ts.raw(t, "GET", "/api/hops/versions/nb.ipynb/"+first.Short)
	if code != http.StatusOK || !strings.Contains(body, "print(1)") {
		t.Fatalf("the file at its first version: %d %s", code, body)
	}

	var cps []struct {
		ID string `json:"id"`
	}
	if code := ts.call(t, "GET", "/api/contents/nb.ipynb/checkpoints", nil, &cps); code != http.StatusOK || len(cps) != 3 || cps[0].ID != first.Commit || cps[2].ID != last.Commit {
		t.Fatalf("checkpoints: %d %+v", code, cps)
	}
	// JupyterLab creates a checkpoint after every save: that is the version just made, not a new one.
	var cp struct{ ID string }
	if code := ts.call(t, "POST", "/api/contents/nb.ipynb/checkpoints", nil, &cp); code != http.StatusCreated || cp.ID != last.Commit {
		t.Fatalf("create checkpoint: %d %+v", code, cp)
	}
	// Revert to a checkpoint restores that version, as a new commit.
	if code := ts.call(t, "POST", "/api/contents/nb.ipynb/checkpoints/"+first.Commit, nil, nil); code != http.StatusNoContent {
		t.Fatalf("restore: %d", code)
	}
	var model struct{ Content json.RawMessage }
	ts.call(t, "GET", "/api/contents/nb.ipynb", nil, &model)
	if !strings.Contains(string(model.Content), "print(1)") {
		t.Fatalf("content after restore: %s", model.Content)
	}
	ts.call(t, "GET", "/api/hops/versions/nb.ipynb", nil, &page)
	if len(page.Versions) != 4 || page.Versions[0].Message != "Restore nb.ipynb to "+first.Short {
		t.Fatalf("versions after restore: %+v", page.Versions)
	}

	// Rename and delete are versions too, and the history follows the rename.
	if code := ts.call(t, "PATCH", "/api/contents/nb.ipynb", map[string]string{"path": "renamed.ipynb"}, nil); code != http.StatusOK {
		t.Fatalf("rename: %d", code)
	}
	ts.call(t, "GET", "/api/hops/versions/renamed.ipynb", nil, &page)
	if len(page.Versions) != 5 || page.Versions[0].Message != "Rename nb.ipynb → renamed.ipynb" || page.Versions[4].Path != "nb.ipynb" {
		t.Fatalf("versions after rename: %+v", page.Versions)
	}
	if c := page.Versions[0].Cells; c == nil || *c != (versioning.CellStats{}) {
		t.Fatalf("a rename changes no cells, yet: %+v", c)
	}
	if got := gitLog(t, ts.cfg.Root, "--follow", "--", "renamed.ipynb"); len(got) != 5 {
		t.Fatalf("git log --follow: %v", got)
	}
	if code := ts.call(t, "DELETE", "/api/contents/renamed.ipynb", nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	ts.call(t, "GET", "/api/hops/versions/renamed.ipynb", nil, &page)
	if !page.Versions[0].Deleted || page.Versions[0].Message != "Delete renamed.ipynb" {
		t.Fatalf("versions after delete: %+v", page.Versions[0])
	}
}

// gitLog is `git log --format=%H args...` in dir.
func gitLog(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir, "log", "--format=%H"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git log: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestVersionsRefuseBadInputWithAMessage(t *testing.T) {
	ts := startServer(t)
	ts.saveNotebook(t, "nb.ipynb", "1")
	for _, c := range []struct {
		method, path string
		status       int
		says         string
	}{
		{"GET", "/api/hops/versions/nb.ipynb/0123456789abcdef", http.StatusNotFound, "no commit"},
		{"GET", "/api/hops/versions/missing.ipynb", http.StatusNotFound, "no recorded versions"},
		{"GET", "/api/hops/versions/nb.ipynb?limit=lots", http.StatusBadRequest, "limit"},
		{"GET", "/api/hops/versions/nb.ipynb?limit=0", http.StatusBadRequest, "limit"},
		{"GET", "/api/hops/versions/nb.ipynb?before=abcdef12", http.StatusNotFound, "not a version"},
		{"GET", "/api/hops/versions/.git/config", http.StatusBadRequest, "git's own state"},
		{"GET", "/api/hops/versions/%2e%2e/etc/passwd", http.StatusBadRequest, ""},
		{"GET", "/api/hops/versions/a/../../x", http.StatusBadRequest, ""},
		{"DELETE", "/api/contents/nb.ipynb/checkpoints/abcdef1", http.StatusBadRequest, "kept"},
		{"POST", "/api/contents/nb.ipynb/checkpoints/abcdef1", http.StatusNotFound, "no commit"},
	} {
		code, body := ts.raw(t, c.method, c.path)
		if code != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s %s: %d %s, want %d saying %q", c.method, c.path, code, body, c.status, c.says)
		}
	}
}

// startLabProcess runs the hops binary's lab on dir in a process group of its own (so that a test
// can kill it) and returns it with its URL.
func startLabProcess(t *testing.T, dir, token string) (*exec.Cmd, string) {
	t.Helper()
	py := projectPython(t)
	cmd := exec.Command(hopsBinary, "lab", "--dir", dir, "--port", "0", "--token", token, "--python", py)
	stderr, _ := cmd.StderrPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	base := make(chan string, 1)
	go func() {
		urlPat := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if u := urlPat.FindString(sc.Text()); u != "" {
				base <- u
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case url := <-base:
		return cmd, url
	case <-time.After(30 * time.Second):
		t.Fatal("hops lab printed no URL")
	}
	return nil, ""
}

// TestAKilledServerKeepsEveryAcknowledgedSave kills hops lab with SIGKILL while four clients save
// notebooks in a loop: afterwards every save that was answered is in the history of its notebook,
// every notebook on disk is valid JSON, and git finds the repository sound.
func TestAKilledServerKeepsEveryAcknowledgedSave(t *testing.T) {
	dir := t.TempDir()
	cmd, url := startLabProcess(t, dir, "crash")

	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := map[string][]string{} // notebook -> markers whose save was answered 2xx
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			p := fmt.Sprintf("nb%d.ipynb", w)
			for i := 0; ctx.Err() == nil; i++ {
				marker := fmt.Sprintf("%d%06d", w, i)
				b, _ := json.Marshal(map[string]any{"type": "notebook", "format": "json", "content": notebookJSON(marker)})
				req, _ := http.NewRequestWithContext(ctx, "PUT", url+"api/contents/"+p, strings.NewReader(string(b)))
				req.Header.Set("Authorization", "token crash")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked[p] = append(acked[p], marker)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	stop()
	wg.Wait()

	repo, err := versioning.Open(dir, versioning.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	total := 0
	for p, markers := range acked {
		data, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || !json.Valid(data) {
			t.Errorf("%s after the kill: valid JSON %v, %v", p, json.Valid(data), err)
		}
		vs, _, err := repo.Log(p, 0, "")
		if err != nil {
			t.Fatalf("versions of %s: %v", p, err)
		}
		recorded := map[string]bool{}
		for _, v := range vs {
			content, err := repo.Show(p, v.Commit)
			if err != nil {
				t.Fatal(err)
			}
			recorded[string(content)] = true
		}
		for _, m := range markers {
			found := false
			for c := range recorded {
				if strings.Contains(c, "print("+m+")") {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: the acknowledged save %s is not in history (%d versions)", p, m, len(vs))
			}
		}
		total += len(markers)
	}
	if total < 8 {
		t.Fatalf("only %d saves were acknowledged before the kill: the test proved little", total)
	}
	if out, err := exec.Command("git", "-C", dir, "fsck", "--no-dangling").CombinedOutput(); err != nil {
		t.Fatalf("git fsck after the kill: %v\n%s", err, out)
	}
	t.Logf("%d acknowledged saves of %d notebooks, all in history", total, len(acked))
}

func TestDiffComparesVersionsCellByCell(t *testing.T) {
	ts := startServer(t)
	ts.saveNotebook(t, "nb.ipynb", "1")
	ts.saveNotebook(t, "nb.ipynb", "2")
	var page versionsPage
	ts.call(t, "GET", "/api/hops/versions/nb.ipynb", nil, &page)
	first, last := page.Versions[1], page.Versions[0]
	if c := first.Cells; c == nil || c.Added != 1 || c.Removed != 0 || c.Changed != 0 {
		t.Errorf("cells of the first version: %+v", c)
	}
	if c := last.Cells; c == nil || c.Added != 0 || c.Changed != 1 {
		t.Errorf("cells of the second version: %+v", c)
	}

	var d struct {
		Path     string
		From, To struct{ Commit, Short string }
		Summary  struct{ Added, Removed, Modified, Unchanged int }
		Cells    []struct {
			Status string
			Source struct {
				Lines []struct{ Op, Text string }
			}
		}
	}
	if code := ts.call(t, "GET", "/api/hops/diff/nb.ipynb?from="+first.Short+"&to="+last.Commit, nil, &d); code != http.StatusOK {
		t.Fatalf("diff: %d", code)
	}
	if d.From.Commit != first.Commit || d.To.Short != last.Short || d.Summary.Modified != 1 || len(d.Cells) != 1 || d.Cells[0].Status != "modified" {
		t.Fatalf("diff: %+v", d)
	}
	if ops := d.Cells[0].Source.Lines; len(ops) != 2 || ops[0].Op != "delete" || ops[0].Text != "print(1)" || ops[1].Op != "insert" {
		t.Fatalf("source lines: %+v", ops)
	}
	// "current" is the file on disk, the default for to.
	ts.call(t, "GET", "/api/hops/diff/nb.ipynb?from="+last.Short, nil, &d)
	if d.To.Commit != "current" || d.Summary.Unchanged != 1 || d.Summary.Modified != 0 {
		t.Fatalf("diff against the saved file: %+v", d)
	}
	// %hops diff asks for HTML.
	req, _ := http.NewRequest("GET", ts.url+"api/hops/diff/nb.ipynb?format=html&from="+first.Short, nil)
	req.Header.Set("Authorization", "token "+ts.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		resp.Header.Get("X-Hops-Diff-Summary") != "0 added, 0 removed, 1 modified, 0 moved, 0 unchanged cells" || !strings.Contains(string(body), "print(2)") {
		t.Fatalf("html diff: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
}

func TestDiffRefusesBadInputWithAMessage(t *testing.T) {
	ts := startServer(t)
	ts.saveNotebook(t, "nb.ipynb", "1")
	if code := ts.call(t, "PUT", "/api/contents/notes.txt", map[string]any{"type": "file", "format": "text", "content": "hi"}, nil); code != http.StatusCreated {
		t.Fatalf("save notes.txt: %d", code)
	}
	if code := ts.call(t, "PUT", "/api/contents/broken.ipynb", map[string]any{"type": "file", "format": "text", "content": "{not json"}, nil); code != http.StatusCreated {
		t.Fatalf("save broken.ipynb: %d", code)
	}
	var page versionsPage
	ts.call(t, "GET", "/api/hops/versions/broken.ipynb", nil, &page)
	if page.Versions[0].Cells != nil {
		t.Errorf("a notebook that does not parse has cell counts: %+v", page.Versions[0].Cells)
	}
	c := page.Versions[0].Short
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/api/hops/diff/notes.txt?from=" + c, http.StatusBadRequest, "not a notebook"},
		{"/api/hops/diff/nb.ipynb", http.StatusBadRequest, "from="},
		{"/api/hops/diff/nb.ipynb?from=deadbeef", http.StatusNotFound, "no commit"},
		{"/api/hops/diff/nb.ipynb?from=" + c + "&to=nonsense", http.StatusNotFound, "not a commit"},
		{"/api/hops/diff/nb.ipynb?from=" + c + "&format=pdf", http.StatusBadRequest, "format"},
		{"/api/hops/diff/nb.ipynb?from=" + c + "&ignore_outputs=maybe", http.StatusBadRequest, "ignore_outputs"},
		{"/api/hops/diff/broken.ipynb?from=" + c, http.StatusUnprocessableEntity, "not an nbformat 4 notebook"},
		{"/api/hops/diff/missing.ipynb?from=" + c, http.StatusNotFound, "missing.ipynb"},
		{"/api/hops/diff/..%2f..%2fetc/x.ipynb?from=" + c, http.StatusBadRequest, ""},
	} {
		code, body := ts.raw(t, "GET", tc.path)
		if code != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("GET %s: %d %s, want %d saying %q", tc.path, code, body, tc.status, tc.says)
		}
	}
}

func TestHopsVersionsAndDiffMagicsInANotebook(t *testing.T) {
	ts := startServer(t)
	if code := ts.call(t, "PUT", "/api/contents/work", map[string]any{"type": "directory"}, nil); code != http.StatusCreated {
		t.Fatalf("mkdir: %d", code)
	}
	ts.saveNotebook(t, "work/nb.ipynb", "1")
	ts.saveNotebook(t, "work/nb.ipynb", "2")
	var page versionsPage
	ts.call(t, "GET", "/api/hops/versions/work/nb.ipynb", nil, &page)
	var sess struct {
		ID     string
		Kernel struct{ ID string }
	}
	// As JupyterLab does: the session starts under a temporary path beside the notebook, with the
	// notebook's name, and is then moved to the notebook's path.
	body := map[string]any{"path": "work/3f1e0c9a-5b7d-4c2e-9f3a-1d2b3c4d5e6f", "name": "nb.ipynb", "type": "notebook",
		"kernel": map[string]string{"name": "hops"}}
	if code := ts.call(t, "POST", "/api/sessions", body, &sess); code != http.StatusCreated {
		t.Fatalf("session: %d", code)
	}
	if code := ts.call(t, "PATCH", "/api/sessions/"+sess.ID, map[string]any{"path": "work/nb.ipynb"}, nil); code != http.StatusOK {
		t.Fatalf("session path: %d", code)
	}
	c := ts.connect(t, sess.Kernel.ID, "magics", true)
	if _, out := c.execute("import os; print(os.environ['HOPS_NOTEBOOK_PATH'], os.getcwd().endswith('/work'))", 60*time.Second); textOf(out) != "work/nb.ipynb True\n" {
		t.Fatalf("the kernel was not started for the notebook: %q", textOf(out))
	}
	reply, out := c.execute("%hops versions", 60*time.Second)
	if text := textOf(out); reply["status"] != "ok" || !strings.Contains(text, page.Versions[0].Short) || !strings.Contains(text, page.Versions[1].Short) {
		t.Fatalf("%%hops versions: %v\n%s", reply, text)
	}
	reply, out = c.execute("%hops diff "+page.Versions[1].Short+" "+page.Versions[0].Short, 60*time.Second)
	if text := textOf(out); reply["status"] != "ok" || !strings.Contains(text, "1 modified") {
		t.Fatalf("%%hops diff: %v\n%s", reply, text)
	}
	var html string
	for _, o := range out {
		if d, ok := o.Content["data"].(map[string]any); ok {
			html, _ = d["text/html"].(string)
		}
	}
	if !strings.Contains(html, "print(2)") {
		t.Fatalf("%%hops diff shows no HTML diff: %q", html)
	}
	reply, out = c.execute("%hops diff cafe1234", 60*time.Second)
	if reply["status"] != "error" || !strings.Contains(textOf(out)+fmt.Sprint(reply), "no commit") {
		t.Fatalf("%%hops diff of an unknown commit: %v %s", reply, textOf(out))
	}
}

// A save whose commit fails (here: another git process holds the branch) is still saved, and the
// Versions panel is told until a later save of the file is recorded.
func TestASaveThatCannotBeCommittedIsKeptAndReported(t *testing.T) {
	ts := startServer(t)
	ts.saveNotebook(t, "nb.ipynb", "1")
	lock := filepath.Join(ts.cfg.Root, ".git", "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ts.saveNotebook(t, "nb.ipynb", "2") // answered 2xx although the commit failed
	data, err := os.ReadFile(filepath.Join(ts.cfg.Root, "nb.ipynb"))
	if err != nil || !strings.Contains(string(data), "print(2)") {
		t.Fatalf("the file after a failed commit: %s, %v", data, err)
	}
	var page versionsPage
	ts.call(t, "GET", "/api/hops/versions/nb.ipynb", nil, &page)
	if len(page.Versions) != 1 || !strings.Contains(page.Error, "not in its history") || !strings.Contains(page.Error, "main.lock") {
		t.Fatalf("after a failed commit: %d versions, error %q", len(page.Versions), page.Error)
	}
	os.Remove(lock)
	ts.saveNotebook(t, "nb.ipynb", "3")
	page = versionsPage{}
	ts.call(t, "GET", "/api/hops/versions/nb.ipynb", nil, &page)
	if len(page.Versions) != 2 || page.Error != "" {
		t.Fatalf("after the next save: %d versions, error %q", len(page.Versions), page.Error)
	}
}
