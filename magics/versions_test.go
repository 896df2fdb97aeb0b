package magics

import (
	"context"
	"strings"
	"testing"
)

func TestAKernelHopsLabDidNotStartIsToldItsNotebookByHOPS_NOTEBOOK_PATH(t *testing.T) {
	ctx := context.Background()
	inv := &Invocation{Command: &Command{Name: "versions"}, Env: &Env{}} // no server session to ask
	t.Setenv("HOPS_NOTEBOOK_PATH", "/dir/train.ipynb")
	if p, err := notebookPath(ctx, inv); p != "dir/train.ipynb" || err != nil {
		t.Errorf("notebookPath = %q, %v", p, err)
	}
	inv.Flags = map[string][]string{"path": {"other.ipynb"}}
	if p, _ := notebookPath(ctx, inv); p != "other.ipynb" {
		t.Errorf("--path other.ipynb gave %q", p)
	}
	inv.Flags = nil
	t.Setenv("HOPS_NOTEBOOK_PATH", "")
	if _, err := notebookPath(ctx, inv); err == nil || !strings.Contains(err.Error(), "pass --path NOTEBOOK") {
		t.Errorf("no notebook at all: %v", err)
	}
}
