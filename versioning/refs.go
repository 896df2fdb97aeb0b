package versioning

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// lockWait is how long a commit waits for a git process that holds a ref's lock file.
const lockWait = 2 * time.Second

// head returns the ref that commits move (a branch, or HEAD itself when detached) and the commit
// it points at (zero on an unborn branch).
func (r *Repo) head() (plumbing.ReferenceName, plumbing.Hash, error) {
	h, err := r.st.Reference(plumbing.HEAD)
	if err != nil {
		return "", plumbing.ZeroHash, fmt.Errorf("read HEAD: %w", err)
	}
	if h.Type() == plumbing.HashReference {
		return plumbing.HEAD, h.Hash(), nil
	}
	name := h.Target()
	ref, err := r.st.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return name, plumbing.ZeroHash, nil
	}
	if err != nil {
		return "", plumbing.ZeroHash, fmt.Errorf("read %s: %w", name, err)
	}
	return name, ref.Hash(), nil
}

// refDir is where the loose file of ref name lives: HEAD in the worktree's git directory,
// everything else in the common one (they differ in linked worktrees).
func (r *Repo) refDir(name plumbing.ReferenceName) string {
	if name == plumbing.HEAD {
		return r.gitDir
	}
	return r.commonDir
}

// setRef moves ref name from old to new the way git does: under name.lock, only if it still
// points at old (moved is false otherwise), fsynced before the rename that publishes it. The
// reflogs of the ref and of HEAD get the line git would write.
func (r *Repo) setRef(name plumbing.ReferenceName, old, new plumbing.Hash, message string) (moved bool, err error) {
	file := filepath.Join(r.refDir(name), filepath.FromSlash(name.String()))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return false, err
	}
	lock, err := createLock(file + ".lock")
	if err != nil {
		return false, err
	}
	published := false
	defer func() {
		if !published {
			os.Remove(lock.Name())
		}
	}()
	_, cur, err := r.headOf(name)
	if err != nil {
		lock.Close()
		return false, err
	}
	if cur != old {
		lock.Close()
		return false, nil
	}
	_, err = lock.WriteString(new.String() + "\n")
	if err == nil {
		err = lock.Sync()
	}
	if cerr := lock.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(lock.Name(), file)
	}
	if err != nil {
		return false, fmt.Errorf("update %s: %w", name, err)
	}
	published = true
	if err := syncDir(filepath.Dir(file)); err != nil {
		return true, fmt.Errorf("update %s: %w", name, err)
	}
	r.appendReflog(name, old, new, message)
	return true, nil
}

// headOf reads ref name now (HEAD resolved to its hash when detached).
func (r *Repo) headOf(name plumbing.ReferenceName) (plumbing.ReferenceName, plumbing.Hash, error) {
	ref, err := r.st.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return name, plumbing.ZeroHash, nil
	}
	if err != nil {
		return name, plumbing.ZeroHash, err
	}
	if ref.Type() != plumbing.HashReference {
		return r.head()
	}
	return name, ref.Hash(), nil
}

// createLock takes a git lock file, waiting a little for a git process that holds it.
func createLock(name string) (*os.File, error) {
	deadline := time.Now().Add(lockWait)
	for {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s exists; another git process is running, or one crashed and left it (remove it if no git process runs)", ErrBusy, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// appendReflog adds the line `git commit` would to the reflogs of name and of HEAD. Reflogs are a
// convenience (`git reflog`), so failing to write one is logged, not returned.
func (r *Repo) appendReflog(name plumbing.ReferenceName, old, new plumbing.Hash, message string) {
	when := r.now()
	kind := "commit"
	if old.IsZero() {
		kind = "commit (initial)"
	}
	subject, _, _ := strings.Cut(message, "\n")
	line := fmt.Sprintf("%s %s %s %d %s\t%s: %s\n", old, new, r.author, when.Unix(), when.Format("-0700"), kind, subject)
	logs := []string{filepath.Join(r.refDir(name), "logs", filepath.FromSlash(name.String()))}
	if name != plumbing.HEAD {
		logs = append(logs, filepath.Join(r.gitDir, "logs", "HEAD"))
	}
	for _, p := range logs {
		if err := appendLine(p, line); err != nil {
			r.log.Warn("could not write the reflog", "file", p, "err", err)
		}
	}
}

func appendLine(p, line string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// updateIndex makes git's index agree with a commit just made, for the paths it changed, so that
// `git status` in the CLI shows them clean instead of staged backwards. The index is git's cache,
// not history: when it cannot be updated (another git process holds it, a format go-git does not
// write) the commit stands and the CLI re-reads the files.
func (r *Repo) updateIndex(edits []edit) {
	if err := r.writeIndex(edits); err != nil {
		r.log.Warn("git index not updated; the commit is made, `git status` may show the file until the next `git add`", "err", err)
	}
}

func (r *Repo) writeIndex(edits []edit) error {
	file := filepath.Join(r.gitDir, "index")
	idx := &index.Index{Version: 2}
	if f, err := os.Open(file); err == nil {
		err = index.NewDecoder(bufio.NewReader(f)).Decode(idx)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if idx.Version > index.EncodeVersionSupported {
		return fmt.Errorf("index version %d", idx.Version)
	}
	for _, e := range edits {
		kept := idx.Entries[:0]
		for _, x := range idx.Entries {
			if x.Name != e.path && !strings.HasPrefix(x.Name, e.path+"/") {
				kept = append(kept, x)
			}
		}
		idx.Entries = kept
		if e.hash.IsZero() {
			continue
		}
		added, err := r.indexEntries(e.path, e.hash, e.mode)
		if err != nil {
			return err
		}
		idx.Entries = append(idx.Entries, added...)
	}
	sort.Slice(idx.Entries, func(i, j int) bool {
		if idx.Entries[i].Name != idx.Entries[j].Name {
			return idx.Entries[i].Name < idx.Entries[j].Name
		}
		return idx.Entries[i].Stage < idx.Entries[j].Stage
	})
	idx.Cache, idx.ResolveUndo, idx.EndOfIndexEntry = nil, nil, nil
	lock, err := os.OpenFile(file+".lock", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(lock)
	err = index.NewEncoder(bw).Encode(idx)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := lock.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(lock.Name(), file)
	}
	if err != nil {
		os.Remove(lock.Name())
	}
	return err
}

// indexEntries are the index entries for the tree entry at p: itself for a file, every file
// below it for a directory. The stat data comes from the worktree, so git sees them clean.
func (r *Repo) indexEntries(p string, h plumbing.Hash, mode filemode.FileMode) ([]*index.Entry, error) {
	if mode != filemode.Dir {
		return []*index.Entry{r.indexEntry(p, h, mode)}, nil
	}
	t, err := r.tree(h)
	if err != nil {
		return nil, err
	}
	var out []*index.Entry
	err = t.Files().ForEach(func(f *object.File) error {
		out = append(out, r.indexEntry(p+"/"+f.Name, f.Hash, f.Mode))
		return nil
	})
	return out, err
}

func (r *Repo) indexEntry(p string, h plumbing.Hash, mode filemode.FileMode) *index.Entry {
	e := &index.Entry{Name: p, Hash: h, Mode: mode}
	fi, err := os.Lstat(filepath.Join(r.worktree, filepath.FromSlash(p)))
	if err != nil {
		return e // no stat data: git will compare the content
	}
	e.ModifiedAt, e.Size = fi.ModTime(), uint32(fi.Size())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.CreatedAt = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
		e.Dev, e.Inode, e.UID, e.GID = uint32(st.Dev), uint32(st.Ino), st.Uid, st.Gid
	}
	return e
}

// Branch creates the branch name at commit (a hash or prefix), as `git branch name commit` does;
// a branch that exists already is refused with ErrExists.
func (r *Repo) Branch(name, commit string) error {
	ref := plumbing.NewBranchReferenceName(name)
	if err := ref.Validate(); err != nil || strings.ContainsAny(name, " ~^:?*[\\") || strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q is not a valid branch name", ErrBadPath, name)
	}
	c, err := r.resolveCommit(commit)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	moved, err := r.setRef(ref, plumbing.ZeroHash, c.Hash, "branch: Created from "+c.Hash.String()[:7])
	if err != nil {
		return err
	}
	if !moved {
		return fmt.Errorf("%w: branch %s", ErrExists, name)
	}
	return nil
}
