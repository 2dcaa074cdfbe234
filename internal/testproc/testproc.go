// Package testproc is for tests only: what a test sets on the child processes it starts (a daemon,
// a simulated clock, a broker). It must not be imported outside tests.
package testproc

import "syscall"

// DieWithParent is the SysProcAttr of a test's child process: where the system can, the child is
// killed when the test process dies, so a crashed test leaves nothing running. Where it cannot (only
// Linux has a parent-death signal) it is nil and the tests' cleanups stop the child.
func DieWithParent() *syscall.SysProcAttr { return dieWithParent() }
