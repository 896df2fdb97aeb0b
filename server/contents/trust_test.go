package contents

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notebookWithOutput is a one-cell notebook whose HTML output the client marks trusted or not.
func notebookWithOutput(trusted bool) map[string]any {
	return map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{}, "cells": []any{
		map[string]any{"cell_type": "code", "id": "c1", "source": "display(HTML('<b>hi</b>'))", "execution_count": 1,
			"metadata": map[string]any{"trusted": trusted},
			"outputs": []any{map[string]any{"output_type": "display_data", "metadata": map[string]any{},
				"data": map[string]any{"text/html": "<b>hi</b>"}}}},
	}}
}

func cellTrusted(t *testing.T, model map[string]any) bool {
	t.Helper()
	cell := model["content"].(map[string]any)["cells"].([]any)[0].(map[string]any)
	trusted, _ := cell["metadata"].(map[string]any)["trusted"].(bool)
	return trusted
}

func TestNotebooksOpenTrustedOnlyAsTheUserSavedThem(t *testing.T) {
	e := newEnv(t, Options{})
	save := func(trusted bool) {
		e.want(e.do("PUT", "/api/contents/nb.ipynb", map[string]any{"type": "notebook", "format": "json",
			"content": notebookWithOutput(trusted)}), http.StatusCreated)
	}
	open := func() map[string]any { return e.want(e.do("GET", "/api/contents/nb.ipynb", nil), http.StatusOK) }

	save(true)
	if !cellTrusted(t, open()) {
		t.Error("a notebook saved with every output trusted opens untrusted")
	}
	raw, _ := os.ReadFile(filepath.Join(e.dir, "nb.ipynb"))
	if string(raw) == "" || strings.Contains(string(raw), `"trusted"`) {
		t.Errorf("the trusted flag was written into the file:\n%s", raw)
	}

	// Edited outside JupyterLab (a git pull, another editor): no longer the version the user vouched for.
	os.WriteFile(filepath.Join(e.dir, "nb.ipynb"), append(raw, ' '), 0o644)
	if cellTrusted(t, open()) {
		t.Error("a notebook changed on disk still opens trusted")
	}
	e.want(e.do("POST", "/api/contents/nb.ipynb/trust", nil), http.StatusCreated)
	if !cellTrusted(t, open()) {
		t.Error("trusting the notebook explicitly did not take")
	}

	// Another notebook, whose output the client does not vouch for (it came from elsewhere).
	e.want(e.do("PUT", "/api/contents/other.ipynb", map[string]any{"type": "notebook", "format": "json",
		"content": notebookWithOutput(false)}), http.StatusCreated)
	open = func() map[string]any { return e.want(e.do("GET", "/api/contents/other.ipynb", nil), http.StatusOK) }
	os.WriteFile(filepath.Join(e.dir, "other.ipynb"), append(raw, ' ', ' '), 0o644)
	if cellTrusted(t, open()) {
		t.Error("a notebook saved with an untrusted output opens trusted")
	}
}

func TestCheckpointsOfAMissingFileAreAnEmptyList(t *testing.T) {
	e := newEnv(t, Options{})
	rec := e.do("GET", "/api/contents/gone.ipynb/checkpoints", nil)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("checkpoints of a missing file: %d %s; want 200 []", rec.Code, rec.Body)
	}
	os.MkdirAll(filepath.Join(e.dir, "runs", "checkpoints"), 0o755)
	if rec := e.do("GET", "/api/contents/runs/checkpoints", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"type":"directory"`) {
		t.Errorf("a directory named checkpoints: %d %s", rec.Code, rec.Body)
	}
}
