package versioning

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// The history index is kept in the git directory (like git's own commit-graph, it is derived
// data: deleting it costs one rebuild), so that a restarted server lists versions at once instead
// of walking every commit again. It is a text file with a line per commit and a line per changed
// path:
//
//	c <hash> <first parent or -> <unix nanoseconds> <quoted author> <quoted subject>
//	p <quoted path> <from blob or -> <to blob or -> <quoted renamed-from or "">
//	e
//
// (tab-separated). New commits are appended. A file cut short by a crash, or one whose chain of
// parents does not hold, is read up to its last complete, sound commit; the branch's newer commits
// are indexed again and the file is rewritten.
const historyFileName = "hops-history"

func (h *history) file() string { return filepath.Join(h.r.gitDir, historyFileName) }

// load reads the index file into h. Called with h.mu held, on an empty index. It reports whether
// the whole file was sound, so that more commits can be appended to it.
func (h *history) load() (sound bool) {
	data, err := os.ReadFile(h.file())
	if err != nil {
		return false
	}
	var cur *histCommit
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return false // a line cut short
		}
		f := strings.Split(string(data[:i]), "\t")
		data = data[i+1:]
		switch {
		case f[0] == "c" && len(f) == 6 && cur == nil:
			nanos, err1 := strconv.ParseInt(f[3], 10, 64)
			author, err2 := strconv.Unquote(f[4])
			subject, err3 := strconv.Unquote(f[5])
			if err1 != nil || err2 != nil || err3 != nil || !plumbing.IsHash(f[1]) {
				return false
			}
			cur = &histCommit{hash: plumbing.NewHash(f[1]), parent: hashOrZero(f[2]), when: time.Unix(0, nanos),
				author: author, message: subject, changes: map[string]pathChange{}}
		case f[0] == "p" && len(f) == 5 && cur != nil:
			p, err1 := strconv.Unquote(f[1])
			ren, err2 := strconv.Unquote(f[4])
			if err1 != nil || err2 != nil {
				return false
			}
			cur.changes[p] = pathChange{from: hashOrZero(f[2]), to: hashOrZero(f[3]), renamedFrom: ren}
		case f[0] == "e" && len(f) == 1 && cur != nil:
			// Only a first-parent chain from a root commit is an index of this branch.
			if n := len(h.commits); (n == 0 && !cur.parent.IsZero()) || (n > 0 && h.commits[n-1].hash != cur.parent) {
				return false
			}
			h.append(*cur)
			h.head = cur.hash
			cur = nil
		default:
			return false
		}
	}
	return cur == nil
}

// persist writes the commits indexed from from on: appended when the index grew, the whole file
// when it was rebuilt. A failure costs only speed after a restart, so it is logged.
func (h *history) persist(appended bool, from int) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if !appended {
		flags, from = os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0
	}
	f, err := os.OpenFile(h.file(), flags, 0o644)
	if err != nil {
		h.r.log.Warn("history index not saved", "err", err)
		return
	}
	w := bufio.NewWriterSize(f, 64<<10)
	for _, c := range h.commits[from:] {
		fmt.Fprintf(w, "c\t%s\t%s\t%d\t%s\t%s\n", c.hash, hashOrDash(c.parent), c.when.UnixNano(),
			strconv.Quote(c.author), strconv.Quote(c.message))
		for p, ch := range c.changes {
			fmt.Fprintf(w, "p\t%s\t%s\t%s\t%s\n", strconv.Quote(p), hashOrDash(ch.from), hashOrDash(ch.to), strconv.Quote(ch.renamedFrom))
		}
		w.WriteString("e\n")
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		h.r.log.Warn("history index not saved", "err", err)
	}
}

func hashOrDash(h plumbing.Hash) string {
	if h.IsZero() {
		return "-"
	}
	return h.String()
}

func hashOrZero(s string) plumbing.Hash {
	if s == "-" || !plumbing.IsHash(s) {
		return plumbing.ZeroHash
	}
	return plumbing.NewHash(s)
}
