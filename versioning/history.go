package versioning

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Version is one version of a file: the commit that recorded it.
type Version struct {
	Commit  string    `json:"commit"`
	Short   string    `json:"short"`
	Time    time.Time `json:"time"`
	Author  string    `json:"author"`
	Message string    `json:"message"`
	// Path is the file's workspace path in this version; it differs from the path asked for
	// before a rename.
	Path string `json:"path"`
	// Deleted marks the commit that deleted the file (git log lists it too).
	Deleted bool `json:"deleted,omitempty"`
	// Cells counts the cells this version added, removed and changed against the previous
	// version; nil for files that are not notebooks or versions that could not be compared.
	Cells *CellStats `json:"cells"`
}

// CellStats counts changed cells between two versions of a notebook.
type CellStats struct {
	Added   int `json:"added"`
	Removed int `json:"removed"`
	Changed int `json:"changed"`
}

// CellCounter compares two versions of a notebook; it is set by the caller (the notebook diff
// lives in its own package) and may be nil.
type CellCounter func(old, new []byte) (*CellStats, error)

// history indexes the first-parent history of the branch by path, so the versions of one file
// come from a map lookup instead of a walk over every commit (`git log -- path` walks and diffs
// them all). It is built on first use and extended from the branch's new head whenever it
// moved: by hops' commits, or by the git CLI.
type history struct {
	r *Repo

	mu      sync.Mutex
	head    plumbing.Hash
	commits []histCommit     // oldest first
	byPath  map[string][]int // repository path -> indexes into commits, ascending
	stats   map[[2]plumbing.Hash]*CellStats
	counter CellCounter
	loaded  bool // the index file was read (or found missing or stale)
	// fileSound: the index file holds exactly the indexed commits, so new ones can be appended.
	fileSound bool
}

type histCommit struct {
	hash    plumbing.Hash
	parent  plumbing.Hash // first parent; zero for a root commit
	when    time.Time
	author  string
	message string
	changes map[string]pathChange // by repository path
}

// pathChange is what a commit did to one file: from and to are its blobs before and after
// (zero when absent); renamedFrom names the path it came from when the commit moved it
// unchanged.
type pathChange struct {
	from, to    plumbing.Hash
	renamedFrom string
}

func newHistory(r *Repo) *history {
	return &history{r: r, byPath: map[string][]int{}, stats: map[[2]plumbing.Hash]*CellStats{}}
}

// SetCellCounter sets how versions of notebooks are compared for Version.Cells.
func (r *Repo) SetCellCounter(c CellCounter) {
	r.hist.mu.Lock()
	r.hist.counter = c
	r.hist.mu.Unlock()
}

// sync brings the index up to the branch's head. Called with h.mu held.
func (h *history) sync() error {
	if !h.loaded {
		h.loaded = true
		h.fileSound = h.load()
	}
	_, head, err := h.r.head()
	if err != nil {
		return err
	}
	if head == h.head {
		return nil
	}
	// Walk back along first parents to the commit the index ends at. If it is not found, the
	// branch was rewritten (reset, rebase, another branch checked out): index it all again.
	var fresh []*object.Commit
	known := false
	for c := head; !c.IsZero(); {
		if c == h.head {
			known = true
			break
		}
		commit, err := h.r.st.commit(c)
		if err != nil {
			return fmt.Errorf("read commit %s: %w", c, err)
		}
		fresh = append(fresh, commit)
		c = plumbing.ZeroHash
		if len(commit.ParentHashes) > 0 {
			c = commit.ParentHashes[0]
		}
	}
	var parentTree plumbing.Hash
	if known && !h.head.IsZero() {
		pc, err := h.r.st.commit(h.head)
		if err != nil {
			return fmt.Errorf("read commit %s: %w", h.head, err)
		}
		parentTree = pc.TreeHash
	} else {
		h.commits, h.byPath = nil, map[string][]int{}
	}
	from := len(h.commits)
	for i := len(fresh) - 1; i >= 0; i-- {
		c := fresh[i] // when the walk did not meet the index, the oldest is a root commit
		if err := h.add(c, parentTree); err != nil {
			return err
		}
		parentTree = c.TreeHash
	}
	h.head = head
	h.persist(known && h.fileSound, from)
	h.fileSound = true
	return nil
}

// add indexes commit c, whose first parent (with tree parentTree) is the last indexed commit.
func (h *history) add(c *object.Commit, parentTree plumbing.Hash) error {
	changes := map[string]pathChange{}
	if err := h.r.diffTrees(parentTree, c.TreeHash, "", changes); err != nil {
		return fmt.Errorf("compare commit %s with its parent: %w", c.Hash, err)
	}
	detectRenames(changes)
	subject, _, _ := strings.Cut(c.Message, "\n")
	var parent plumbing.Hash
	if len(c.ParentHashes) > 0 {
		parent = c.ParentHashes[0]
	}
	h.append(histCommit{hash: c.Hash, parent: parent, when: c.Author.When, author: c.Author.Name + " <" + c.Author.Email + ">",
		message: subject, changes: changes})
	return nil
}

func (h *history) append(hc histCommit) {
	n := len(h.commits)
	h.commits = append(h.commits, hc)
	for p := range hc.changes {
		h.byPath[p] = append(h.byPath[p], n)
	}
}

// diffTrees records in out every file that differs between trees a and b (either may be zero),
// descending only into subtrees whose hashes differ.
func (r *Repo) diffTrees(a, b plumbing.Hash, prefix string, out map[string]pathChange) error {
	if a == b {
		return nil
	}
	ta, err := r.tree(a)
	if err != nil {
		return err
	}
	tb, err := r.tree(b)
	if err != nil {
		return err
	}
	type pair struct{ a, b *object.TreeEntry }
	names := map[string]*pair{}
	for i := range ta.Entries {
		names[ta.Entries[i].Name] = &pair{a: &ta.Entries[i]}
	}
	for i := range tb.Entries {
		e := &tb.Entries[i]
		if p, ok := names[e.Name]; ok {
			p.b = e
		} else {
			names[e.Name] = &pair{b: e}
		}
	}
	for name, p := range names {
		path := prefix + name
		var aDir, bDir, aFile, bFile plumbing.Hash
		if p.a != nil {
			if p.a.Mode == filemode.Dir {
				aDir = p.a.Hash
			} else if p.a.Mode != filemode.Submodule {
				aFile = p.a.Hash
			}
		}
		if p.b != nil {
			if p.b.Mode == filemode.Dir {
				bDir = p.b.Hash
			} else if p.b.Mode != filemode.Submodule {
				bFile = p.b.Hash
			}
		}
		if aFile != bFile {
			out[path] = pathChange{from: aFile, to: bFile}
		}
		if aDir != bDir {
			if err := r.diffTrees(aDir, bDir, path+"/", out); err != nil {
				return err
			}
		}
	}
	return nil
}

// detectRenames marks a file added with exactly the blob of a file the same commit deleted as
// renamed from it, which is how hops records renames (and what `git log --follow` finds).
func detectRenames(changes map[string]pathChange) {
	deleted := map[plumbing.Hash][]string{}
	for p, c := range changes {
		if c.to.IsZero() {
			deleted[c.from] = append(deleted[c.from], p)
		}
	}
	for p, c := range changes {
		if !c.from.IsZero() || c.to.IsZero() {
			continue
		}
		if froms := deleted[c.to]; len(froms) > 0 {
			sort.Strings(froms)
			c.renamedFrom = froms[0]
			deleted[c.to] = froms[1:]
			changes[p] = c
		}
	}
}

// committed indexes the commit just made and returns the version it made of its subject.
func (h *history) committed(c *object.Commit, edits []edit) *Version {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := &Version{Commit: c.Hash.String(), Short: c.Hash.String()[:7], Time: c.Author.When,
		Author: c.Author.Name + " <" + c.Author.Email + ">"}
	v.Message, _, _ = strings.Cut(c.Message, "\n")
	if err := h.sync(); err != nil {
		h.r.log.Warn("history index not updated; it is rebuilt on the next listing", "err", err)
		h.head = plumbing.ZeroHash
		h.commits, h.byPath = nil, map[string][]int{}
		h.loaded = true // do not reload a file that may be just as stale
	}
	return v
}

// Log returns the versions of the file at workspace path p, newest first, following renames:
// at most limit (0: all), starting below the commit before (a hash or prefix; "" for the
// newest); more says whether older ones remain.
func (r *Repo) Log(p string, limit int, before string) (versions []Version, more bool, err error) {
	p, err = cleanPath(p)
	if err != nil {
		return nil, false, err
	}
	h := r.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.sync(); err != nil {
		return nil, false, err
	}
	type hit struct {
		i    int
		path string
	}
	var hits []hit
	cur, below := r.repoPath(p), len(h.commits)
	for cur != "" {
		idx := h.byPath[cur]
		next := ""
		for k := len(idx) - 1; k >= 0; k-- {
			i := idx[k]
			if i >= below {
				continue
			}
			hits = append(hits, hit{i, cur})
			if from := h.commits[i].changes[cur].renamedFrom; from != "" {
				next, below = from, i
				break
			}
		}
		cur = next
	}
	if len(hits) == 0 {
		return nil, false, fmt.Errorf("%w: %s has no recorded versions", ErrNotFound, p)
	}
	start := 0
	if before != "" {
		start = -1
		for k, x := range hits {
			if strings.HasPrefix(h.commits[x.i].hash.String(), before) {
				start = k + 1
				break
			}
		}
		if start < 0 {
			return nil, false, fmt.Errorf("%w: %s is not a version of %s", ErrNotFound, before, p)
		}
	}
	hits = hits[start:]
	if limit > 0 && len(hits) > limit {
		hits, more = hits[:limit], true
	}
	versions = make([]Version, 0, len(hits))
	for _, x := range hits {
		c := h.commits[x.i]
		ch := c.changes[x.path]
		v := Version{Commit: c.hash.String(), Short: c.hash.String()[:7], Time: c.when, Author: c.author,
			Message: c.message, Path: r.workspacePath(x.path), Deleted: ch.to.IsZero()}
		if strings.HasSuffix(x.path, ".ipynb") && !v.Deleted {
			from := ch.from
			if ch.renamedFrom != "" {
				from = ch.to // moved unchanged: nothing added
			}
			v.Cells = h.cellStats(from, ch.to)
		}
		versions = append(versions, v)
	}
	return versions, more, nil
}

// cellStats compares two blobs of a notebook, once per pair. Called with h.mu held.
func (h *history) cellStats(from, to plumbing.Hash) *CellStats {
	if h.counter == nil {
		return nil
	}
	key := [2]plumbing.Hash{from, to}
	if s, ok := h.stats[key]; ok {
		return s
	}
	var old []byte
	if !from.IsZero() {
		var err error
		if old, err = h.r.blob(from); err != nil {
			return nil
		}
	}
	cur, err := h.r.blob(to)
	if err != nil {
		return nil
	}
	s, err := h.counter(old, cur)
	if err != nil {
		s = nil // not a readable notebook in one of the versions: no counts, and no retry
	}
	h.stats[key] = s
	return s
}

// resolveCommit finds the commit named by a full hash or an unambiguous prefix of at least 4 hex
// digits.
func (r *Repo) resolveCommit(name string) (*object.Commit, error) {
	name = strings.ToLower(name)
	if len(name) < 4 || len(name) > 40 || strings.Trim(name, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: %q is not a commit (4 to 40 hex digits)", ErrNotFound, name)
	}
	if len(name) == 40 {
		c, err := r.st.commit(plumbing.NewHash(name))
		if err != nil {
			return nil, fmt.Errorf("%w: no commit %s", ErrNotFound, name)
		}
		return c, nil
	}
	h := r.hist
	h.mu.Lock()
	err := h.sync()
	var found []plumbing.Hash
	for _, c := range h.commits {
		if strings.HasPrefix(c.hash.String(), name) {
			found = append(found, c.hash)
		}
	}
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: no commit %s on the current branch", ErrNotFound, name)
	case 1:
		return r.st.commit(found[0])
	default:
		return nil, fmt.Errorf("%w: %s is ambiguous (%d commits); give more digits", ErrNotFound, name, len(found))
	}
}

// Show returns the file at workspace path p as it was at commit (a hash or prefix); for a commit
// from before the file was renamed, under the name it had then.
func (r *Repo) Show(p, commit string) ([]byte, error) {
	p, err := cleanPath(p)
	if err != nil {
		return nil, err
	}
	c, err := r.resolveCommit(commit)
	if err != nil {
		return nil, err
	}
	data, err := r.showAt(p, c)
	if errors.Is(err, ErrNotFound) {
		if vs, _, lerr := r.Log(p, 0, ""); lerr == nil {
			for _, v := range vs {
				if v.Commit == c.Hash.String() && v.Path != p {
					return r.showAt(v.Path, c)
				}
			}
		}
	}
	return data, err
}

func (r *Repo) showAt(p string, c *object.Commit) ([]byte, error) {
	t, err := r.tree(c.TreeHash)
	if err != nil {
		return nil, err
	}
	e, err := t.FindEntry(r.repoPath(p))
	if err != nil || e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
		if err == nil || errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return nil, fmt.Errorf("%w: %s is not a file in %s", ErrNotFound, p, c.Hash.String()[:7])
		}
		return nil, err
	}
	return r.blob(e.Hash)
}

// Describe returns the commit named by a hash or prefix as a version (without path or cell
// counts).
func (r *Repo) Describe(commit string) (*Version, error) {
	c, err := r.resolveCommit(commit)
	if err != nil {
		return nil, err
	}
	v := &Version{Commit: c.Hash.String(), Short: c.Hash.String()[:7], Time: c.Author.When,
		Author: c.Author.Name + " <" + c.Author.Email + ">"}
	v.Message, _, _ = strings.Cut(c.Message, "\n")
	return v, nil
}

// ReadFile returns the file at workspace path p as it is on disk now.
func (r *Repo) ReadFile(p string) ([]byte, error) {
	p, err := cleanPath(p)
	if err != nil {
		return nil, err
	}
	data, err := r.root.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist in the workspace", ErrNotFound, p)
	}
	return data, err
}
