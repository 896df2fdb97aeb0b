// Package hdfs is the project store on HDFS (hdfs://namenode:port/path), through the pure-Go
// client github.com/colinmarc/hdfs/v2: simple authentication as a user, the Hadoop configuration
// from HADOOP_CONF_DIR when it is set. Files are written under a hidden temporary name and
// renamed over the final name when complete, so a writer that fails (the namenode dies, the
// process is killed) never leaves half a file under the name readers use.
package hdfs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	gohdfs "github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/hopsml/hops/store"
)

// Options configure a connection.
type Options struct {
	// User is the HDFS user (simple authentication); "" means the URL's user, else
	// HADOOP_USER_NAME, else the OS user.
	User string
	// DialTimeout bounds connecting to the namenode and datanodes; 0 means 10 s.
	DialTimeout time.Duration
	// IOTimeout bounds each read and write on a datanode connection; 0 means 60 s.
	IOTimeout time.Duration
}

// FS is a store below a directory of an HDFS cluster.
type FS struct {
	client *gohdfs.Client
	root   string // absolute HDFS path
	url    string
	io     time.Duration
}

var _ store.FS = (*FS)(nil)

// Open connects to the store at rawURL: hdfs://[user@]host:port/path, or hdfs:///path for the
// namenodes of the Hadoop configuration in HADOOP_CONF_DIR. The directory is created if needed.
func Open(ctx context.Context, rawURL string, opt Options) (*FS, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "hdfs" {
		return nil, fmt.Errorf("%q is not an HDFS URL: use hdfs://namenode:port/path", rawURL)
	}
	var conf hadoopconf.HadoopConf
	if os.Getenv("HADOOP_CONF_DIR") != "" {
		if conf, err = hadoopconf.LoadFromEnvironment(); err != nil {
			return nil, fmt.Errorf("read the Hadoop configuration in HADOOP_CONF_DIR: %w", err)
		}
	}
	o := gohdfs.ClientOptionsFromConf(conf)
	if u.Host != "" {
		o.Addresses = []string{u.Host}
	}
	if len(o.Addresses) == 0 {
		return nil, fmt.Errorf("%s names no namenode, and HADOOP_CONF_DIR gives none: use hdfs://namenode:port/path", rawURL)
	}
	o.User = opt.User
	if o.User == "" && u.User != nil {
		o.User = u.User.Username()
	}
	if o.User == "" {
		o.User = os.Getenv("HADOOP_USER_NAME")
	}
	if o.User == "" {
		if cur, err := user.Current(); err == nil {
			o.User = cur.Username
		}
	}
	dial := opt.DialTimeout
	if dial == 0 {
		dial = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}
	o.NamenodeDialFunc, o.DatanodeDialFunc = dialer.DialContext, dialer.DialContext
	if o.User == "" {
		return nil, fmt.Errorf("which HDFS user? give one in the URL (hdfs://user@namenode:port/path) or HADOOP_USER_NAME")
	}
	client, err := gohdfs.NewClient(o)
	if err != nil { // the client dials the namenode here: with a user given, what fails is the connection
		return nil, fmt.Errorf("connect to HDFS at %s: %w: %v", strings.Join(o.Addresses, ","), store.ErrUnavailable, err)
	}
	root := path.Clean("/" + u.Path)
	s := &FS{client: client, root: root, url: "hdfs://" + strings.Join(o.Addresses, ",") + root, io: opt.IOTimeout}
	if s.io == 0 {
		s.io = 60 * time.Second
	}
	if err := s.client.MkdirAll(root, 0o755); err != nil {
		client.Close()
		return nil, s.wrap("open store", "", err)
	}
	return s, nil
}

func (s *FS) String() string { return s.url }

// Close closes the connection to the namenode.
func (s *FS) Close() error { return s.client.Close() }

// abs checks a store name and returns its HDFS path.
func (s *FS) abs(name string) (string, error) {
	c, err := store.Clean(name)
	if err != nil {
		return "", err
	}
	return path.Join(s.root, c), nil
}

// wrap maps the client's errors to the store's sentinels, naming the store path.
func (s *FS) wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := fmt.Sprintf("%s %s on %s", op, name, s.url)
	var remote gohdfs.Error
	exception := ""
	if errors.As(err, &remote) {
		exception = remote.Exception()
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), strings.HasSuffix(exception, "ParentNotDirectoryException"):
		return fmt.Errorf("%s: %w", msg, fs.ErrNotExist)
	case errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTEMPTY), strings.HasSuffix(exception, "FileAlreadyExistsException"):
		return fmt.Errorf("%s: %w", msg, fs.ErrExist)
	case errors.Is(err, fs.ErrPermission), strings.HasSuffix(exception, "AccessControlException"):
		return fmt.Errorf("%s: %w", msg, fs.ErrPermission)
	case strings.HasSuffix(exception, "SafeModeException"):
		return fmt.Errorf("%s: %w: the namenode is in safe mode (starting up); try again shortly", msg, store.ErrUnavailable)
	}
	return fmt.Errorf("%s: %w", msg, unavailable(err))
}

// unavailable marks network failures (the namenode or a datanode gone) as ErrUnavailable.
func unavailable(err error) error {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return err
}

type file struct {
	*gohdfs.FileReader
	s    *FS
	name string
}

func (f file) Read(p []byte) (int, error) {
	f.SetDeadline(time.Now().Add(f.s.io))
	n, err := f.FileReader.Read(p)
	if err != nil && err != io.EOF {
		err = f.s.wrap("read", f.name, err)
	}
	return n, err
}

func (f file) Stat() (store.Info, error) { return info(f.FileReader.Stat()), nil }

func info(fi fs.FileInfo) store.Info {
	return store.Info{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), Dir: fi.IsDir()}
}

func (s *FS) Open(ctx context.Context, name string) (store.File, error) {
	p, err := s.abs(name)
	if err != nil {
		return nil, err
	}
	r, err := s.client.Open(p)
	if err != nil {
		return nil, s.wrap("open", name, err)
	}
	if r.Stat().IsDir() {
		r.Close()
		return nil, fmt.Errorf("open %s: is a directory: list it instead", name)
	}
	return file{r, s, name}, nil
}

// writer writes a hidden temporary file beside the target and renames it over the target on Close.
type writer struct {
	s          *FS
	w          *gohdfs.FileWriter
	tmp, dest  string
	name       string
	done       bool
	writeFault error
}

func (s *FS) Create(ctx context.Context, name string) (store.Writer, error) {
	p, err := s.abs(name)
	if err != nil {
		return nil, err
	}
	if p == s.root {
		return nil, fmt.Errorf("create: %w: name a file, not the store's root", store.ErrBadPath)
	}
	if fi, err := s.client.Stat(p); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("create %s: %w: a directory is there", name, fs.ErrExist)
	}
	tmp := path.Join(path.Dir(p), store.TempPrefix+path.Base(p)+"-"+rand.Text())
	w, err := s.client.Create(tmp)
	if err != nil {
		return nil, s.wrap("create", name, err)
	}
	return &writer{s: s, w: w, tmp: tmp, dest: p, name: name}, nil
}

func (w *writer) Write(p []byte) (int, error) {
	w.w.SetDeadline(time.Now().Add(w.s.io))
	n, err := w.w.Write(p)
	if err != nil {
		w.writeFault = err
		return n, w.s.wrap("write", w.name, err)
	}
	return n, nil
}

func (w *writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	w.w.SetDeadline(time.Now().Add(w.s.io))
	err := closeFile(w.w, w.s.io)
	if err == nil && w.writeFault == nil {
		err = w.s.client.Rename(w.tmp, w.dest)
	}
	if err != nil || w.writeFault != nil {
		w.s.client.Remove(w.tmp) // best effort: the namenode may be the one that failed
		if err == nil {
			err = w.writeFault
		}
		return w.s.wrap("write", w.name, err)
	}
	return nil
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.w.Close()
	return w.s.wrap("abort", w.name, w.s.client.Remove(w.tmp))
}

type appender struct {
	*gohdfs.FileWriter
	s    *FS
	name string
}

func (a appender) Write(p []byte) (int, error) {
	a.SetDeadline(time.Now().Add(a.s.io))
	n, err := a.FileWriter.Write(p)
	return n, a.s.wrap("append", a.name, err)
}

func (a appender) Close() error { return a.s.wrap("append", a.name, closeFile(a.FileWriter, a.s.io)) }

// closeFile closes an HDFS file, waiting (as the Java client does) while the namenode has not yet
// heard from the datanodes that the last block is stored: "replication in progress" is not a
// failure, the data is written.
func closeFile(w *gohdfs.FileWriter, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := w.Close()
		if !gohdfs.IsErrReplicating(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

func (s *FS) Append(ctx context.Context, name string) (io.WriteCloser, error) {
	p, err := s.abs(name)
	if err != nil {
		return nil, err
	}
	w, err := s.client.Append(p)
	if err != nil {
		return nil, s.wrap("append", name, err)
	}
	return appender{w, s, name}, nil
}

func (s *FS) Stat(ctx context.Context, name string) (store.Info, error) {
	p, err := s.abs(name)
	if err != nil {
		return store.Info{}, err
	}
	fi, err := s.client.Stat(p)
	if err != nil {
		return store.Info{}, s.wrap("stat", name, err)
	}
	return info(fi), nil
}

func (s *FS) List(ctx context.Context, name string) ([]store.Info, error) {
	p, err := s.abs(name)
	if err != nil {
		return nil, err
	}
	entries, err := s.client.ReadDir(p)
	if err != nil {
		return nil, s.wrap("list", name, err)
	}
	out := make([]store.Info, 0, len(entries))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), store.TempPrefix) {
			out = append(out, info(e))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *FS) Rename(ctx context.Context, from, to string) error {
	f, err := s.abs(from)
	if err != nil {
		return err
	}
	t, err := s.abs(to)
	if err != nil {
		return err
	}
	if f == s.root || t == s.root {
		return fmt.Errorf("rename: %w: the store's root cannot be moved", store.ErrBadPath)
	}
	if _, err := s.client.Stat(f); err != nil {
		return s.wrap("rename", from, err)
	}
	if fi, err := s.client.Stat(t); err == nil && fi.IsDir() {
		return fmt.Errorf("rename %s to %s on %s: %w: a directory is there", from, to, s.url, fs.ErrExist)
	}
	return s.wrap("rename "+from+" to", to, s.client.Rename(f, t))
}

func (s *FS) Remove(ctx context.Context, name string) error {
	p, err := s.abs(name)
	if err != nil {
		return err
	}
	if p == s.root {
		return fmt.Errorf("remove: %w: the store's root cannot be removed", store.ErrBadPath)
	}
	if _, err := s.client.Stat(p); err != nil {
		return s.wrap("remove", name, err)
	}
	return s.wrap("remove", name, s.client.RemoveAll(p))
}

func (s *FS) MkdirAll(ctx context.Context, name string) error {
	p, err := s.abs(name)
	if err != nil {
		return err
	}
	err = s.client.MkdirAll(p, 0o755)
	if err != nil {
		// HDFS answers "permission denied" for a directory below a file; say what is in the way.
		for q := path.Dir(p); strings.HasPrefix(q, s.root) && q != "/"; q = path.Dir(q) {
			if fi, serr := s.client.Stat(q); serr == nil && !fi.IsDir() {
				return fmt.Errorf("mkdir %s on %s: %w: %s is a file", name, s.url, fs.ErrExist, strings.TrimPrefix(strings.TrimPrefix(q, s.root), "/"))
			}
		}
	}
	return s.wrap("mkdir", name, err)
}
