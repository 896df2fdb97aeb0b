// Package buildinfo says which hops this is: the version stamped by the Makefile at link time.
package buildinfo

import (
	"fmt"
	"runtime"
)

// Version is set with -ldflags "-X github.com/hopsml/hops/internal/buildinfo.Version=..." by make.
var Version = "0.1.0-dev"

// String is the one-line description `hops version` prints.
func String() string {
	return fmt.Sprintf("hops %s (%s, %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
