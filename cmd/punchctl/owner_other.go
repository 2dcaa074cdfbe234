//go:build !unix

package main

import "io/fs"

// owner is a file's numeric owner and group.
type owner struct{ Uid, Gid uint32 }

// fileOwner: Windows files have no numeric owner to compare with a user's uid.
func fileOwner(fs.FileInfo) (owner, bool) { return owner{}, false }
