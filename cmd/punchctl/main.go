// Command punchctl is the operator's tool for punchd: it reads clocks directly (clock info, users,
// dump, time), judges punches from files without a daemon (judge), backs up the store, and — in
// files beside this one — manages the roster, registrations, reports, the live feed and status.
//
// Usage: punchctl [--config FILE] [-v|--verbose] COMMAND [SUBCOMMAND] [flags] [args]
//
// Each command lives in its own file and registers itself from init with register(command{...});
// main.go only dispatches. Exit status: 0 ok, 1 failure (one line on stderr naming what failed),
// 2 usage error; `status` adds 1 degraded and 3 daemon not running. Logging is at Error level unless -v/--verbose asks for Debug, so a failure is
// exactly that one line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/roster"
	"github.com/jinbi/punchd/sync/publish"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command gets: its streams, the global flags and the injected clock.
type env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ConfigPath is --config (global, or the command's own --config when it declares one with
	// configFlag); ConfigSet says whether it was given rather than defaulted.
	ConfigPath string
	ConfigSet  bool
	Now        func() time.Time
	// Logger goes to Stderr. Its level is Error, so that a failed command prints its one error
	// line and nothing else (the clock client logs retries and dropped packets as warnings);
	// -v/--verbose (global, or on any command) lowers it to Debug.
	Logger *slog.Logger
	level  *slog.LevelVar
	// flags is the flag set the command made last (newFlags): the man page and the shell
	// completion read each command's flags from it.
	flags *flag.FlagSet
	// closers release what the command opened (its backend), last first, when it ends.
	closers []func() error
}

// atEnd has runCommand call close when the command ends; its error is the command's when the
// command itself succeeded.
func (e *env) atEnd(close func() error) { e.closers = append(e.closers, close) }

// runCommand runs c with args and then closes what it opened (atEnd).
func (e *env) runCommand(ctx context.Context, c command, args []string) error {
	err := c.Run(ctx, e, args)
	for i := len(e.closers) - 1; i >= 0; i-- {
		if cerr := e.closers[i](); err == nil {
			err = cerr
		}
	}
	e.closers = nil
	return err
}

// verboseFlags adds -v and --verbose to fs: they lower the logger's level to Debug.
func (e *env) verboseFlags(fs *flag.FlagSet) {
	set := func(s string) error {
		on, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		if e.level != nil {
			if on {
				e.level.Set(slog.LevelDebug)
			} else {
				e.level.Set(slog.LevelError)
			}
		}
		return nil
	}
	fs.BoolFunc("v", "log the clock client's and the store's progress, retries and warnings to stderr (debug level)", set)
	fs.BoolFunc("verbose", "same as -v", set)
}

// verbose says whether -v/--verbose was given.
func (e *env) verbose() bool { return e.level != nil && e.level.Level() <= slog.LevelDebug }

// warner prints the warnings of command name on stderr, one line each.
func (e *env) warner(name string) func(string) {
	return func(msg string) { fmt.Fprintf(e.Stderr, "punchctl %s: warning: %s\n", name, msg) }
}

// command is one punchctl command. Name is one word ("judge") or a group and a word ("clock dump").
type command struct {
	Name    string
	Args    string // synopsis after the name, e.g. "--clock URL [--json]"
	Summary string // one line for the command list
	Help    string // optional: more, shown by -h and 'help COMMAND' (e.g. an output format)
	Run     func(ctx context.Context, e *env, args []string) error
	Hidden  bool // not in the command list (tools for packaging)
}

// commands is filled by register, from init functions of the files of this package.
var commands = map[string]command{}

// register adds a command. A duplicate name is a programming error.
func register(c command) {
	if _, dup := commands[c.Name]; dup || c.Name == "" || c.Run == nil {
		panic("punchctl: bad or duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	level := new(slog.LevelVar)
	level.Set(slog.LevelError)
	e := &env{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		ConfigPath: config.DefaultPath,
		Now:        time.Now,
		Logger:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		level:      level,
	}
	global := flag.NewFlagSet("punchctl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.Func("config", "config `FILE` (default "+config.DefaultPath+")", func(s string) error {
		e.ConfigPath, e.ConfigSet = s, true
		return nil
	})
	e.verboseFlags(global)
	version := global.Bool("version", false, "print the version and exit")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommands(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "punchctl: %v\n", err)
		printCommands(stderr)
		return 2
	}
	args = global.Args()
	if *version {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "help" {
		if len(args) > 1 {
			if c, _, ok := lookup(args[1:]); ok {
				fmt.Fprintf(stdout, "usage: punchctl %s %s\n  %s\n", c.Name, c.Args, c.Summary)
				if c.Help != "" {
					fmt.Fprintf(stdout, "\n%s\n", c.Help)
				}
				return 0
			}
			if len(subcommands(args[1])) > 0 {
				printGroup(stdout, args[1])
				return 0
			}
		}
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		printCommands(w)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, rest, ok := lookup(args)
	if !ok {
		if group := subcommands(args[0]); len(group) > 0 {
			if len(args) > 1 && (args[1] == "-h" || args[1] == "-help" || args[1] == "--help" || args[1] == "help") {
				printGroup(stdout, args[0])
				return 0
			}
			fmt.Fprintf(stderr, "punchctl %s: want one of: %s\n", args[0], strings.Join(group, ", "))
		} else {
			fmt.Fprintf(stderr, "punchctl: unknown command %q\n", args[0])
			printCommands(stderr)
		}
		return 2
	}
	// A change made on the store directly is recorded as this local user's (through the daemon's
	// socket, the client names the user in a header and the daemon records it).
	ctx = audit.WithActor(ctx, audit.Actor{Name: api.LocalUser(), From: "local", Via: audit.ViaCLI})
	return exitCode(c, e.runCommand(ctx, c, rest), stderr)
}

// exitStatus ends a command with this exit status after the command said all it had to say
// (status's 1 for degraded and 3 for a daemon that is not running).
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// exitCode is the exit status of command c that returned err; it prints the error line.
func exitCode(c command, err error, stderr io.Writer) int {
	var ue *usageError
	var es exitStatus
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "punchctl %s: %s\nusage: punchctl %s %s\n", c.Name, oneLine(err), c.Name, c.Args)
		return 2
	default:
		fmt.Fprintf(stderr, "punchctl %s: %s\n", c.Name, oneLine(err))
		return 1
	}
}

// lookup finds the command named by args: "group word" first, then "word".
func lookup(args []string) (command, []string, bool) {
	if len(args) >= 2 {
		if c, ok := commands[args[0]+" "+args[1]]; ok {
			return c, args[2:], true
		}
	}
	if len(args) >= 1 {
		if c, ok := commands[args[0]]; ok {
			return c, args[1:], true
		}
	}
	return command{}, nil, false
}

// subcommands lists the words of a group ("clock" -> info, users, …).
func subcommands(group string) []string {
	var out []string
	for name := range commands {
		if g, w, ok := strings.Cut(name, " "); ok && g == group {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

func printCommands(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.Hidden {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	fmt.Fprintln(w, "usage: punchctl [--config FILE] [-v|--verbose] [--version] COMMAND [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\n'punchctl help COMMAND' or 'punchctl COMMAND -h' for a command's flags.")
}

// printGroup lists the commands of a group with their synopses.
func printGroup(w io.Writer, group string) {
	for _, word := range subcommands(group) {
		c := commands[group+" "+word]
		fmt.Fprintf(w, "punchctl %s %s\n    %s\n", c.Name, c.Args, c.Summary)
	}
}

// oneLine folds a multi-line error (errors.Join) into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// newFlags is a command's flag set: errors are returned (usage errors), -h prints the synopsis
// and the flags to stdout.
func (e *env) newFlags(c string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e.verboseFlags(fs)
	e.flags = fs
	return fs
}

// configFlag gives a command its own --config, defaulting to the global one.
func (e *env) configFlag(fs *flag.FlagSet) {
	fs.Func("config", "config `FILE` (default "+config.DefaultPath+")", func(s string) error {
		e.ConfigPath, e.ConfigSet = s, true
		return nil
	})
}

// parseFlags parses args with fs, allowing flags after positional arguments ("backup FILE
// --config X"); "--" ends the flags. It returns the positional arguments.
func (e *env) parseFlags(fs *flag.FlagSet, name string, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c := commands[name]
				fmt.Fprintf(e.Stdout, "usage: punchctl %s %s\n  %s\n", c.Name, c.Args, c.Summary)
				if c.Help != "" {
					fmt.Fprintf(e.Stdout, "\n%s\n", c.Help)
				}
				fmt.Fprintf(e.Stdout, "\nflags:\n")
				fs.SetOutput(e.Stdout)
				fs.PrintDefaults()
				return nil, flag.ErrHelp
			}
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseNoArgs is parseFlags for a command that takes no positional argument.
func (e *env) parseNoArgs(fs *flag.FlagSet, name string, args []string) error {
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// loadConfig reads and validates --config.
func (e *env) loadConfig() (config.Config, error) {
	return config.Load(e.ConfigPath)
}

func init() {
	register(command{
		Name:    "config check",
		Args:    "[--config FILE]",
		Summary: "validate the config file (every problem with its key), its holiday files and roster",
		Run:     runConfigCheck,
	})
}

func runConfigCheck(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("config check")
	e.configFlag(fs)
	if err := e.parseNoArgs(fs, "config check", args); err != nil {
		return err
	}
	// The checks punchd makes at start, with its messages: the file (an empty one is refused),
	// the broker's options with the password and TLS files read, the holiday files, the roster.
	cfg, err := config.LoadDaemon(e.ConfigPath)
	if err != nil {
		// Every problem on its own line: this command is for reading them all.
		fmt.Fprintln(e.Stderr, err)
		return errors.New("config has errors")
	}
	if err := publish.FromConfig(cfg.MQTT).Check(); err != nil {
		return fmt.Errorf("config %s: %w", e.ConfigPath, err)
	}
	if _, err := cfg.NewCalendar(); err != nil {
		return err
	}
	people := "no roster: everyone on the clocks is clock-tracked"
	if cfg.Site.Roster != "" {
		p, err := roster.ParseFile(cfg.Site.Roster)
		if err != nil {
			return fmt.Errorf("site.roster: %w", err)
		}
		if _, err := cfg.ApplyUnits(p); err != nil {
			return fmt.Errorf("site.roster %s: %w", cfg.Site.Roster, err)
		}
		people = fmt.Sprintf("roster of %d", len(p))
	}
	fmt.Fprintf(e.Stdout, "config %s: ok (site %s, %s, %d schedule(s), %d clock(s), %s)\n",
		e.ConfigPath, cfg.Site.Name, cfg.Site.Timezone, len(cfg.Schedule), len(cfg.Clock), people)
	return nil
}
