package contents

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"path"

	"github.com/hopsml/hops/server/httpjson"
)

// CheckpointID is the id of the one checkpoint a file can have with the built-in checkpoints, as
// with jupyter_server's file checkpoints: a copy under .hops/checkpoints/<path>, out of the
// user's directories. Options.Checkpoints replaces them (hops lab: with git history).
const CheckpointID = "checkpoint"

// Checkpoint is a saved version of a file that it can be restored to.
type Checkpoint struct {
	ID           string `json:"id"`
	LastModified Time   `json:"last_modified"`
}

// Checkpoints keep the versions of files that the checkpoint routes list, create, restore and
// delete. Paths are workspace paths of regular files, checked and with symlinks resolved; errors
// that are the client's fault should be httpjson status errors (e.g. 404 for an unknown id).
type Checkpoints interface {
	// Create records the file as it is now and returns that checkpoint.
	Create(ctx context.Context, path string) (*Checkpoint, error)
	// List returns the file's checkpoints, oldest first; none is an empty list.
	List(ctx context.Context, path string) ([]Checkpoint, error)
	// Restore gives write the content of checkpoint id; write replaces the file atomically.
	Restore(ctx context.Context, path, id string, write func([]byte) error) error
	// Delete forgets checkpoint id, where that makes sense.
	Delete(ctx context.Context, path, id string) error
}

func checkpointPath(p string) string { return path.Join(hopsDir, "checkpoints", p) }

// CreateCheckpoint saves the current content of the file or notebook p as its checkpoint.
func (m *Manager) CreateCheckpoint(ctx context.Context, p string) (*Checkpoint, error) {
	p, err := m.check(p, reading)
	if err != nil {
		return nil, err
	}
	q, fi, err := m.stat(p, reading)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, httpjson.Errorf(http.StatusBadRequest, "%s is not a file: checkpoints are kept for files and notebooks", name(p))
	}
	if m.opts.Checkpoints != nil {
		return m.opts.Checkpoints.Create(ctx, q)
	}
	if err := m.writeCheckpoint(p, q); err != nil {
		return nil, err
	}
	return m.checkpoint(p)
}

// ListCheckpoints returns the checkpoints of p: none or one.
func (m *Manager) ListCheckpoints(ctx context.Context, p string) ([]Checkpoint, error) {
	p, err := m.check(p, reading)
	if err != nil {
		return nil, err
	}
	if m.opts.Checkpoints != nil {
		q, err := m.resolve(p, true, reading)
		if errors.Is(err, fs.ErrNotExist) {
			return []Checkpoint{}, nil
		}
		if err != nil {
			return nil, err
		}
		return m.opts.Checkpoints.List(ctx, q)
	}
	cp, err := m.checkpoint(p)
	if errors.Is(err, fs.ErrNotExist) {
		return []Checkpoint{}, nil
	}
	if err != nil {
		return nil, m.fsError(p, err)
	}
	return []Checkpoint{*cp}, nil
}

// RestoreCheckpoint replaces the content of p with its checkpoint id.
func (m *Manager) RestoreCheckpoint(ctx context.Context, p, id string) error {
	p, err := m.check(p, reading)
	if err != nil {
		return err
	}
	if m.opts.Checkpoints == nil {
		if _, err := m.checkpointOf(p, id); err != nil {
			return err
		}
	}
	q, err := m.resolve(p, true, creating)
	if err != nil {
		return err
	}
	var mode fs.FileMode
	if fi, err := m.root.Stat(name(q)); err == nil {
		if !fi.Mode().IsRegular() {
			return httpjson.Errorf(http.StatusBadRequest, "%s is not a file: cannot restore a checkpoint over it", name(p))
		}
		mode = fi.Mode().Perm()
	}
	unlock := m.lockPath(q)
	defer unlock()
	if m.opts.Checkpoints != nil {
		err = m.opts.Checkpoints.Restore(ctx, q, id, func(data []byte) error { return m.writeFile(q, data, mode) })
		if err != nil {
			return err
		}
	} else if err := m.copyFile(checkpointPath(p), q, mode); err != nil {
		return m.fsError(p, err)
	}
	m.log.Debug("contents: restored checkpoint", "path", p)
	return m.afterSave(ctx, q)
}

// DeleteCheckpoint deletes the checkpoint id of p.
func (m *Manager) DeleteCheckpoint(ctx context.Context, p, id string) error {
	p, err := m.check(p, reading)
	if err != nil {
		return err
	}
	if m.opts.Checkpoints != nil {
		q, err := m.resolve(p, true, reading)
		if err != nil {
			return err
		}
		return m.opts.Checkpoints.Delete(ctx, q, id)
	}
	if _, err := m.checkpointOf(p, id); err != nil {
		return err
	}
	if err := m.root.Remove(checkpointPath(p)); err != nil {
		return m.fsError(p, err)
	}
	return nil
}

// checkpointOf returns checkpoint id of p, or a 404 that says there is none.
func (m *Manager) checkpointOf(p, id string) (*Checkpoint, error) {
	cp, err := m.checkpoint(p)
	if err == nil && id == CheckpointID {
		return cp, nil
	}
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil, httpjson.Errorf(http.StatusNotFound, "%s has no checkpoint %q", name(p), id)
	}
	return nil, m.fsError(p, err)
}

func (m *Manager) checkpoint(p string) (*Checkpoint, error) {
	fi, err := m.root.Stat(checkpointPath(p))
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fs.ErrNotExist
	}
	return &Checkpoint{ID: CheckpointID, LastModified: Time{fi.ModTime()}}, nil
}

// writeCheckpoint copies the file of p (at q on disk) to its checkpoint.
func (m *Manager) writeCheckpoint(p, q string) error {
	cp := checkpointPath(p)
	if err := m.root.MkdirAll(path.Dir(cp), 0o777); err != nil {
		return m.fsError(p, err)
	}
	if err := m.copyFile(q, cp, 0); err != nil {
		return m.fsError(p, err)
	}
	return nil
}

// ensureCheckpoint creates the checkpoint of p (at q on disk) unless it has one.
func (m *Manager) ensureCheckpoint(p, q string) error {
	if m.opts.Checkpoints != nil {
		return nil
	}
	if _, err := m.root.Lstat(checkpointPath(p)); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return m.writeCheckpoint(p, q)
}

// moveCheckpoints moves the checkpoints of from (a file, or all below a directory) to to. A
// failure loses only checkpoints, never the user's files, so it is logged, not returned.
func (m *Manager) moveCheckpoints(from, to string) {
	if m.opts.Checkpoints != nil {
		return
	}
	src, dst := checkpointPath(from), checkpointPath(to)
	if _, err := m.root.Lstat(src); err != nil {
		return
	}
	err := m.root.RemoveAll(dst)
	if err == nil {
		err = m.root.MkdirAll(path.Dir(dst), 0o777)
	}
	if err == nil {
		err = m.root.Rename(src, dst)
	}
	if err != nil {
		m.log.Warn("contents: moving checkpoints", "from", from, "to", to, "err", err)
	}
}

// deleteCheckpoints deletes the checkpoints of p (a file, or all below a directory).
func (m *Manager) deleteCheckpoints(p string) {
	if m.opts.Checkpoints != nil {
		return
	}
	if err := m.root.RemoveAll(checkpointPath(p)); err != nil {
		m.log.Warn("contents: deleting checkpoints", "path", p, "err", err)
	}
}
