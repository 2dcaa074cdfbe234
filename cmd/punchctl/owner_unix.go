//go:build unix

package main

import (
	"io/fs"
	"syscall"
)

// owner is a file's numeric owner and group.
type owner struct{ Uid, Gid uint32 }

// fileOwner reads fi's owner; false where the system does not say.
func fileOwner(fi fs.FileInfo) (owner, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return owner{}, false
	}
	return owner{Uid: uint32(st.Uid), Gid: uint32(st.Gid)}, true
}
