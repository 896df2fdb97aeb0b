package versioning

import (
	"io"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// store serializes access to go-git's filesystem storage, which is not safe for concurrent use
// (its packfile and loose-object bookkeeping is unguarded). Trees and commits read through it
// load their subtrees through it too. Only reads go through go-git; objects are written by
// writeObject, outside this lock.
type store struct {
	mu sync.Mutex
	st *filesystem.Storage
}

var _ storer.EncodedObjectStorer = (*store)(nil)

func (s *store) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

func (s *store) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.SetEncodedObject(o)
}

func (s *store) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.st.EncodedObject(t, h)
	if err != nil {
		return nil, err
	}
	// Read the content while holding the lock: a packed object reads its packfile lazily.
	mo := &plumbing.MemoryObject{}
	mo.SetType(o.Type())
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	if _, err := io.Copy(mo, rd); err != nil {
		return nil, err
	}
	return mo, nil
}

func (s *store) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.IterEncodedObjects(t)
}

func (s *store) HasEncodedObject(h plumbing.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.HasEncodedObject(h)
}

func (s *store) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.EncodedObjectSize(h)
}

func (s *store) AddAlternate(remote string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.AddAlternate(remote)
}

func (s *store) Reference(n plumbing.ReferenceName) (*plumbing.Reference, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Reference(n)
}

func (s *store) commit(h plumbing.Hash) (*object.Commit, error) { return object.GetCommit(s, h) }
