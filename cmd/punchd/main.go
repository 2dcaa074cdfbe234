// Command punchd is the attendance daemon: it pulls punches off the time clocks, stores and judges
// them, and publishes anomalies over MQTT. See README.md; `punchd --demo` runs it with no set-up.
//
// main owns the process: the signals (SIGINT and SIGTERM stop, SIGHUP reloads the configuration)
// and the exit status (0, 1 on failure, 2 for a mistake in the command line). On Windows the
// service control manager takes the signals' place (service_windows.go); `punchd service …`
// installs and controls that service. run reads the flags and the config; daemon.go composes punchd from its
// packages, top-down: config → clock loops → ingest (store, rules) → outbox → MQTT, with metrics,
// health, the local API and the monthly reports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/config"
)

func main() {
	if code, ok := serviceMain(os.Args[1:]); ok { // Windows, started by the service control manager
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	err := run(ctx, os.Args[1:], os.Stdout, Options{Stderr: os.Stderr, Reload: hup})
	stop()
	signal.Stop(hup)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode is the exit status for run's err, whose one line (and for a usage error, the usage
// after it) it prints on stderr: 0 ok or -h, 1 failure, 2 usage error.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "punchd: %v\n%s", err, ue.usage)
		return 2
	}
	fmt.Fprintln(stderr, "punchd:", err)
	return 1
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct {
	msg   string
	usage string // printed after msg: the command line's usage and flags, or ""
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// parseFlags parses args with fs, whose own printing it silences so that a mistake is said once:
// -h prints usage and fs's flags on stderr and returns flag.ErrHelp; a wrong flag is a usage error
// carrying them, for exitCode to print after the error.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stderr, usageText(fs, usage))
		return err
	}
	return &usageError{msg: err.Error(), usage: usageText(fs, usage)}
}

// usageText is usage (lines without "usage: ") followed by fs's flags.
func usageText(fs *flag.FlagSet, usage string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n", usage)
	out := fs.Output()
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(out)
	return b.String()
}

// daemonUsage is punchd's own command line.
const daemonUsage = "punchd [--config FILE] | --demo | --version\n       " + serviceUsage

// run is main without the process. o carries where the logs go (o.Stderr, also the flags' usage)
// and o.Reload, on which every value makes the daemon read its configuration again (SIGHUP from
// main; the service control manager's ParamChange on Windows).
func run(ctx context.Context, args []string, stdout io.Writer, o Options) error {
	stderr := o.Stderr
	if len(args) > 0 {
		switch args[0] {
		case "gen-man": // for packaging (scripts/dist.sh); not in --help
			return genMan(args[1:], stdout)
		case "service":
			return serviceCommand(ctx, args[1:], stdout, stderr)
		}
	}
	fs, f := newFlags()
	if err := parseFlags(fs, args, daemonUsage, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), usage: usageText(fs, daemonUsage)}
	}
	switch {
	case f.version:
		fmt.Fprintln(stdout, "punchd", buildinfo.Read())
		return nil
	case f.demo:
		return runDemo(ctx, demoOptions{For: f.demoFor, Speed: f.demoSpeed, People: f.demoPeople}, stdout, stderr)
	}
	cfg, err := config.LoadDaemon(f.config)
	if err != nil {
		return err
	}
	return runDaemon(ctx, cfg, o)
}

// flags are punchd's command line.
type flags struct {
	config     string
	demo       bool
	demoFor    time.Duration
	demoSpeed  float64
	demoPeople int
	version    bool
}

// newFlags is punchd's flag set: what -h prints and the man page lists. It prints nothing itself
// (parseFlags).
func newFlags() (*flag.FlagSet, *flags) {
	var f flags
	fs := flag.NewFlagSet("punchd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.config, "config", config.DefaultPath, "config `file` (TOML)")
	fs.BoolVar(&f.demo, "demo", false, "run against a simulated clock and an embedded broker in a temp dir")
	fs.DurationVar(&f.demoFor, "demo-for", 0, "with --demo: stop after this long (default: until Ctrl-C)")
	fs.Float64Var(&f.demoSpeed, "demo-speed", 60, "with --demo: simulated seconds per real second")
	fs.IntVar(&f.demoPeople, "demo-people", 20, "with --demo: people in the simulated office")
	fs.BoolVar(&f.version, "version", false, "print the version, VCS revision and Go version, and exit")
	return fs, &f
}
