//go:build !linux

package contents

import (
	"io/fs"
	"time"
)

// created falls back to the modification time where the change time is not at hand.
func created(fi fs.FileInfo) time.Time { return fi.ModTime() }
