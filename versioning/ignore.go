package versioning

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// ignoreRules answers "is this path ignored?" as git does (global excludes file, info/exclude,
// then the .gitignore files of the path's directories, later and deeper ones winning), reading
// only the files on the path's way down and re-reading one only when it changed: a save must not
// walk the worktree.
type ignoreRules struct {
	worktree, gitDir string

	mu     sync.Mutex
	files  map[string]ignoreFile // by absolute path
	global []gitignore.Pattern
}

type ignoreFile struct {
	mtime    time.Time
	size     int64
	patterns []gitignore.Pattern
}

func newIgnoreRules(worktree, gitDir string) *ignoreRules {
	ir := &ignoreRules{worktree: worktree, gitDir: gitDir, files: map[string]ignoreFile{}}
	ir.global, _ = gitignore.LoadGlobalPatterns(osfs.New("/"))
	return ir
}

// match says whether the repository path p (a file, or a directory when isDir) is ignored,
// either itself or through one of its parent directories.
func (ir *ignoreRules) match(p string, isDir bool) bool {
	parts := strings.Split(p, "/")
	ir.mu.Lock()
	defer ir.mu.Unlock()
	patterns := append([]gitignore.Pattern(nil), ir.global...)
	patterns = append(patterns, ir.read(filepath.Join(ir.gitDir, "info", "exclude"), nil)...)
	for i := range parts {
		dir := parts[:i:i] // capped: appending to it must not overwrite parts
		file := filepath.Join(ir.worktree, filepath.Join(dir...), ".gitignore")
		patterns = append(patterns, ir.read(file, dir)...)
		if i == 0 {
			continue
		}
		if gitignore.NewMatcher(patterns).Match(dir, true) {
			return true // git does not look inside an ignored directory
		}
	}
	return gitignore.NewMatcher(patterns).Match(parts, isDir)
}

// read returns the patterns of the ignore file at name (domain: the directory it applies to),
// from the cache while its size and modification time are unchanged.
func (ir *ignoreRules) read(name string, domain []string) []gitignore.Pattern {
	fi, err := os.Stat(name)
	if err != nil {
		delete(ir.files, name)
		return nil
	}
	if f, ok := ir.files[name]; ok && f.mtime.Equal(fi.ModTime()) && f.size == fi.Size() {
		return f.patterns
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, append([]string(nil), domain...)))
	}
	ir.files[name] = ignoreFile{mtime: fi.ModTime(), size: fi.Size(), patterns: ps}
	return ps
}
