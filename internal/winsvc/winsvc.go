// Package winsvc runs punchd as a Windows service. It installs, removes, starts and stops the
// service with the service control manager (`punchd service install|uninstall|start|stop`), runs
// the daemon under it — Stop and Shutdown cancel the daemon's context as SIGTERM does under
// systemd, ParamChange (`punchd service reload`, `sc control punchd paramchange`) reloads as
// SIGHUP does — and gives it its logs: every line in a size-capped rotating file under
// %ProgramData%\punchd\logs, warnings and errors in the Windows event log too.
//
// The paths are config.Platform()'s; the daemon itself is cmd/punchd's. What needs no Windows API
// (the service's definition, the data directory's ACL, the log file, the event-log handler, the
// mapping of the manager's requests onto the daemon) builds everywhere and is tested on Linux;
// only the calls into the service control manager and the event log are in the _windows files.
//
// It must not read the configuration beyond the paths it is given, nor start anything but the
// daemon function it is handed.
package winsvc

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// The service as the service control manager and the event log know it.
const (
	Name        = "punchd"
	DisplayName = "punchd attendance daemon"
	Description = "Pulls punches off the time clocks, stores and judges them, and publishes anomalies over MQTT."
)

// DirSDDL is the access list of %ProgramData%\punchd (config, store, socket, reports, logs):
// protected from what %ProgramData% grants (Users may read it by default), full control for
// SYSTEM, which the service runs as, and Administrators, inherited by every file and directory in it.
const DirSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// Restarts are the recovery actions: the delays before the first, second and every later
// restart after the daemon fails (a crash, or an exit with an error, such as a broken config).
// The count of failures starts again after RestartReset without one.
var Restarts = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}

// RestartReset is how long the service must run without failing for the next failure to count
// as the first again.
const RestartReset = 24 * time.Hour

// Event ids in the event log. The source is registered with EventCreate.exe as its message file,
// which shows the text as given for any id from 1 to 1000.
const (
	EventInfo    = 1 // the service started or stopped
	EventWarning = 2 // a WARN line of the daemon
	EventError   = 3 // an ERROR line of the daemon, or the daemon's exit with an error
)

// Args are the service's arguments after the executable: the daemon's own flags, the same as
// `punchd --config FILE` on Linux.
func Args(configPath string) []string { return []string{"--config", configPath} }

// Errors of the service commands.
var (
	// ErrInstalled is returned by Install when a service of the name already exists.
	ErrInstalled = errors.New("service already installed")
	// ErrNotInstalled is returned when the service to act on does not exist.
	ErrNotInstalled = errors.New("service not installed")
	// ErrStartFailed is returned by Start when the service stopped again instead of running.
	ErrStartFailed = errors.New("service stopped while starting")
)

// Daemon is the daemon run under the service: until ctx is cancelled; every value on reload
// asks it to read its configuration again.
type Daemon func(ctx context.Context, reload <-chan os.Signal) error

// command is what the service control manager asks of the running service.
type command int

const (
	cmdStop   command = iota // stop (also a shutdown of the machine)
	cmdReload                // read the configuration again (ParamChange)
)

// serve runs daemon until it returns, or until a stop arrives on cmds; then it cancels the
// daemon's context and waits for it. A reload becomes a SIGHUP on the daemon's reload channel, as
// main sends it on Linux; reloads asked while one is pending are one reload. It returns the
// daemon's error.
func serve(daemon Daemon, cmds <-chan command) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reload := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- daemon(ctx, reload) }()
	for {
		select {
		case err := <-done:
			return err
		case c := <-cmds:
			switch c {
			case cmdStop:
				cancel()
				return <-done
			case cmdReload:
				select {
				case reload <- syscall.SIGHUP:
				default:
				}
			}
		}
	}
}
