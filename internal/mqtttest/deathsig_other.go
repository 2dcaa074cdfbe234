//go:build !linux

package mqtttest

import "syscall"

// dieWithParent: only Linux has a parent-death signal; elsewhere the tests' cleanups stop the broker.
func dieWithParent() *syscall.SysProcAttr { return nil }
