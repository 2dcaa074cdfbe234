// Command punchd is the attendance daemon: it pulls punches off the time clocks, stores and judges
// them, and publishes anomalies over MQTT. See README.md; `punchd --demo` runs it with no set-up.
//
// main owns the process: the signals (SIGINT and SIGTERM stop, SIGHUP reloads the configuration)
// and the exit status. run reads the flags and the config; daemon.go composes punchd from its
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
	"syscall"
	"time"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, hup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "punchd:", err)
		os.Exit(1)
	}
}

// run is main without the process: every value on reload (SIGHUP, from main) makes the daemon read
// its configuration again.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, reload <-chan os.Signal) error {
	if len(args) > 0 && args[0] == "gen-man" { // for packaging (scripts/dist.sh); not in --help
		return genMan(args[1:], stdout)
	}
	fs, f := newFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags: --config, --demo)", fs.Arg(0))
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
	return runDaemon(ctx, cfg, Options{Stderr: stderr, Reload: reload})
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

// newFlags is punchd's flag set: what -h prints and the man page lists.
func newFlags(stderr io.Writer) (*flag.FlagSet, *flags) {
	var f flags
	fs := flag.NewFlagSet("punchd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", config.DefaultPath, "config `file` (TOML)")
	fs.BoolVar(&f.demo, "demo", false, "run against a simulated clock and an embedded broker in a temp dir")
	fs.DurationVar(&f.demoFor, "demo-for", 0, "with --demo: stop after this long (default: until Ctrl-C)")
	fs.Float64Var(&f.demoSpeed, "demo-speed", 60, "with --demo: simulated seconds per real second")
	fs.IntVar(&f.demoPeople, "demo-people", 20, "with --demo: people in the simulated office")
	fs.BoolVar(&f.version, "version", false, "print the version, VCS revision and Go version, and exit")
	return fs, &f
}
