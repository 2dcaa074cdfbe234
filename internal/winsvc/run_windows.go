package winsvc

import (
	"fmt"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
)

// IsService says whether this process was started by the service control manager.
func IsService() (bool, error) {
	if is, err := svc.IsWindowsService(); is || err != nil {
		return is, err
	}
	return parentIsServices()
}

// parentIsServices says whether the parent process is services.exe, in whatever session:
// svc.IsWindowsService also wants session 0, and Wine runs its services in session 1.
func parentIsServices() (bool, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return false, fmt.Errorf("process list: %w", err)
	}
	defer windows.CloseHandle(snap)
	self := windows.GetCurrentProcessId()
	var parent uint32
	names := map[uint32]string{}
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		names[e.ProcessID] = windows.UTF16ToString(e.ExeFile[:])
		if e.ProcessID == self {
			parent = e.ParentProcessID
		}
	}
	return parent != 0 && strings.EqualFold(names[parent], "services.exe"), nil
}

// OpenEventLog opens the service's event source (registered by Install).
func OpenEventLog() (*eventlog.Log, error) {
	l, err := eventlog.Open(Name)
	if err != nil {
		return nil, fmt.Errorf("event log source %s: %w", Name, err)
	}
	return l, nil
}

// Run runs daemon as the service until it returns or the service control manager stops it, and
// returns the daemon's error. The service reports a failure (a service-specific exit code 1) when
// the daemon ends with an error, so that the recovery actions restart it.
func Run(daemon Daemon) error {
	h := &handler{daemon: daemon}
	if err := svc.Run(Name, h); err != nil {
		return fmt.Errorf("service %s: %w", Name, err)
	}
	return h.err
}

type handler struct {
	daemon Daemon
	err    error // the daemon's, once Execute returns
}

// stopWait is the stop time the manager is told to expect: the daemon stops within 5 s.
const stopWait = 10 * time.Second

func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	const accepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptParamChange
	status <- svc.Status{State: svc.StartPending}
	cmds := make(chan command)
	done := make(chan error, 1)
	go func() { done <- serve(h.daemon, cmds) }()
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	exit := func(err error) (bool, uint32) {
		h.err = err
		if err != nil {
			return true, 1
		}
		return false, 0
	}
	for {
		select {
		case err := <-done:
			return exit(err)
		case c := <-req:
			var cmd command
			switch c.Cmd {
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWait / time.Millisecond)}
				cmd = cmdStop
			case svc.ParamChange:
				status <- c.CurrentStatus
				cmd = cmdReload
			default: // Interrogate
				status <- c.CurrentStatus
				continue
			}
			select { // serve takes it at once, unless the daemon has just ended
			case cmds <- cmd:
			case err := <-done:
				return exit(err)
			}
		}
	}
}
