package versioning

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// gitCLI runs the git command line in dir and returns its trimmed output; the CLI is the
// reference for what hops writes.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=cli", "GIT_AUTHOR_EMAIL=cli@example.com",
		"GIT_COMMITTER_NAME=cli", "GIT_COMMITTER_EMAIL=cli@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func openRepo(t *testing.T, dir string) *Repo {
	t.Helper()
	r, err := Open(dir, Options{Author: Identity{Name: "Ada", Email: "ada@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func write(t *testing.T, dir, p, content string) {
	t.Helper()
	f := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func save(t *testing.T, r *Repo, p string) *Version {
	t.Helper()
	v, err := r.Save(context.Background(), p)
	if err != nil {
		t.Fatalf("save %s: %v", p, err)
	}
	return v
}

func commits(vs []Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Commit
	}
	return out
}

// versionsOf lists every version of p.
func versionsOf(t *testing.T, r *Repo, p string) []Version {
	t.Helper()
	vs, more, err := r.Log(p, 0, "")
	if err != nil {
		t.Fatalf("log %s: %v", p, err)
	}
	if more {
		t.Fatalf("log %s with no limit says more", p)
	}
	return vs
}

func TestEverySaveIsACommitTheGitCLIReads(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	var made []string
	for i := range 3 {
		write(t, dir, "nb.ipynb", fmt.Sprintf(`{"cells": [], "n": %d}`, i))
		v := save(t, r, "nb.ipynb")
		if v == nil || v.Message != "Save nb.ipynb" || v.Author != "Ada <ada@example.com>" {
			t.Fatalf("save %d made %+v", i, v)
		}
		made = append([]string{v.Commit}, made...)
	}
	if got := commits(versionsOf(t, r, "nb.ipynb")); !slices.Equal(got, made) {
		t.Fatalf("versions %v, want the commits made %v", got, made)
	}
	if got := gitCLI(t, dir, "log", "--format=%H", "--", "nb.ipynb"); got != strings.Join(made, "\n") {
		t.Fatalf("git log -- nb.ipynb:\n%s\nwant\n%s", got, strings.Join(made, "\n"))
	}
	if got := gitCLI(t, dir, "branch", "--show-current"); got != "main" {
		t.Fatalf("branch %q, want main", got)
	}
	if got := gitCLI(t, dir, "show", "HEAD:nb.ipynb"); got != `{"cells": [], "n": 2}` {
		t.Fatalf("git show HEAD:nb.ipynb = %q", got)
	}
	if got := gitCLI(t, dir, "status", "--porcelain", "--", "nb.ipynb"); got != "" {
		t.Fatalf("git status shows the saved notebook: %q (the index must agree with the commit)", got)
	}
	gitCLI(t, dir, "fsck", "--strict", "--no-dangling")
	if got := gitCLI(t, dir, "reflog", "--format=%gs", "-1"); got != "commit: Save nb.ipynb" {
		t.Fatalf("reflog %q", got)
	}
	// hops' own state is kept out of `git add .`.
	write(t, dir, ".hops/settings.json", "{}")
	if got := gitCLI(t, dir, "status", "--porcelain", "--untracked-files=all"); strings.Contains(got, ".hops") {
		t.Fatalf("git status offers .hops/: %q", got)
	}
}

func TestSavingUnchangedContentMakesNoCommit(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "a.txt", "same")
	save(t, r, "a.txt")
	if v := save(t, r, "a.txt"); v != nil {
		t.Fatalf("second save of the same content made %+v", v)
	}
	if n := gitCLI(t, dir, "rev-list", "--count", "HEAD"); n != "1" {
		t.Fatalf("%s commits, want 1", n)
	}
}

func TestSavesInSubdirectoriesAndDirectoryCopies(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "a/b/c.py", "print(1)\n")
	write(t, dir, "a/b/d.py", "print(2)\n")
	write(t, dir, "a/e.txt", "e")
	save(t, r, "a/b/c.py")
	v := save(t, r, "a") // a directory created or copied: everything below it
	if v == nil {
		t.Fatal("saving a directory recorded nothing")
	}
	if got := gitCLI(t, dir, "ls-tree", "-r", "--name-only", "HEAD"); got != "a/b/c.py\na/b/d.py\na/e.txt" {
		t.Fatalf("tree:\n%s", got)
	}
	gitCLI(t, dir, "fsck", "--strict", "--no-dangling")
}

func TestRenamesAndDeletesAreCommitsAndHistoryFollowsRenames(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "old.ipynb", `{"v": 1}`)
	first := save(t, r, "old.ipynb")
	if err := os.Rename(filepath.Join(dir, "old.ipynb"), filepath.Join(dir, "new.ipynb")); err != nil {
		t.Fatal(err)
	}
	moved, err := r.Rename(context.Background(), "old.ipynb", "new.ipynb")
	if err != nil || moved == nil || moved.Message != "Rename old.ipynb → new.ipynb" {
		t.Fatalf("rename: %+v, %v", moved, err)
	}
	vs := versionsOf(t, r, "new.ipynb")
	if len(vs) != 2 || vs[0].Commit != moved.Commit || vs[0].Path != "new.ipynb" || vs[1].Commit != first.Commit || vs[1].Path != "old.ipynb" {
		t.Fatalf("versions after rename: %+v", vs)
	}
	if got := gitCLI(t, dir, "log", "--follow", "--format=%H", "--", "new.ipynb"); got != moved.Commit+"\n"+first.Commit {
		t.Fatalf("git log --follow: %s", got)
	}
	if err := os.Remove(filepath.Join(dir, "new.ipynb")); err != nil {
		t.Fatal(err)
	}
	gone, err := r.Delete(context.Background(), "new.ipynb")
	if err != nil || gone == nil || gone.Message != "Delete new.ipynb" {
		t.Fatalf("delete: %+v, %v", gone, err)
	}
	vs = versionsOf(t, r, "new.ipynb")
	if !vs[0].Deleted || vs[0].Commit != gone.Commit {
		t.Fatalf("the delete is not the newest version: %+v", vs[0])
	}
	if got := gitCLI(t, dir, "log", "--format=%H", "--", "new.ipynb"); got != gone.Commit+"\n"+moved.Commit {
		t.Fatalf("git log -- new.ipynb: %s", got)
	}
	// Deleting or renaming what was never recorded records nothing (or the new file).
	if v, err := r.Delete(context.Background(), "never.txt"); v != nil || err != nil {
		t.Fatalf("delete of an untracked path: %+v, %v", v, err)
	}
	write(t, dir, "untracked-then-renamed.txt", "x")
	if v, err := r.Rename(context.Background(), "untracked.txt", "untracked-then-renamed.txt"); err != nil || v == nil || v.Message != "Save untracked-then-renamed.txt" {
		t.Fatalf("rename of an untracked file: %+v, %v", v, err)
	}
	// A directory rename moves every tracked file below it.
	write(t, dir, "d/x.txt", "x")
	write(t, dir, "d/sub/y.txt", "y")
	save(t, r, "d")
	if err := os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "e")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rename(context.Background(), "d", "e"); err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, dir, "status", "--porcelain"); got != "" {
		t.Fatalf("git status after a directory rename: %q", got)
	}
	if vs := versionsOf(t, r, "e/sub/y.txt"); len(vs) != 2 || vs[1].Path != "d/sub/y.txt" {
		t.Fatalf("history of a file in a renamed directory: %+v", vs)
	}
}

func TestParallelSavesOfDifferentFilesAreAllCommitted(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	const files, rounds = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, files*rounds)
	for f := range files {
		wg.Go(func() {
			p := fmt.Sprintf("nb%d.ipynb", f)
			for i := range rounds {
				if err := os.WriteFile(filepath.Join(dir, p), fmt.Appendf(nil, `{"f": %d, "i": %d}`, f, i), 0o644); err != nil {
					errs <- err
					return
				}
				if v, err := r.Save(context.Background(), p); err != nil || v == nil {
					errs <- fmt.Errorf("save %s round %d: %v, %v", p, i, v, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := gitCLI(t, dir, "rev-list", "--count", "HEAD"); n != fmt.Sprint(files*rounds) {
		t.Fatalf("%s commits, want %d", n, files*rounds)
	}
	for f := range files {
		p := fmt.Sprintf("nb%d.ipynb", f)
		if vs := versionsOf(t, r, p); len(vs) != rounds {
			t.Errorf("%s has %d versions, want %d", p, len(vs), rounds)
		}
		if got := gitCLI(t, dir, "show", "HEAD:"+p); got != fmt.Sprintf(`{"f": %d, "i": %d}`, f, rounds-1) {
			t.Errorf("HEAD:%s = %s", p, got)
		}
	}
	gitCLI(t, dir, "fsck", "--strict", "--no-dangling")
}

func TestRestoreWritesTheOldVersionAndCommitsIt(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "nb.ipynb", "first")
	first := save(t, r, "nb.ipynb")
	write(t, dir, "nb.ipynb", "second")
	save(t, r, "nb.ipynb")
	v, err := r.Restore(context.Background(), "nb.ipynb", first.Short, func(data []byte) error {
		return os.WriteFile(filepath.Join(dir, "nb.ipynb"), data, 0o644)
	})
	if err != nil || v == nil || v.Message != "Restore nb.ipynb to "+first.Short {
		t.Fatalf("restore: %+v, %v", v, err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "nb.ipynb")); string(data) != "first" {
		t.Fatalf("file after restore: %q", data)
	}
	if vs := versionsOf(t, r, "nb.ipynb"); len(vs) != 3 || vs[0].Commit != v.Commit {
		t.Fatalf("the restore is not a new version: %+v", vs)
	}
	if got, err := r.Show("nb.ipynb", v.Commit); err != nil || string(got) != "first" {
		t.Fatalf("show of the restore: %q, %v", got, err)
	}
}

func TestIgnoredFilesAreNotRecordedUnlessTracked(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, ".gitignore", "*.csv\nscratch/\n")
	write(t, dir, "data.csv", "a,b")
	write(t, dir, "scratch/nb.ipynb", "{}")
	for _, p := range []string{"data.csv", "scratch/nb.ipynb", "scratch"} {
		if v := save(t, r, p); v != nil {
			t.Errorf("ignored %s was committed: %+v", p, v)
		}
	}
	gitCLI(t, dir, "add", "-f", "data.csv")
	gitCLI(t, dir, "commit", "-qm", "track data.csv on purpose")
	write(t, dir, "data.csv", "a,b,c")
	if v := save(t, r, "data.csv"); v == nil {
		t.Error("a tracked file that matches .gitignore must still be recorded")
	}
}

func TestAnExistingRepositoryKeepsItsBranchAndHistory(t *testing.T) {
	top := t.TempDir()
	gitCLI(t, top, "init", "-q", "-b", "trunk")
	write(t, top, "README.md", "hello")
	gitCLI(t, top, "add", "README.md")
	gitCLI(t, top, "commit", "-qm", "by the CLI")
	gitCLI(t, top, "checkout", "-qb", "feature")
	ws := filepath.Join(top, "notebooks")
	write(t, ws, "nb.ipynb", "{}")
	r := openRepo(t, ws)
	if r.Worktree() == ws {
		t.Fatal("a workspace inside a repository got a repository of its own")
	}
	v := save(t, r, "nb.ipynb")
	if got := gitCLI(t, top, "log", "--format=%s", "feature"); got != "Save nb.ipynb\nby the CLI" {
		t.Fatalf("feature branch log:\n%s", got)
	}
	if got := gitCLI(t, top, "rev-parse", "trunk"); got == v.Commit {
		t.Fatal("the commit went to a branch that is not checked out")
	}
	if got := gitCLI(t, top, "ls-tree", "-r", "--name-only", "HEAD"); got != "README.md\nnotebooks/nb.ipynb" {
		t.Fatalf("tree:\n%s", got)
	}
	if vs := versionsOf(t, r, "nb.ipynb"); vs[0].Path != "nb.ipynb" {
		t.Fatalf("versions speak workspace paths: %+v", vs[0])
	}
	// A commit made with the CLI between saves is part of the history hops extends.
	write(t, ws, "nb.ipynb", `{"cli": true}`)
	gitCLI(t, top, "commit", "-qam", "edited in the terminal")
	write(t, ws, "nb.ipynb", `{"hops": true}`)
	save(t, r, "nb.ipynb")
	if got := gitCLI(t, top, "log", "--format=%s", "--", "notebooks/nb.ipynb"); got != "Save nb.ipynb\nedited in the terminal\nSave nb.ipynb" {
		t.Fatalf("git log:\n%s", got)
	}
	if vs := versionsOf(t, r, "nb.ipynb"); len(vs) != 3 || vs[1].Message != "edited in the terminal" {
		t.Fatalf("versions: %+v", vs)
	}
}

func TestAWorkspaceTheEnclosingRepositoryIgnoresGetsItsOwn(t *testing.T) {
	top := t.TempDir()
	gitCLI(t, top, "init", "-q")
	write(t, top, ".gitignore", "/demo/\n")
	ws := filepath.Join(top, "demo")
	write(t, ws, "nb.ipynb", "{}")
	r := openRepo(t, ws)
	if r.Worktree() != ws {
		t.Fatalf("worktree %s, want the workspace %s", r.Worktree(), ws)
	}
	save(t, r, "nb.ipynb")
	if got := gitCLI(t, ws, "log", "--format=%s"); got != "Save nb.ipynb" {
		t.Fatalf("log: %s", got)
	}
}

func TestBadInputIsRefusedWithAReason(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "nb.ipynb", "{}")
	v := save(t, r, "nb.ipynb")
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../b", "./a", ".git/config", ".hops/x", "a\\b"} {
		if _, err := r.Save(context.Background(), p); !errors.Is(err, ErrBadPath) {
			t.Errorf("save %q: %v, want ErrBadPath", p, err)
		}
		if _, _, err := r.Log(p, 0, ""); !errors.Is(err, ErrBadPath) {
			t.Errorf("log %q: %v, want ErrBadPath", p, err)
		}
	}
	for _, c := range []string{"", "zz", "abc", "0000000", strings.Repeat("0", 40), "not-hex!"} {
		if _, err := r.Show("nb.ipynb", c); !errors.Is(err, ErrNotFound) {
			t.Errorf("show at %q: %v, want ErrNotFound", c, err)
		}
	}
	if _, err := r.Show("missing.ipynb", v.Commit); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "missing.ipynb") {
		t.Errorf("show of a path the commit lacks: %v", err)
	}
	if _, _, err := r.Log("missing.ipynb", 0, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("log of a file without versions: %v", err)
	}
	if _, _, err := r.Log("nb.ipynb", 0, "abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("log before a commit that is not a version: %v", err)
	}
}

func TestABranchLockedByAnotherGitProcessIsReportedBusy(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "a.txt", "1")
	save(t, r, "a.txt")
	lock := filepath.Join(dir, ".git", "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a.txt", "2")
	_, err := r.Save(context.Background(), "a.txt")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "main.lock") {
		t.Fatalf("save while the branch is locked: %v", err)
	}
	os.Remove(lock)
	if v := save(t, r, "a.txt"); v == nil {
		t.Fatal("save after the lock is gone recorded nothing")
	}
}

func TestPagingVersions(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	for i := range 5 {
		write(t, dir, "f.txt", fmt.Sprint(i))
		save(t, r, "f.txt")
	}
	page, more, err := r.Log("f.txt", 2, "")
	if err != nil || len(page) != 2 || !more {
		t.Fatalf("first page: %d, %v, %v", len(page), more, err)
	}
	rest, more, err := r.Log("f.txt", 10, page[1].Short)
	if err != nil || len(rest) != 3 || more {
		t.Fatalf("rest: %d, %v, %v", len(rest), more, err)
	}
	all := versionsOf(t, r, "f.txt")
	if !slices.Equal(commits(append(page, rest...)), commits(all)) {
		t.Fatal("pages do not add up to the whole history")
	}
}

func TestTheHistoryIndexSurvivesRestartsCrashesAndRewrites(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	for i := range 4 {
		write(t, dir, "nb.ipynb", fmt.Sprint(i))
		save(t, r, "nb.ipynb")
	}
	want := commits(versionsOf(t, r, "nb.ipynb"))
	index := filepath.Join(dir, ".git", historyFileName)

	// A new process reads the index file instead of walking the history.
	if got := commits(versionsOf(t, openRepo(t, dir), "nb.ipynb")); !slices.Equal(got, want) {
		t.Fatalf("after a restart: %v, want %v", got, want)
	}
	// An index file cut short by a crash, or garbled, is repaired from git.
	data, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	for name, broken := range map[string][]byte{
		"cut short":      data[:len(data)-7],
		"garbled":        append(append([]byte{}, data[:40]...), "\x00nonsense\n"...),
		"empty":          {},
		"from elsewhere": []byte("c\t" + strings.Repeat("1", 40) + "\t" + strings.Repeat("2", 40) + "\t0\t\"x\"\t\"y\"\ne\n"),
	} {
		if err := os.WriteFile(index, broken, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := commits(versionsOf(t, openRepo(t, dir), "nb.ipynb")); !slices.Equal(got, want) {
			t.Errorf("index %s: %v, want %v", name, got, want)
		}
		if repaired, _ := os.ReadFile(index); !slices.Equal(repaired, data) {
			t.Errorf("index %s was not rewritten whole:\n%q\nwant\n%q", name, repaired, data)
		}
	}
	// History rewritten with the CLI (reset, rebase) is indexed again.
	gitCLI(t, dir, "reset", "-q", "--hard", "HEAD~2")
	if got := commits(versionsOf(t, r, "nb.ipynb")); !slices.Equal(got, want[2:]) {
		t.Fatalf("after git reset: %v, want %v", got, want[2:])
	}
}

func TestAVersionFromBeforeARenameIsShownAndRestoredUnderTheNewName(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "Untitled.ipynb", "first")
	first := save(t, r, "Untitled.ipynb")
	if err := os.Rename(filepath.Join(dir, "Untitled.ipynb"), filepath.Join(dir, "analysis.ipynb")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rename(context.Background(), "Untitled.ipynb", "analysis.ipynb"); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "analysis.ipynb", "second")
	save(t, r, "analysis.ipynb")
	if got, err := r.Show("analysis.ipynb", first.Short); err != nil || string(got) != "first" {
		t.Fatalf("show of the version before the rename: %q, %v", got, err)
	}
	v, err := r.Restore(context.Background(), "analysis.ipynb", first.Commit, func(data []byte) error {
		return os.WriteFile(filepath.Join(dir, "analysis.ipynb"), data, 0o644)
	})
	if err != nil || v == nil {
		t.Fatalf("restore of the version before the rename: %+v, %v", v, err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "analysis.ipynb")); string(data) != "first" {
		t.Fatalf("after restore: %q", data)
	}
}

func TestABranchCanBeCreatedAtAnOldVersionOnce(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir)
	write(t, dir, "nb.ipynb", "one")
	first := save(t, r, "nb.ipynb")
	write(t, dir, "nb.ipynb", "two")
	save(t, r, "nb.ipynb")
	if err := r.Branch("experiments/3f9a", first.Short); err != nil {
		t.Fatal(err)
	}
	if got := gitCLI(t, dir, "rev-parse", "experiments/3f9a"); got != first.Commit {
		t.Errorf("the branch is at %s, want %s", got, first.Commit)
	}
	if got := gitCLI(t, dir, "show", "experiments/3f9a:nb.ipynb"); got != "one" {
		t.Errorf("the branch holds %q", got)
	}
	if got := gitCLI(t, dir, "rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
		t.Errorf("creating a branch moved HEAD to %s", got)
	}
	for name, want := range map[string]error{"experiments/3f9a": ErrExists, "bad..name": ErrBadPath, "ok": ErrNotFound} {
		commit := first.Commit
		if name == "ok" {
			commit = "abcdef1"
		}
		if err := r.Branch(name, commit); !errors.Is(err, want) {
			t.Errorf("Branch(%q): %v, want %v", name, err, want)
		}
	}
}
