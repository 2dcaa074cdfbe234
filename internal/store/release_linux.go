//go:build linux

package store

import (
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapped (called inside a read transaction, which holds the map in place) tells the kernel the process no longer needs the pages of the store's memory map
// resident (MADV_DONTNEED on the read-only, file-backed map): they stay in the page cache and come
// back on the next read, but stop counting as this process's memory.
func releaseMapped(b *bolt.DB, size int64) error {
	info := b.Info()
	if info == nil || info.Data == 0 || size <= 0 {
		return nil
	}
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
