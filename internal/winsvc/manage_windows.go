package winsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/jinbi/punchd/internal/config"
)

// Install makes punchd a service: the data directory p.Dir with DirSDDL's access list, its reports
// and logs directories, the config at configPath from example when there is none (an existing one
// is left alone), the service (automatic start, LocalSystem, restarted on failure as Restarts
// say, running exe with Args(configPath)) and its event log source. It says what it did on out.
// It needs an elevated (administrator) prompt.
func Install(exe, configPath string, p config.Paths, example []byte, out io.Writer) error {
	for _, dir := range []string{p.Dir, p.Reports, p.Logs} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("install: %w", err)
		}
	}
	if err := restrict(p.Dir); err != nil {
		return fmt.Errorf("install: %s: %w", p.Dir, err)
	}
	fmt.Fprintf(out, "data directory %s (SYSTEM and Administrators only)\n", p.Dir)
	switch _, err := os.Stat(configPath); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(configPath), 0o700); err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if err := os.WriteFile(configPath, example, 0o600); err != nil {
			return fmt.Errorf("install: default config: %w", err)
		}
		fmt.Fprintf(out, "wrote the default config %s: add your [[clock]] and [mqtt] there\n", configPath)
	case err != nil:
		return fmt.Errorf("install: config: %w", err)
	default:
		fmt.Fprintf(out, "kept the config %s\n", configPath)
	}

	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("install: service manager (run as administrator): %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(Name); err == nil {
		s.Close()
		return fmt.Errorf("install: %w: %s (punchd service uninstall first)", ErrInstalled, Name)
	}
	s, err := m.CreateService(Name, exe, mgr.Config{
		DisplayName: DisplayName,
		Description: Description,
		StartType:   mgr.StartAutomatic,
	}, Args(configPath)...)
	if err != nil {
		return fmt.Errorf("install: create service %s: %w", Name, err)
	}
	defer s.Close()
	if err := configure(s, out); err != nil {
		s.Delete() // all or nothing: a service without its recovery actions is not the one documented
		return fmt.Errorf("install: service %s: %w", Name, err)
	}
	fmt.Fprintf(out, "service %s: %s %s, automatic start, restarted on failure\n", Name, exe, strings.Join(Args(configPath), " "))
	if err := eventlog.InstallAsEventCreate(Name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		// Left by an earlier install: the source is there, which is what is wanted.
		if !isKeyExists(err) {
			s.Delete()
			return fmt.Errorf("install: event log source %s: %w", Name, err)
		}
	}
	fmt.Fprintf(out, "event log source %s (Windows Logs > Application)\n", Name)
	return nil
}

// configure sets the service's recovery actions: a restart after each failure, Restarts apart.
func configure(s *mgr.Service, out io.Writer) error {
	actions := make([]mgr.RecoveryAction, len(Restarts))
	for i, d := range Restarts {
		actions[i] = mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d}
	}
	if err := s.SetRecoveryActions(actions, uint32(RestartReset/time.Second)); err != nil {
		return fmt.Errorf("recovery actions: %w", err)
	}
	// An exit with an error (a config that does not load) is a failure too, not only a crash.
	// Windows has had the setting since Vista; a service manager without it (Wine's) still
	// restarts after a crash, and the operator is told.
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		fmt.Fprintf(out, "warning: the service manager refused restarts after an exit with an error (%v): only a crash restarts punchd\n", err)
	}
	return nil
}

// isKeyExists is eventlog.InstallAsEventCreate's error for a source already registered.
func isKeyExists(err error) bool {
	return err != nil && strings.HasSuffix(err.Error(), `\`+Name+" registry key already exists")
}

// restrict gives dir DirSDDL's access list, replacing what it inherits; the files and
// directories in it inherit it.
func restrict(dir string) error {
	sd, err := windows.SecurityDescriptorFromString(DirSDDL)
	if err != nil {
		return fmt.Errorf("access list %s: %w", DirSDDL, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("access list %s: %w", DirSDDL, err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("set access list: %w", err)
	}
	return nil
}

// Uninstall stops the service if it runs, removes it and its event log source. The data
// directory (config, store, reports, logs) stays: removing it is the administrator's decision.
func Uninstall(ctx context.Context, p config.Paths, out io.Writer) error {
	return withService("uninstall", func(s *mgr.Service) error {
		if st, err := s.Query(); err == nil && st.State != svc.Stopped {
			if err := stop(ctx, s); err != nil {
				return err
			}
			fmt.Fprintf(out, "service %s stopped\n", Name)
		}
		if err := s.Delete(); err != nil {
			return fmt.Errorf("delete service %s: %w", Name, err)
		}
		fmt.Fprintf(out, "service %s removed\n", Name)
		if err := eventlog.Remove(Name); err != nil {
			fmt.Fprintf(out, "event log source %s not removed: %v\n", Name, err)
		}
		fmt.Fprintf(out, "kept %s (config, store, reports, logs): delete it by hand to remove the data\n", p.Dir)
		return nil
	})
}

// Start starts the service and waits until it runs, or reports that it stopped again (a config
// that does not load, say: the log file and the event log say why).
func Start(ctx context.Context, p config.Paths, out io.Writer) error {
	return withService("start", func(s *mgr.Service) error {
		if err := s.Start(); errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
			fmt.Fprintf(out, "service %s already running\n", Name)
			return nil
		} else if err != nil {
			return fmt.Errorf("service %s: %w", Name, err)
		}
		st, err := wait(ctx, s, svc.Running, svc.Stopped)
		if err != nil {
			return err
		}
		if st != svc.Running {
			return fmt.Errorf("%w: see %s and the event log", ErrStartFailed, filepath.Join(p.Logs, LogName))
		}
		fmt.Fprintf(out, "service %s running\n", Name)
		return nil
	})
}

// Stop stops the service and waits until it has.
func Stop(ctx context.Context, out io.Writer) error {
	return withService("stop", func(s *mgr.Service) error {
		if err := stop(ctx, s); err != nil {
			return err
		}
		fmt.Fprintf(out, "service %s stopped\n", Name)
		return nil
	})
}

// Reload asks the running service to read its configuration again (what SIGHUP does on Linux).
func Reload(out io.Writer) error {
	return withService("reload", func(s *mgr.Service) error {
		if _, err := s.Control(svc.ParamChange); err != nil {
			return fmt.Errorf("service %s: %w", Name, err)
		}
		fmt.Fprintf(out, "service %s asked to reload its configuration (the log says how it went)\n", Name)
		return nil
	})
}

// withService runs fn on the installed service; its error is named after action.
func withService(action string, fn func(*mgr.Service) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("%s: service manager (run as administrator): %w", action, err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return fmt.Errorf("%s: %w: %s (punchd service install)", action, ErrNotInstalled, Name)
	} else if err != nil {
		return fmt.Errorf("%s: service %s: %w", action, Name, err)
	}
	defer s.Close()
	if err := fn(s); err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return nil
}

func stop(ctx context.Context, s *mgr.Service) error {
	if st, err := s.Query(); err == nil && st.State == svc.Stopped {
		return nil
	}
	if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return fmt.Errorf("service %s: stop: %w", Name, err)
	}
	_, err := wait(ctx, s, svc.Stopped)
	return err
}

// wait polls the service's state until it is one of states, for at most a minute.
func wait(ctx context.Context, s *mgr.Service, states ...svc.State) (svc.State, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := s.Query()
		if err != nil {
			return 0, fmt.Errorf("service %s: query: %w", Name, err)
		}
		for _, want := range states {
			if st.State == want {
				return st.State, nil
			}
		}
		select {
		case <-ctx.Done():
			return st.State, fmt.Errorf("service %s: still in state %d: %w", Name, st.State, ctx.Err())
		case <-tick.C:
		}
	}
}
