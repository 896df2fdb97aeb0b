package versioning

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// edit is one change to the tree: the entry at path (a repository path) becomes hash with mode,
// or goes away when hash is zero.
type edit struct {
	path string
	hash plumbing.Hash
	mode filemode.FileMode
}

// Save records the file at workspace path p as it is on disk now, or every file below p when it
// is a directory (a directory created or copied). It returns the version it made, or nil when p
// was already recorded as it is, or is ignored by .gitignore and not tracked.
func (r *Repo) Save(ctx context.Context, p string) (*Version, error) {
	return r.record(ctx, p, "Save "+p)
}

// Restore makes the file at p what it was at commit: write (the caller's atomic write into the
// workspace) receives the old content, and the result is recorded as a new commit, so restoring
// loses nothing either.
func (r *Repo) Restore(ctx context.Context, p, commit string, write func([]byte) error) (*Version, error) {
	c, err := r.resolveCommit(commit)
	if err != nil {
		return nil, err
	}
	data, err := r.Show(p, c.Hash.String())
	if err != nil {
		return nil, err
	}
	if err := write(data); err != nil {
		return nil, fmt.Errorf("restore %s: %w", p, err)
	}
	return r.record(ctx, p, fmt.Sprintf("Restore %s to %s", p, c.Hash.String()[:7]))
}

func (r *Repo) record(ctx context.Context, p, message string) (*Version, error) {
	p, err := cleanPath(p)
	if err != nil {
		return nil, err
	}
	fi, err := r.root.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return r.Delete(ctx, p) // gone again before it could be recorded: record that
	}
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", p, err)
	}
	var edits []edit
	if fi.IsDir() {
		err = fs.WalkDir(r.root.FS(), p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); q != p && (name == ".git" || name == ".hops" || r.ignored(r.repoPath(q), true)) {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			e, ok, err := r.fileEdit(q, d.Type())
			if ok {
				edits = append(edits, e)
			}
			return err
		})
	} else if fi.Mode().IsRegular() {
		var e edit
		var ok bool
		if e, ok, err = r.fileEdit(p, fi.Mode()); ok {
			edits = append(edits, e)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", p, err)
	}
	if len(edits) == 0 {
		return nil, nil
	}
	return r.commit(ctx, edits, message, p)
}

// fileEdit stores the workspace file q as a blob and returns the edit that puts it in the tree;
// ok is false for an ignored file the repository does not already track.
func (r *Repo) fileEdit(q string, mode fs.FileMode) (e edit, ok bool, err error) {
	rp := r.repoPath(q)
	if r.ignored(rp, false) {
		if tracked, _ := r.headEntry(rp); tracked == nil {
			return edit{}, false, nil
		}
	}
	data, err := r.root.ReadFile(q)
	if err != nil {
		return edit{}, false, err
	}
	h, err := r.writeObject(plumbing.BlobObject, data)
	if err != nil {
		return edit{}, false, err
	}
	fm := filemode.Regular
	if mode&0o111 != 0 {
		fm = filemode.Executable
	}
	return edit{path: rp, hash: h, mode: fm}, true, nil
}

// Delete records that the file or directory at p is gone; nil when it was not tracked.
func (r *Repo) Delete(ctx context.Context, p string) (*Version, error) {
	p, err := cleanPath(p)
	if err != nil {
		return nil, err
	}
	if e, _ := r.headEntry(r.repoPath(p)); e == nil {
		return nil, nil
	}
	return r.commit(ctx, []edit{{path: r.repoPath(p)}}, "Delete "+p, p)
}

// Rename records that the file or directory from is now at to: its tracked entries move, as
// with `git mv`. A file that was not tracked before is recorded at its new path.
func (r *Repo) Rename(ctx context.Context, from, to string) (*Version, error) {
	from, err := cleanPath(from)
	if err != nil {
		return nil, err
	}
	if to, err = cleanPath(to); err != nil {
		return nil, err
	}
	e, err := r.headEntry(r.repoPath(from))
	if err != nil {
		return nil, fmt.Errorf("rename %s: %w", from, err)
	}
	if e == nil {
		return r.record(ctx, to, "Save "+to)
	}
	edits := []edit{{path: r.repoPath(from)}, {path: r.repoPath(to), hash: e.Hash, mode: e.Mode}}
	return r.commit(ctx, edits, fmt.Sprintf("Rename %s → %s", from, to), to)
}

// headEntry is the tree entry at repository path p in the branch's latest commit; nil when there
// is none.
func (r *Repo) headEntry(p string) (*object.TreeEntry, error) {
	_, head, err := r.head()
	if err != nil || head.IsZero() {
		return nil, err
	}
	c, err := r.st.commit(head)
	if err != nil {
		return nil, err
	}
	t, err := r.tree(c.TreeHash)
	if err != nil {
		return nil, err
	}
	e, err := t.FindEntry(p)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	return e, err
}

// commit applies edits to the branch's latest tree and commits the result on the branch (or on
// a detached HEAD). Commits are serialized; if another git process moves the branch meanwhile,
// the edits are applied again on top of its commit.
func (r *Repo) commit(ctx context.Context, edits []edit, message, subject string) (*Version, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ref, parent, err := r.head()
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		var baseTree plumbing.Hash
		if !parent.IsZero() {
			pc, err := r.st.commit(parent)
			if err != nil {
				return nil, fmt.Errorf("commit: read %s: %w", parent, err)
			}
			baseTree = pc.TreeHash
		}
		newTree, err := r.editTree(baseTree, edits)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		if newTree == baseTree {
			return nil, nil // nothing changed
		}
		if newTree.IsZero() { // the last file went: git still needs the empty tree object
			if newTree, err = r.writeEncoded(&object.Tree{}, plumbing.TreeObject); err != nil {
				return nil, fmt.Errorf("commit: %w", err)
			}
		}
		when := r.now()
		sig := object.Signature{Name: r.author.Name, Email: r.author.Email, When: when}
		c := &object.Commit{Author: sig, Committer: sig, Message: message + "\n", TreeHash: newTree}
		if !parent.IsZero() {
			c.ParentHashes = []plumbing.Hash{parent}
		}
		h, err := r.writeEncoded(c, plumbing.CommitObject)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		moved, err := r.setRef(ref, parent, h, message)
		if err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
		if !moved {
			if attempt < 3 {
				continue // another git process committed meanwhile: edit on top of its commit
			}
			return nil, fmt.Errorf("commit: %w: the branch keeps moving under other git processes", ErrBusy)
		}
		c.Hash = h
		r.updateIndex(edits)
		v := r.hist.committed(c, edits)
		v.Path = subject
		return v, nil
	}
}

// editTree returns the hash of the tree base with edits applied (paths relative to base),
// writing the new trees on the way up. A directory left empty disappears, as in git.
func (r *Repo) editTree(base plumbing.Hash, edits []edit) (plumbing.Hash, error) {
	t, err := r.tree(base)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	entries := map[string]object.TreeEntry{}
	for _, e := range t.Entries {
		entries[e.Name] = e
	}
	sub := map[string][]edit{}
	var subOrder []string
	for _, e := range edits {
		name, rest, nested := strings.Cut(e.path, "/")
		if !nested {
			if e.hash.IsZero() {
				delete(entries, name)
			} else {
				entries[name] = object.TreeEntry{Name: name, Mode: e.mode, Hash: e.hash}
			}
			continue
		}
		if _, seen := sub[name]; !seen {
			subOrder = append(subOrder, name)
		}
		sub[name] = append(sub[name], edit{path: rest, hash: e.hash, mode: e.mode})
	}
	for _, name := range subOrder {
		var below plumbing.Hash
		if cur, ok := entries[name]; ok && cur.Mode == filemode.Dir {
			below = cur.Hash
		}
		h, err := r.editTree(below, sub[name])
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h.IsZero() {
			delete(entries, name)
		} else {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	nt := &object.Tree{Entries: make([]object.TreeEntry, 0, len(entries))}
	for _, e := range entries {
		nt.Entries = append(nt.Entries, e)
	}
	// Git orders a tree's entries by name, a directory's name compared as if it ended in "/".
	sort.Slice(nt.Entries, func(i, j int) bool { return treeKey(nt.Entries[i]) < treeKey(nt.Entries[j]) })
	if len(t.Entries) == len(nt.Entries) && sameEntries(t.Entries, nt.Entries) {
		return base, nil
	}
	return r.writeEncoded(nt, plumbing.TreeObject)
}

func treeKey(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func sameEntries(a, b []object.TreeEntry) bool {
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Mode != b[i].Mode || a[i].Hash != b[i].Hash {
			return false
		}
	}
	return true
}

// workspacePath turns a repository path back into a workspace path ("" when it is outside).
func (r *Repo) workspacePath(p string) string {
	if r.prefix == "" {
		return p
	}
	rest, ok := strings.CutPrefix(p, r.prefix+"/")
	if !ok {
		return ""
	}
	return rest
}
