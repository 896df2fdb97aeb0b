package contents

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// notary remembers the notebook versions the user trusts, as Jupyter's notary does: a notebook
// saved from the browser with every output trusted (produced in the user's own sessions), or one
// trusted explicitly. A notebook whose bytes are one of them opens with its code cells trusted, so
// its HTML and JavaScript outputs render again; any other (cloned, uploaded, edited elsewhere)
// opens untrusted, and JupyterLab sanitizes its outputs until the cells are run or trusted. Versions
// are kept as SHA-256 digests of the file bytes, one hex digest per line, in .hops/trusted-notebooks.
type notary struct {
	path  string
	mu    sync.Mutex
	known map[string]bool // nil until first use
}

func (n *notary) load() {
	if n.known != nil {
		return
	}
	n.known = map[string]bool{}
	f, err := os.Open(n.path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); len(line) == sha256.Size*2 {
			n.known[line] = true
		}
	}
}

// trusts reports whether the notebook version with this SHA-256 digest is trusted.
func (n *notary) trusts(sum [sha256.Size]byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.load()
	return n.known[hex.EncodeToString(sum[:])]
}

// trust records the notebook version with this SHA-256 digest as trusted.
func (n *notary) trust(digest [sha256.Size]byte) error {
	sum := hex.EncodeToString(digest[:])
	n.mu.Lock()
	defer n.mu.Unlock()
	n.load()
	if n.known[sum] {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(n.path), 0o755); err != nil {
		return fmt.Errorf("record trusted notebook: %w", err)
	}
	f, err := os.OpenFile(n.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("record trusted notebook: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(sum + "\n"); err != nil {
		return fmt.Errorf("record trusted notebook: %w", err)
	}
	n.known[sum] = true
	return nil
}

// everyOutputTrusted reports whether a notebook a client saves vouches for all of its outputs: each
// code cell that has outputs carries metadata.trusted = true.
func everyOutputTrusted(nb map[string]any) bool {
	cells, _ := nb["cells"].([]any)
	for _, c := range cells {
		cell, _ := c.(map[string]any)
		if cell == nil || cell["cell_type"] != "code" {
			continue
		}
		if outs, _ := cell["outputs"].([]any); len(outs) == 0 {
			continue
		}
		md, _ := cell["metadata"].(map[string]any)
		if t, _ := md["trusted"].(bool); !t {
			return false
		}
	}
	return true
}

// markTrusted returns the notebook with every code cell marked trusted, for a trusted version.
func markTrusted(data []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var nb map[string]any
	if err := dec.Decode(&nb); err != nil {
		return nil, err
	}
	cells, _ := nb["cells"].([]any)
	for _, c := range cells {
		cell, _ := c.(map[string]any)
		if cell == nil || cell["cell_type"] != "code" {
			continue
		}
		md, _ := cell["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			cell["metadata"] = md
		}
		md["trusted"] = true
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(nb); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Trust marks the current version of a notebook as trusted (POST .../trust).
func (m *Manager) Trust(p string) error {
	p, err := m.check(p, reading)
	if err != nil {
		return err
	}
	q, err := m.resolve(p, true, reading)
	if err != nil {
		return err
	}
	data, err := m.root.ReadFile(q)
	if err != nil {
		return m.fsError(p, err)
	}
	return m.trust.trust(sha256.Sum256(data))
}
