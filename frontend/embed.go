// Package frontend holds the hops JupyterLab extension: TypeScript sources in src/ and styles in style/,
// built by `make frontend` (npm ci, tsc, @jupyter/builder) into a prebuilt (federated) labextension
// under labextension/, which this package embeds so that `hops lab` serves it with no install step.
//
// The extension adds the Versions panel (the git history of the current notebook: compare, restore)
// and the cell-level diff view. It talks to the server only through /api/hops and the Jupyter
// contents API.
package frontend

import (
	"embed"
	"io/fs"
)

// Name is the npm package name of the extension, its directory under Labextensions.
const Name = "@hopsml/hops"

//go:embed all:labextension
var files embed.FS

// Labextensions returns the built extension laid out like a share/jupyter/labextensions
// directory: @hopsml/hops/package.json, @hopsml/hops/static/remoteEntry.<hash>.js, ...
// A binary built without `make frontend` has no extension in it (see Built).
func Labextensions() fs.FS {
	sub, err := fs.Sub(files, "labextension")
	if err != nil {
		panic(err) // "labextension" is a valid name
	}
	return sub
}

// Built reports whether the extension was built before this binary was compiled.
func Built() bool {
	_, err := fs.Stat(files, "labextension/"+Name+"/package.json")
	return err == nil
}
