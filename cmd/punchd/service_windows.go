package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/winsvc"
)

// serviceCommand is `punchd service install|uninstall|start|stop|reload`, run from an
// administrator's prompt.
func serviceCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	r, err := parseService(args, stderr)
	if err != nil {
		return err
	}
	p := config.Platform()
	switch r.Action {
	case "install":
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("install: this program's path: %w", err)
		}
		if exe, err = filepath.Abs(exe); err != nil {
			return fmt.Errorf("install: this program's path: %w", err)
		}
		if r.Config, err = filepath.Abs(r.Config); err != nil {
			return fmt.Errorf("install: config path: %w", err)
		}
		return winsvc.Install(exe, r.Config, p, config.Example(p), stdout)
	case "uninstall":
		return winsvc.Uninstall(ctx, p, stdout)
	case "start":
		return winsvc.Start(ctx, p, stdout)
	case "stop":
		return winsvc.Stop(ctx, stdout)
	default: // reload
		return winsvc.Reload(stdout)
	}
}

// serviceMain runs punchd as the service when the service control manager started this process:
// the daemon's logs go to the rotating file under %ProgramData%\punchd\logs, its warnings and
// errors to the event log too. It returns the exit code and true; false when not a service.
func serviceMain(args []string) (int, bool) {
	if is, err := winsvc.IsService(); err != nil || !is {
		return 0, false
	}
	p := config.Platform()
	var handlers []slog.Handler
	var logs io.Writer = io.Discard
	lf, lerr := winsvc.OpenLog(p.Logs, winsvc.LogName, winsvc.LogMaxSize, winsvc.LogKeep)
	if lerr == nil {
		defer lf.Close()
		logs = lf
		handlers = append(handlers, slog.NewTextHandler(lf, nil))
	}
	elog, eerr := winsvc.OpenEventLog()
	var events slog.Handler
	if eerr == nil {
		defer elog.Close()
		events = winsvc.NewEventHandler(elog)
		handlers = append(handlers, events)
	}
	log := slog.New(slog.NewMultiHandler(handlers...))
	if lerr != nil {
		log.Warn("no log file: only warnings and errors are kept, in the event log", "err", lerr)
	}
	if eerr == nil {
		elog.Info(winsvc.EventInfo, fmt.Sprintf("punchd %s starting; its log is %s", buildinfo.Read(), filepath.Join(p.Logs, winsvc.LogName)))
	}
	err := winsvc.Run(func(ctx context.Context, reload <-chan os.Signal) error {
		return run(ctx, args, io.Discard, Options{Stderr: logs, Reload: reload, LogAlso: events})
	})
	if err != nil {
		log.Error("punchd stopped", "err", err)
		return 1, true
	}
	if eerr == nil {
		elog.Info(winsvc.EventInfo, "punchd stopped")
	}
	return 0, true
}
