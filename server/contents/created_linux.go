package contents

import (
	"io/fs"
	"syscall"
	"time"
)

// created is the "created" time jupyter_server reports on Linux: the inode change time (Linux
// stat has no birth time).
func created(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix())
	}
	return fi.ModTime()
}
