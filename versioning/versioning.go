// Package versioning owns the git history of a workspace: every change hops records (a save, a
// rename, a delete, a restore) becomes one commit, made through go-git's object layer: loose
// objects for the changed blob and the trees above it, a commit, a compare-and-swap of the
// branch. No worktree status scan, so a save costs the same in a repository of ten files or ten
// thousand. The result is an ordinary repository: the git CLI reads the same history, and
// branches, .gitignore and commits made with the CLI are respected.
//
// It also answers what the Versions panel asks: the versions of one file (from an index of the
// first-parent history, kept up to date as commits are made and extended when the CLI moved the
// branch), the file at a version, and restoring one.
package versioning

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Errors callers map to HTTP statuses.
var (
	// ErrNotFound: the path has no version, or the commit does not exist or does not hold the path.
	ErrNotFound = errors.New("not found")
	// ErrBadPath: the path is not a clean workspace-relative path.
	ErrBadPath = errors.New("bad path")
	// ErrBusy: another git process holds the branch or the index lock for too long.
	ErrBusy = errors.New("repository busy")
	// ErrExists: a branch to create exists already.
	ErrExists = errors.New("already exists")
)

// Identity is who commits: the author and committer of hops' commits.
type Identity struct {
	Name, Email string
}

func (id Identity) String() string { return id.Name + " <" + id.Email + ">" }

// Options configure a Repo.
type Options struct {
	// Author of the commits; zero means the repository's git config user (local, then global),
	// else the OS user at this host.
	Author Identity
	// Log receives what could not be done on the side (an index update skipped, a stat that
	// could not be computed).
	Log *slog.Logger
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// Repo is the history of one workspace.
type Repo struct {
	workspace string // absolute, symlinks resolved
	worktree  string // the repository's worktree root: the workspace or a directory above it
	prefix    string // the workspace relative to worktree, "/"-separated; "" when they are the same
	gitDir    string // the worktree's git directory: HEAD, index
	commonDir string // where objects and branches live: gitDir, except in linked worktrees
	repo      *git.Repository
	st        *store   // go-git's storage, for reading objects and refs
	root      *os.Root // the workspace, for reading and restoring files without escaping it
	author    Identity
	log       *slog.Logger
	now       func() time.Time

	mu      sync.Mutex // serializes commits: a branch moves one commit at a time
	hist    *history
	warmed  chan struct{} // closed when the history index built at Open is done
	ignores *ignoreRules
}

// Open returns the history of workspace (an absolute directory). When the workspace is inside a
// git repository, and not ignored by it, that repository is used; otherwise the workspace
// becomes a repository of its own, with branch main.
func Open(workspace string, opts Options) (*Repo, error) {
	ws, err := filepath.EvalSymlinks(workspace)
	if err != nil {
		return nil, fmt.Errorf("versioning: workspace: %w", err)
	}
	r := &Repo{workspace: ws, log: opts.Log, now: opts.Now}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	repo, err := git.PlainOpenWithOptions(ws, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	switch {
	case err == nil:
		if err := r.adopt(repo); err != nil {
			return nil, err
		}
		if r.prefix != "" && r.ignored(r.prefix, true) {
			// A workspace the enclosing project ignores (a demo or scratch folder) gets its own
			// history rather than none.
			r.log.Info("workspace is ignored by the enclosing repository; giving it a repository of its own", "repository", r.worktree)
			if repo, err = initRepo(ws); err != nil {
				return nil, err
			}
			if err := r.adopt(repo); err != nil {
				return nil, err
			}
		}
	case errors.Is(err, git.ErrRepositoryNotExists):
		if repo, err = initRepo(ws); err != nil {
			return nil, err
		}
		if err := r.adopt(repo); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("versioning: open repository at %s: %w", ws, err)
	}
	if err := r.excludeHopsState(); err != nil {
		r.log.Warn("could not add .hops/ to .git/info/exclude", "err", err)
	}
	if r.root, err = os.OpenRoot(ws); err != nil {
		return nil, fmt.Errorf("versioning: workspace: %w", err)
	}
	r.author = opts.Author
	if r.author.Name == "" || r.author.Email == "" {
		r.author = r.configuredIdentity()
	}
	r.hist = newHistory(r)
	// Index the history now, so the first Versions panel to open does not wait for it.
	r.warmed = make(chan struct{})
	go func() {
		defer close(r.warmed)
		r.hist.mu.Lock()
		defer r.hist.mu.Unlock()
		if err := r.hist.sync(); err != nil {
			r.log.Warn("history index not built", "err", err)
		}
	}()
	return r, nil
}

func initRepo(dir string) (*git.Repository, error) {
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.Main},
	})
	if err != nil {
		return nil, fmt.Errorf("versioning: initialize a repository in %s: %w", dir, err)
	}
	return repo, nil
}

// adopt takes repo as the workspace's repository and works out where the workspace is in it.
func (r *Repo) adopt(repo *git.Repository) error {
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("versioning: %s is a bare repository; hops needs a worktree", r.workspace)
	}
	top, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return fmt.Errorf("versioning: worktree: %w", err)
	}
	rel, err := filepath.Rel(top, r.workspace)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("versioning: workspace %s is not inside the repository at %s", r.workspace, top)
	}
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return fmt.Errorf("versioning: unexpected repository storage %T", repo.Storer)
	}
	r.repo, r.st, r.worktree = repo, &store{st: st}, top
	r.gitDir = st.Filesystem().Root()
	r.commonDir = r.gitDir
	if data, err := os.ReadFile(filepath.Join(r.gitDir, "commondir")); err == nil {
		r.commonDir = strings.TrimSpace(string(data))
		if !filepath.IsAbs(r.commonDir) {
			r.commonDir = filepath.Join(r.gitDir, r.commonDir)
		}
	}
	r.prefix = ""
	if rel != "." {
		r.prefix = filepath.ToSlash(rel)
	}
	r.ignores = newIgnoreRules(top, r.commonDir)
	return nil
}

// Close releases the workspace (after the history indexing Open started).
func (r *Repo) Close() error {
	<-r.warmed
	return r.root.Close()
}

// Worktree is the root of the repository's worktree: the workspace or a directory above it.
func (r *Repo) Worktree() string { return r.worktree }

// Author is who hops' commits are by.
func (r *Repo) Author() Identity { return r.author }

// repoPath turns a workspace path into a path in the repository.
func (r *Repo) repoPath(p string) string {
	if r.prefix == "" {
		return p
	}
	return r.prefix + "/" + p
}

// cleanPath checks that p is a clean, relative, "/"-separated workspace path outside .git and
// .hops, and returns it.
func cleanPath(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") ||
		strings.Contains(p, "\\") || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%w: %q is not a clean path inside the workspace", ErrBadPath, p)
	}
	first, _, _ := strings.Cut(p, "/")
	if first == ".git" || first == ".hops" {
		return "", fmt.Errorf("%w: %q is hops' or git's own state, not a workspace file", ErrBadPath, p)
	}
	return p, nil
}

// configuredIdentity is user.name/user.email from the repository's config (which includes the
// global one), else the OS user at this host, as git itself would guess.
func (r *Repo) configuredIdentity() Identity {
	var id Identity
	for _, scope := range []config.Scope{config.LocalScope, config.GlobalScope} {
		cfg, err := r.repo.ConfigScoped(scope)
		if err != nil {
			continue
		}
		if id.Name == "" {
			id.Name = cfg.User.Name
		}
		if id.Email == "" {
			id.Email = cfg.User.Email
		}
	}
	if id.Name == "" || id.Email == "" {
		login := "hops"
		if u, err := user.Current(); err == nil && u.Username != "" {
			login = u.Username
		}
		host, _ := os.Hostname()
		if host == "" {
			host = "localhost"
		}
		if id.Name == "" {
			id.Name = login
		}
		if id.Email == "" {
			id.Email = login + "@" + host
		}
	}
	return id
}

// excludeHopsState adds the workspace's .hops/ (settings, checkpoints, the store) to
// .git/info/exclude, so that `git add .` in the CLI does not sweep hops' state into history.
func (r *Repo) excludeHopsState() error {
	line := "/" + r.repoPath(".hops/")
	p := filepath.Join(r.commonDir, "info", "exclude")
	data, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == line {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		data = append(data, '\n')
	}
	data = append(data, []byte("# hops' own state (settings, checkpoints, the project store)\n"+line+"\n")...)
	return os.WriteFile(p, data, 0o644)
}

// ignored says whether the repository path p is ignored by .gitignore files, info/exclude or the
// global excludes file.
func (r *Repo) ignored(p string, isDir bool) bool {
	return r.ignores.match(p, isDir)
}
