package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hopsml/hops/magics"
)

// serverInfo is what hops lab leaves in its workspace so that `hops exp` run there finds it.
type serverInfo struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

func serverInfoPath(workspace string) string { return filepath.Join(workspace, ".hops", "server.json") }

// writeServerInfo records the server's address and token, readable by its user only (the token
// grants everything the server can do).
func writeServerInfo(workspace, url, token string) error {
	b, _ := json.Marshal(serverInfo{URL: url, Token: token, PID: os.Getpid()})
	p := serverInfoPath(workspace)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// expClient finds the hops lab to ask: the one a kernel or trial was started by, the one named by
// --url, else the one serving the workspace --dir.
func expClient(dir, url, token string) (*magics.Client, error) {
	if url != "" {
		if !strings.HasSuffix(url, "/") {
			url += "/"
		}
		return &magics.Client{BaseURL: url, Token: token, HTTP: &http.Client{Timeout: time.Minute}}, nil
	}
	if c := magics.ClientFromEnv(); c != nil {
		return c, nil
	}
	abs, _ := filepath.Abs(dir)
	b, err := os.ReadFile(serverInfoPath(abs))
	var info serverInfo
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err != nil || info.URL == "" || syscall.Kill(info.PID, 0) != nil {
		return nil, fmt.Errorf("no hops lab is serving %s: start one there (hops lab --dir %s), run this in its workspace, or pass --url and --token", abs, dir)
	}
	return &magics.Client{BaseURL: info.URL, Token: info.Token, HTTP: &http.Client{Timeout: time.Minute}}, nil
}

// runExp is `hops exp`: the experiments of a running hops lab, as %hops experiments shows them, in text.
func runExp(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hops exp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: hops exp list [--name N] [--limit N] | show ID | compare ID ID... | checkout ID [--branch] [--env] | rerun ID [--dir DIR | --url URL --token T]\n\n")
		fs.PrintDefaults()
	}
	dir := fs.String("dir", ".", "the workspace whose hops lab to ask")
	url := fs.String("url", "", "the hops lab to ask, e.g. http://127.0.0.1:8888/ (default: the one serving --dir)")
	token := fs.String("token", "", "its token, with --url")
	name := fs.String("name", "", "list: only experiments with this name")
	limit := fs.Int("limit", 20, "list: at most N experiments")
	withEnv := fs.Bool("env", false, "checkout: also build a venv from the packages the experiment ran with (in .hops/envs/ID)")
	branch := fs.Bool("branch", false, "checkout: put the notebook's version on the git branch experiments/ID instead of a file")
	if len(args) == 0 {
		fs.Usage()
		return errors.New("hops exp needs a command: list, show ID, compare ID ID, checkout ID or rerun ID")
	}
	sub := args[0]
	// Flags may come before or after the ids.
	var ids []string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		ids, rest = append(ids, fs.Arg(0)), fs.Args()[1:]
	}
	client, err := expClient(*dir, *url, *token)
	if err != nil {
		return err
	}
	api := magics.ExperimentsAPI{Client: client}
	ctx := context.Background()
	var out []magics.Bundle
	switch {
	case sub == "list" && len(ids) == 0:
		if *limit < 1 || *limit > 1000 {
			return fmt.Errorf("--limit %d: give a number from 1 to 1000", *limit)
		}
		out, err = api.List(ctx, *name, *limit)
	case sub == "show" && len(ids) == 1:
		out, err = api.Show(ctx, ids[0])
	case sub == "compare" && len(ids) >= 2:
		out, err = api.Compare(ctx, ids)
	case sub == "rerun" && len(ids) == 1:
		return magics.Rerun(ctx, &magics.Env{API: client, Out: textOutput{stdout}}, ids[0])
	case sub == "checkout" && len(ids) == 1:
		var b magics.Bundle
		var res magics.CheckoutResult
		b, res, err = api.Checkout(ctx, ids[0], *branch)
		out = []magics.Bundle{b}
		if err == nil && *withEnv {
			fmt.Fprintln(stdout, b["text/plain"])
			return buildEnv(ctx, *dir, ids[0], res, stdout, stderr)
		}
	case sub == "list":
		return fmt.Errorf("hops exp list takes no ids (got %q); filter with --name", ids)
	case sub == "show":
		return fmt.Errorf("hops exp show takes one experiment id, got %d (see hops exp list)", len(ids))
	case sub == "compare":
		return fmt.Errorf("hops exp compare takes two or more experiment ids, got %d (see hops exp list)", len(ids))
	case sub == "checkout" || sub == "rerun":
		return fmt.Errorf("hops exp %s takes one experiment id, got %d (see hops exp list)", sub, len(ids))
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q: use list, show ID, compare ID ID, checkout ID or rerun ID", sub)
	}
	if err != nil {
		return err
	}
	for _, b := range out {
		if _, plot := b["application/vnd.vegalite.v5+json"]; plot {
			fmt.Fprintln(stdout, "(plots: %hops experiments "+sub+" in a notebook, or the Experiments panel)")
			continue
		}
		fmt.Fprintln(stdout, b["text/plain"])
	}
	return nil
}

// textOutput shows a run in a terminal: the trials' output as it comes and the text of what a
// notebook would display; the progress table, updated in place in a notebook, is left out.
type textOutput struct{ w io.Writer }

func (o textOutput) Display(b magics.Bundle) error {
	if _, plot := b["application/vnd.vegalite.v5+json"]; plot {
		return nil
	}
	_, err := fmt.Fprintln(o.w, b["text/plain"])
	return err
}

func (o textOutput) Show(string, magics.Bundle) error   { return nil }
func (o textOutput) Update(string, magics.Bundle) error { return nil }
func (o textOutput) Stream(_, text string) error {
	_, err := io.WriteString(o.w, text)
	return err
}

// buildEnv makes a venv with the packages an experiment ran with: the Python of the recorded
// version from PATH (python3.11 for 3.11.x), then pip install -r of the checked-out requirements.
func buildEnv(ctx context.Context, dir, id string, res magics.CheckoutResult, stdout, stderr io.Writer) error {
	if res.Environment == "" {
		return fmt.Errorf("experiment %s recorded no Python environment, so there is nothing to build", id)
	}
	parts := strings.Split(res.PythonVersion, ".")
	if len(parts) < 2 {
		return fmt.Errorf("experiment %s recorded Python %q: cannot tell which interpreter to build with", id, res.PythonVersion)
	}
	want := "python" + parts[0] + "." + parts[1]
	python, err := exec.LookPath(want)
	if err != nil {
		return fmt.Errorf("experiment %s ran on Python %s and %s is not on PATH: install it, then run this again", id, res.PythonVersion, want)
	}
	abs, _ := filepath.Abs(dir)
	venv := filepath.Join(abs, ".hops", "envs", id)
	if _, err := os.Stat(venv); err == nil {
		return fmt.Errorf("%s exists: use it (%s/bin/python), or remove it and run this again", venv, venv)
	}
	for _, args := range [][]string{
		{python, "-m", "venv", venv},
		{filepath.Join(venv, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check", "-r", filepath.Join(abs, filepath.FromSlash(res.Environment))},
	} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build the environment of %s in %s: %s: %w", id, venv, strings.Join(args, " "), err)
		}
	}
	fmt.Fprintf(stdout, "The environment experiment %s ran with is in %s (activate: . %s/bin/activate).\n", id, venv, venv)
	return nil
}
