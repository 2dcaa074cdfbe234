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
	fs := flag.NewFlagSet("punchd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", config.DefaultPath, "config file (TOML)")
	demoMode := fs.Bool("demo", false, "run against a simulated clock and an embedded broker in a temp dir")
	demoFor := fs.Duration("demo-for", 0, "with --demo: stop after this long (default: until Ctrl-C)")
	demoSpeed := fs.Float64("demo-speed", 60, "with --demo: simulated seconds per real second")
	demoPeople := fs.Int("demo-people", 20, "with --demo: people in the simulated office")
	version := fs.Bool("version", false, "print the version, VCS revision and Go version, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags: --config, --demo)", fs.Arg(0))
	}
	switch {
	case *version:
		fmt.Fprintln(stdout, "punchd", buildinfo.Read())
		return nil
	case *demoMode:
		return runDemo(ctx, demoOptions{For: *demoFor, Speed: *demoSpeed, People: *demoPeople}, stdout, stderr)
	}
	cfg, err := config.LoadDaemon(*path)
	if err != nil {
		return err
	}
	return runDaemon(ctx, cfg, Options{Stderr: stderr, Reload: reload})
}
