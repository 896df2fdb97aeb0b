package versioning

import (
	"bufio"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeObject stores content as a loose object of type typ and returns its hash. The format is
// git's: the zlib stream of "<type> <size>\x00<content>", in objects/<2 hex>/<38 hex>, named by
// the SHA-1 (collision-detecting, as git's) of the uncompressed bytes. Written here rather than
// through go-git's storer because a save is latency-bound: the hash runs beside the compression
// instead of before it, compression is zlib's fastest level (git's own default for loose
// objects), and the file is fsynced before it gets its name, so an acknowledged commit never
// points at an object a crash lost.
func (r *Repo) writeObject(typ plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	header := []byte(typ.String() + " " + strconv.Itoa(len(content)) + "\x00")
	hashed := make(chan plumbing.Hash, 1)
	go func() {
		h := plumbing.NewHasher(typ, int64(len(content)))
		h.Write(content)
		hashed <- h.Sum()
	}()
	objects := filepath.Join(r.commonDir, "objects")
	tmp, err := os.CreateTemp(objects, "tmp_obj_")
	if err != nil {
		<-hashed
		return plumbing.ZeroHash, fmt.Errorf("write object: %w", err)
	}
	defer os.Remove(tmp.Name()) // once renamed, this fails harmlessly
	err = compressTo(tmp, header, content)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	h := <-hashed
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object: %w", err)
	}
	if r.st.HasEncodedObject(h) == nil {
		return h, nil // already stored, loose or packed
	}
	hex := h.String()
	dir := filepath.Join(objects, hex[:2])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, hex[2:])); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object: %w", err)
	}
	return h, syncDir(dir)
}

func compressTo(f *os.File, header, content []byte) error {
	bw := bufio.NewWriterSize(f, 64<<10)
	zw, err := zlib.NewWriterLevel(bw, zlib.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := zw.Write(header); err != nil {
		return err
	}
	if _, err := zw.Write(content); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeEncoded stores a tree or commit encoded by go-git.
func (r *Repo) writeEncoded(enc interface {
	Encode(plumbing.EncodedObject) error
}, typ plumbing.ObjectType) (plumbing.Hash, error) {
	o := &plumbing.MemoryObject{}
	o.SetType(typ)
	if err := enc.Encode(o); err != nil {
		return plumbing.ZeroHash, err
	}
	rd, err := o.Reader()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer rd.Close()
	buf, err := io.ReadAll(rd)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return r.writeObject(typ, buf)
}

// tree reads the tree h; the zero hash is the empty tree.
func (r *Repo) tree(h plumbing.Hash) (*object.Tree, error) {
	if h.IsZero() {
		return &object.Tree{}, nil
	}
	return object.GetTree(r.st, h)
}

// blob reads the content of blob h.
func (r *Repo) blob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(r.st, h)
	if err != nil {
		return nil, err
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	data := make([]byte, b.Size)
	if _, err := io.ReadFull(rd, data); err != nil {
		return nil, err
	}
	return data, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, os.ErrInvalid) {
		return nil // some filesystems cannot sync a directory; the rename is as durable as they get
	}
	return err
}
