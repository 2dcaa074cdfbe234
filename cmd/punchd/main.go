// Command punchd is the attendance daemon: it pulls punches off the time clocks, stores and judges
// them, and publishes anomalies over MQTT. See README.md; `punchd --demo` runs it with no set-up.
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
	"github.com/jinbi/punchd/internal/daemon"
	"github.com/jinbi/punchd/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "punchd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
		return demo.Run(ctx, demo.Options{For: *demoFor, Speed: *demoSpeed, People: *demoPeople}, stdout, stderr)
	}
	cfg, err := config.LoadDaemon(*path)
	if err != nil {
		return err
	}
	return daemon.Run(ctx, cfg, daemon.Options{Stderr: stderr})
}
