package lab

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Files compressed for clients that accept gzip: text types from this size up. Smaller files gain
// too little to pay for the extra header and decompression.
const minGzipSize = 2 << 10

var compressibleExt = map[string]bool{
	".js": true, ".css": true, ".json": true, ".svg": true, ".html": true, ".map": true, ".txt": true, ".md": true,
}

// hashedName matches file names that carry a content hash (webpack chunks, remote entries, fonts:
// "1014.073326ef5d98db5e.js", "0031b1860ea4ad75.woff"): their content never changes under that name.
var hashedName = regexp.MustCompile(`(^|[.-])[0-9a-f]{12,}\.`)

var errInvalidPath = errors.New("invalid path")

// assetServer serves files of the installed assets with cache headers and gzip. Each compressible
// file is compressed once, on its first request, and kept in memory (under 4 MiB for the whole
// bundle): the assets do not change while hops runs. A first page load fetches about 5.4 MB in 52
// files, 1.5 MB gzipped; compressing them takes about 150 ms of CPU, which later loads by other
// browsers no longer pay (4 ms).
type assetServer struct {
	gzipped sync.Map // gzipKey -> *gzipEntry
	hashes  sync.Map // gzipKey -> entity tag of a file without a modification time
}

// gzipKey names one version of a file: a reinstalled asset gets a new entry.
type gzipKey struct {
	path    string // the file's path, or a name of the file system it is in and its name there
	modTime int64
	size    int64
}

type gzipEntry struct {
	once sync.Once
	data []byte
	err  error
}

// serveStatic serves /static/lab/{file...} from the JupyterLab bundle.
func (l *Lab) serveStatic(w http.ResponseWriter, r *http.Request) {
	l.assets.serve(w, r, l.staticDir, r.PathValue("file"))
}

// serve answers with the file name inside dir. Names that are not clean relative paths, or that
// would leave dir (through ".." or a symbolic link), are refused.
func (a *assetServer) serve(w http.ResponseWriter, r *http.Request, dir, name string) {
	f, info, err := openAsset(dir, name)
	if !a.opened(w, name, err) {
		return
	}
	defer f.Close()
	a.serveFile(w, r, f, info, f.Name())
}

// serveFS answers with the file name of fsys; source names fsys in the gzip cache (a directory, or
// an extension embedded in the binary).
func (a *assetServer) serveFS(w http.ResponseWriter, r *http.Request, fsys fs.FS, name, source string) {
	f, info, err := openAssetFS(fsys, name)
	if !a.opened(w, name, err) {
		return
	}
	defer f.Close()
	a.serveFile(w, r, f, info, source+"/"+name)
}

// opened answers a failed open (400 for an invalid name, else 404) and reports whether it succeeded.
func (a *assetServer) opened(w http.ResponseWriter, name string, err error) bool {
	switch {
	case errors.Is(err, errInvalidPath):
		http.Error(w, "invalid path: "+name, http.StatusBadRequest)
		return false
	case err != nil:
		http.Error(w, "not found: "+name, http.StatusNotFound)
		return false
	}
	return true
}

// openAsset opens a regular file below dir.
func openAsset(dir, name string) (*os.File, fs.FileInfo, error) {
	if name == "" || !fs.ValidPath(name) {
		return nil, nil, errInvalidPath
	}
	f, err := os.OpenInRoot(dir, name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			// os.Root refuses escapes with an error of its own; answer them like a missing file.
			err = fmt.Errorf("%w: %v", fs.ErrNotExist, err)
		}
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, info, nil
}

// assetFile is an open asset: http.ServeContent needs to seek in it.
type assetFile interface {
	fs.File
	io.ReadSeeker
}

// openAssetFS opens a regular file of fsys that can seek (files of os.DirFS, embed.FS and
// fstest.MapFS all can).
func openAssetFS(fsys fs.FS, name string) (assetFile, fs.FileInfo, error) {
	if name == "" || !fs.ValidPath(name) {
		return nil, nil, errInvalidPath
	}
	f, err := fsys.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %v", fs.ErrNotExist, err)
		}
		return nil, nil, err
	}
	info, err := f.Stat()
	rs, seekable := f.(assetFile)
	if err != nil || !info.Mode().IsRegular() || !seekable {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return rs, info, nil
}

// serveFile answers with f: cache headers by name, gzip when it pays, and conditional and range
// requests through http.ServeContent. key names the file in the gzip cache.
func (a *assetServer) serveFile(w http.ResponseWriter, r *http.Request, f assetFile, info fs.FileInfo, key string) {
	name := info.Name()
	h := w.Header()
	if hashedName.MatchString(name) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	ext := path.Ext(name)
	if ctype := mime.TypeByExtension(ext); ctype != "" {
		h.Set("Content-Type", ctype)
	}
	etag, err := a.etag(f, info, key)
	if err != nil {
		http.Error(w, "read "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}

	if compressibleExt[ext] && info.Size() >= minGzipSize {
		h.Add("Vary", "Accept-Encoding")
		// A range of the compressed bytes is valid HTTP but useless to browsers: ranges get the
		// identity encoding.
		if acceptsGzip(r) && r.Header.Get("Range") == "" {
			data, err := a.gzip(f, info, key)
			if err == nil {
				h.Set("Content-Encoding", "gzip")
				h.Set("ETag", etag+`-gzip"`)
				http.ServeContent(w, r, name, info.ModTime(), bytes.NewReader(data))
				return
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				http.Error(w, "read "+name+": "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
	}
	h.Set("ETag", etag+`"`)
	http.ServeContent(w, r, name, info.ModTime(), f)
}

// etag is the start of the file's entity tag (without its closing quote): modification time and
// size, or for files without a modification time (embedded in the binary) a hash of the content,
// computed once per file.
func (a *assetServer) etag(f assetFile, info fs.FileInfo, key string) (string, error) {
	if !info.ModTime().IsZero() {
		return fmt.Sprintf(`"%x-%x`, info.ModTime().UnixNano(), info.Size()), nil
	}
	k := gzipKey{path: key, size: info.Size()}
	if v, ok := a.hashes.Load(k); ok {
		return v.(string), nil
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	tag := fmt.Sprintf(`"%x`, sum.Sum(nil)[:12])
	a.hashes.Store(k, tag)
	return tag, nil
}

// gzip returns the compressed content of f, compressing it on the first call for this version of
// the file.
func (a *assetServer) gzip(f io.Reader, info fs.FileInfo, name string) ([]byte, error) {
	key := gzipKey{path: name, modTime: info.ModTime().UnixNano(), size: info.Size()}
	v, _ := a.gzipped.LoadOrStore(key, &gzipEntry{})
	e := v.(*gzipEntry)
	e.once.Do(func() {
		var buf bytes.Buffer
		buf.Grow(int(info.Size() / 3))
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if _, err := io.Copy(zw, f); err != nil {
			e.err = err
			return
		}
		if err := zw.Close(); err != nil {
			e.err = err
			return
		}
		e.data = buf.Bytes()
	})
	if e.err != nil {
		// Let a later request try again rather than remember a transient read error.
		a.gzipped.CompareAndDelete(key, e)
	}
	return e.data, e.err
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip: named with q > 0, or not
// named and allowed through "*".
func acceptsGzip(r *http.Request) bool {
	gzipQ, anyQ := -1.0, -1.0
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch strings.TrimSpace(coding) {
		case "gzip":
			gzipQ = q
		case "*":
			anyQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}
