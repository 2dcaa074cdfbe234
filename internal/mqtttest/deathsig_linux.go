package mqtttest

import "syscall"

// dieWithParent makes the kernel kill the broker when the test process dies, so a crashed test
// leaves no Mosquitto behind.
func dieWithParent() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
