// Command versioning is `make bench`'s notebook-history benchmark (issue 4), hops against the git
// CLI in the same run, on the same machine and the same repository:
//
//	(a) save-and-commit latency of a notebook of 100 KB, 5 MB and 50 MB in a repository with
//	    10,000 commits: versioning.Save (what hops lab runs after writing a save) against
//	    `git add nb.ipynb && git commit -m ...`. Target: hops <= 1x git.
//	(b) listing the versions of one notebook in that repository (1,000 of its 10,000 commits
//	    touch it): the first page of 100 and the whole list; the very first listing (which builds
//	    the history index), the first one of a restarted process (which reads the index file) and
//	    warm ones; against `git log --format=%H -- nb.ipynb`. Target: <= 50 ms.
//	(c) the diff of two versions of an image-heavy 20 MB notebook (200 cells, 100 images; 3 cells
//	    edited, 1 image changed, 1 cell moved): nbdiff.Diff plus its JSON encoding (what
//	    /api/hops/diff does) against nbdime's `nbdiff` command, and, for information, against
//	    nbdime's diff_notebooks called inside Python. Target: >= 10x faster than `nbdiff`.
//
// Usage: go run ./bench/versioning [-commits 10000] [-repeats 5] [-python .venv/bin/python] [-json FILE]
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hopsml/hops/versioning"
	"github.com/hopsml/hops/versioning/nbdiff"
)

func main() {
	commits := flag.Int("commits", 10000, "commits in the benchmark repository")
	repeats := flag.Int("repeats", 5, "saves per notebook size and side")
	out := flag.String("json", "", "also write the results as JSON to this file")
	python := flag.String("python", ".venv/bin/python", "the Python with nbdime, for (c)")
	flag.Parse()
	log.SetFlags(0)

	tmp, err := os.MkdirTemp("", "hops-bench-versioning-")
	check(err)
	defer os.RemoveAll(tmp)
	gitVersion := run(tmp, "git", "--version")
	fmt.Printf("notebook history: hops (go-git object layer) vs %s, %d commits, %d saves per size\n\n", gitVersion, *commits, *repeats)

	t0 := time.Now()
	hopsDir, gitDir := filepath.Join(tmp, "hops"), filepath.Join(tmp, "git")
	makeRepo(hopsDir, *commits)
	run(tmp, "cp", "-a", hopsDir, gitDir)
	fmt.Printf("built two copies of a %d-commit repository in %.1f s (git fast-import)\n\n", *commits, time.Since(t0).Seconds())

	results := map[string]any{"commits": *commits, "git": gitVersion}
	repo, err := versioning.Open(hopsDir, versioning.Options{Author: versioning.Identity{Name: "bench", Email: "bench@example.com"}})
	check(err)
	defer repo.Close()

	// (b) first, on a cold process: the first listing builds the history index.
	fmt.Println("(b) versions of target.ipynb (1 in 10 commits)")
	fmt.Printf("  %-34s %10s\n", "", "ms")
	listing := map[string]float64{}
	measureOnce := func(label string, f func()) {
		start := time.Now()
		f()
		ms := float64(time.Since(start).Microseconds()) / 1000
		listing[label] = ms
		fmt.Printf("  %-34s %10.2f\n", label, ms)
	}
	measureOnce("hops, first listing ever", func() { // builds the history index and its file
		_, _, err := repo.Log("target.ipynb", 100, "")
		check(err)
	})
	measureOnce("hops, first page (100), restarted", func() { // a new process: reads the index file
		restarted, err := versioning.Open(hopsDir, versioning.Options{})
		check(err)
		defer restarted.Close()
		_, _, err = restarted.Log("target.ipynb", 100, "")
		check(err)
	})
	warmPage := median(*repeats*4, func() { _, _, err := repo.Log("target.ipynb", 100, ""); check(err) })
	listing["hops, first page (100), warm"] = warmPage
	fmt.Printf("  %-34s %10.2f\n", "hops, first page (100), warm", warmPage)
	var all int
	warmAll := median(*repeats*4, func() {
		vs, _, err := repo.Log("target.ipynb", 0, "")
		check(err)
		all = len(vs)
	})
	listing["hops, all versions, warm"] = warmAll
	fmt.Printf("  %-34s %10.2f   (%d versions)\n", "hops, all versions, warm", warmAll, all)
	gitAll := median(*repeats, func() { run(gitDir, "git", "log", "--format=%H", "--", "target.ipynb") })
	listing["git log -- target.ipynb"] = gitAll
	fmt.Printf("  %-34s %10.2f\n", "git log --format=%H -- target.ipynb", gitAll)
	gitPage := median(*repeats, func() { run(gitDir, "git", "log", "-n", "100", "--format=%H", "--", "target.ipynb") })
	listing["git log -n 100 -- target.ipynb"] = gitPage
	fmt.Printf("  %-34s %10.2f\n", "git log -n 100 -- target.ipynb", gitPage)
	fmt.Printf("  target <= 50 ms for the first page: warm %s, after a restart %s\n\n", verdict(warmPage <= 50), verdict(listing["hops, first page (100), restarted"] <= 50))
	results["listing_ms"] = listing

	// (a) save-and-commit.
	fmt.Println("(a) save-and-commit latency, median ms")
	fmt.Printf("  %-8s %10s %10s %8s\n", "size", "hops", "git CLI", "ratio")
	saves := []map[string]any{}
	for _, size := range []int{100 << 10, 5 << 20, 50 << 20} {
		base := notebookOfSize(size)
		i := 0
		edit := func(dir string) {
			i++
			nb := strings.Replace(base, "EDIT-MARK", fmt.Sprintf("edit %d", i), 1)
			check(os.WriteFile(filepath.Join(dir, "big.ipynb"), []byte(nb), 0o644))
		}
		hops := medianWithSetup(*repeats, func() { edit(hopsDir) }, func() {
			v, err := repo.Save(context.Background(), "big.ipynb")
			check(err)
			if v == nil {
				log.Fatal("hops recorded nothing for a changed notebook")
			}
		})
		git := medianWithSetup(*repeats, func() { edit(gitDir) }, func() {
			run(gitDir, "git", "add", "big.ipynb")
			run(gitDir, "git", "commit", "-q", "-m", "Save big.ipynb")
		})
		label := humanSize(size)
		fmt.Printf("  %-8s %10.1f %10.1f %7.2fx  %s\n", label, hops, git, hops/git, verdict(hops <= git))
		saves = append(saves, map[string]any{"size": label, "hops_ms": hops, "git_ms": git, "ratio": hops / git})
	}
	results["save_commit"] = saves
	fmt.Println("  target: hops <= 1x git")
	if got := run(hopsDir, "git", "fsck", "--no-dangling", "--connectivity-only"); got != "" {
		fmt.Println("  git fsck:", got)
	}
	results["diff"] = benchDiff(tmp, *python, *repeats)
	if *out != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		check(os.MkdirAll(filepath.Dir(*out), 0o755))
		check(os.WriteFile(*out, b, 0o644))
		fmt.Println("\nresults:", *out)
	}
}

// makeRepo builds a repository of n commits with git fast-import: 100 notebooks under nbs/
// edited in turn, and target.ipynb edited in every tenth commit; then checks it out.
func makeRepo(dir string, n int) {
	check(os.MkdirAll(dir, 0o755))
	run(dir, "git", "init", "-q", "-b", "main")
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	check(err)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	w := bufio.NewWriterSize(stdin, 1<<20)
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := range n {
		p := fmt.Sprintf("nbs/nb%03d.ipynb", i%100)
		if i%10 == 0 {
			p = "target.ipynb"
		}
		msg := "Save " + p
		content := fmt.Sprintf(`{"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "outputs": [], "execution_count": null, "source": "x = %d"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`, i)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s\n", when+int64(i), len(msg), msg)
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n\n", p, len(content), content)
	}
	check(w.Flush())
	stdin.Close()
	check(cmd.Wait())
	run(dir, "git", "reset", "-q", "--hard", "main")
}

// notebookOfSize is a notebook of about size bytes: code cells with image outputs, like the
// notebooks that get large in practice, and a marker the benchmark edits between saves.
func notebookOfSize(size int) string {
	var cells []string
	cells = append(cells, `{"cell_type": "code", "id": "edit", "metadata": {}, "outputs": [], "execution_count": 1, "source": "# EDIT-MARK"}`)
	total := 0
	for i := 0; total < size; i++ {
		img := make([]byte, min(96<<10, size/4+1))
		rand.Read(img)
		b64 := base64.StdEncoding.EncodeToString(img)
		cell := fmt.Sprintf(`{"cell_type": "code", "id": "c%d", "metadata": {}, "execution_count": %d, "source": "plot(%d)", "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": "%s", "text/plain": "<Figure>"}}]}`, i, i+2, i, b64)
		cells = append(cells, cell)
		total += len(cell)
	}
	return `{"cells": [` + strings.Join(cells, ",\n") + `], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
}

func median(n int, f func()) float64 { return medianWithSetup(n, func() {}, f) }

// medianWithSetup times f n times, after an untimed setup each time, and returns the median in ms.
func medianWithSetup(n int, setup, f func()) float64 {
	ms := make([]float64, n)
	for i := range ms {
		setup()
		start := time.Now()
		f()
		ms[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	slices.Sort(ms)
	return ms[n/2]
}

func run(dir string, argv ...string) string {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		log.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func humanSize(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// benchDiff is part (c).
func benchDiff(tmp, python string, repeats int) map[string]any {
	python, err := filepath.Abs(python)
	check(err)
	oldNB, newNB := imageNotebookPair()
	a, b := filepath.Join(tmp, "a.ipynb"), filepath.Join(tmp, "b.ipynb")
	check(os.WriteFile(a, oldNB, 0o644))
	check(os.WriteFile(b, newNB, 0o644))
	fmt.Printf("\n(c) diff of two versions of a %.1f MB notebook with 100 images, median ms\n", float64(len(newNB))/1e6)
	var summary nbdiff.Summary
	hops := median(repeats, func() {
		old, err := os.ReadFile(a)
		check(err)
		cur, err := os.ReadFile(b)
		check(err)
		d, err := nbdiff.Diff(old, cur, nbdiff.Options{})
		check(err)
		_, err = json.Marshal(d)
		check(err)
		summary = d.Summary
	})
	nbdiffBin := filepath.Join(filepath.Dir(python), "nbdiff")
	cli := median(max(3, repeats/2), func() {
		cmd := exec.Command(nbdiffBin, "--no-color", a, b)
		cmd.Stdout, cmd.Stderr = nil, nil
		check(cmd.Run())
	})
	script := `import sys, time, nbformat
from nbdime import diff_notebooks
a, b = nbformat.read(sys.argv[1], 4), nbformat.read(sys.argv[2], 4)
t = time.perf_counter(); diff_notebooks(a, b); print((time.perf_counter() - t) * 1000)`
	var diffOnly []float64
	for range max(3, repeats/2) {
		ms, err := strconv.ParseFloat(run(tmp, python, "-c", script, a, b), 64)
		check(err)
		diffOnly = append(diffOnly, ms)
	}
	slices.Sort(diffOnly)
	inProcess := diffOnly[len(diffOnly)/2]
	fmt.Printf("  %-46s %10.1f   (%d modified, %d moved, %d unchanged cells)\n", "hops: read both + nbdiff.Diff + JSON", hops, summary.Modified, summary.Moved, summary.Unchanged)
	fmt.Printf("  %-46s %10.1f   %.1fx slower than hops  %s\n", "nbdime: nbdiff a.ipynb b.ipynb", cli, cli/hops, verdict(cli/hops >= 10))
	fmt.Printf("  %-46s %10.1f   (information: no start-up, no reading, no output)\n", "nbdime: diff_notebooks alone, in Python", inProcess)
	fmt.Println("  target: >= 10x faster than nbdiff")
	return map[string]any{"size_bytes": len(newNB), "hops_ms": hops, "nbdiff_cli_ms": cli, "nbdime_python_ms": inProcess, "ratio": cli / hops}
}

// imageNotebookPair is an image-heavy notebook of about 20 MB and a later version of it: three
// cells edited, one image re-rendered, one cell moved.
func imageNotebookPair() (old, cur []byte) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	image := func() string {
		b := make([]byte, 150<<10)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	type cell map[string]any
	var cells []cell
	for i := range 200 {
		c := cell{"cell_type": "code", "id": fmt.Sprintf("cell-%d", i), "metadata": map[string]any{}, "execution_count": i + 1,
			"source": fmt.Sprintf("fig = plot(run=%d)\nfig.savefig('run-%d.png')\nprint('done', %d)", i, i, i), "outputs": []any{}}
		if i%2 == 0 {
			c["outputs"] = []any{map[string]any{"output_type": "display_data", "metadata": map[string]any{},
				"data": map[string]any{"image/png": image(), "text/plain": "<Figure size 640x480>"}}}
		}
		cells = append(cells, c)
	}
	nb := func(cs []cell) []byte {
		b, err := json.MarshalIndent(map[string]any{"cells": cs, "metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 5}, "", " ")
		check(err)
		return b
	}
	old = nb(cells)
	edited := make([]cell, len(cells))
	for i, c := range cells {
		edited[i] = cell{}
		for k, v := range c {
			edited[i][k] = v
		}
	}
	for _, i := range []int{3, 77, 151} {
		edited[i]["source"] = edited[i]["source"].(string) + "\n# tuned"
	}
	edited[40]["outputs"] = []any{map[string]any{"output_type": "display_data", "metadata": map[string]any{},
		"data": map[string]any{"image/png": image(), "text/plain": "<Figure size 640x480>"}}}
	moved := edited[120]
	edited = append(edited[:120], edited[121:]...)
	edited = append(edited[:10], append([]cell{moved}, edited[10:]...)...)
	return old, nb(edited)
}
