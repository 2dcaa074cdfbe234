package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/manpage"
)

// The man page and the shell completion are generated from the commands themselves: their
// synopses, summaries and help from the registry, their flags from the flag set each command
// makes when asked for -h. The package (scripts/dist.sh) runs `punchctl gen-man DIR` and
// `punchctl completion bash`; nothing is written by hand twice.

func init() {
	register(command{
		Name:    "gen-man",
		Args:    "DIR",
		Summary: "write the punchctl(1) man page into DIR (for packaging)",
		Run:     runGenMan,
		Hidden:  true,
	})
	register(command{
		Name:    "completion",
		Args:    "bash",
		Summary: "print the bash completion script (source it, or install it as /usr/share/bash-completion/completions/punchctl)",
		Run:     runCompletion,
	})
}

// cmdFlags is one command and its flags, as -h would show them.
type cmdFlags struct {
	command
	flags []*flag.Flag
}

// describe asks every visible command for its flags by running it with -h into the void.
func describe(ctx context.Context) ([]cmdFlags, error) {
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.Hidden {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []cmdFlags
	for _, n := range names {
		c := commands[n]
		e := &env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, ConfigPath: config.DefaultPath}
		if err := c.Run(ctx, e, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
			return nil, fmt.Errorf("%s -h: want the help, got %v", n, err)
		}
		cf := cmdFlags{command: c}
		if e.flags != nil {
			e.flags.VisitAll(func(f *flag.Flag) {
				if f.Name != "v" && f.Name != "verbose" { // global, described once
					cf.flags = append(cf.flags, f)
				}
			})
		}
		out = append(out, cf)
	}
	return out, nil
}

func runGenMan(ctx context.Context, e *env, args []string) error {
	pos, err := e.parseFlags(e.newFlags("gen-man"), "gen-man", args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one DIR")
	}
	cmds, err := describe(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(pos[0], 0o755); err != nil {
		return fmt.Errorf("gen-man: %w", err)
	}
	var b strings.Builder
	writeMan(&b, cmds, buildinfo.Read().Version)
	path := filepath.Join(pos[0], "punchctl.1")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("gen-man: %w", err)
	}
	fmt.Fprintln(e.Stdout, path)
	return nil
}

func writeMan(w *strings.Builder, cmds []cmdFlags, version string) {
	manpage.Header(w, "punchctl", 1, "punchd "+version, "the operator's tool for punchd, the attendance clock daemon")
	w.WriteString(".SH SYNOPSIS\n.B punchctl\n[\\-\\-config FILE] [\\-v|\\-\\-verbose] [\\-\\-version] COMMAND [flags] [args]\n")
	w.WriteString(".SH DESCRIPTION\n" + manpage.Roff("punchctl reads the clocks directly, judges punches from files, manages the roster, "+
		"registrations, marks and findings, writes the reports, follows the live feed and shows the daemon's status. "+
		"A command that needs the store talks to the running daemon over its local socket, or opens the store "+
		"directly when the daemon is stopped, and says which it did.") + "\n")
	w.WriteString(".SH GLOBAL OPTIONS\n")
	fmt.Fprintf(w, ".TP\n.B \\-\\-config \\fIFILE\\fR\n%s\n", manpage.Roff("the configuration (default "+config.DefaultPath+"); every command also takes it after its name"))
	w.WriteString(".TP\n.B \\-v, \\-\\-verbose\n" + manpage.Roff("log progress, retries and warnings to stderr (debug level); also after a command's name") + "\n")
	w.WriteString(".TP\n.B \\-\\-version\nprint the version, VCS revision and Go version\n")
	w.WriteString(".SH COMMANDS\n")
	for _, c := range cmds {
		fmt.Fprintf(w, ".SS \"%s\"\n", manpage.Roff(strings.TrimSpace("punchctl "+c.Name+" "+c.Args)))
		w.WriteString(manpage.Roff(c.Summary) + "\n")
		if c.Help != "" {
			w.WriteString(".PP\n.nf\n" + manpage.Roff(c.Help) + "\n.fi\n")
		}
		for _, f := range c.flags {
			manpage.Option(w, f)
		}
	}
	w.WriteString(".SH EXIT STATUS\n" + manpage.Roff("0 success; 1 failure, with one line on stderr naming what failed; 2 a usage error. "+
		"punchctl status: 0 all well, 1 degraded, 3 the daemon is not running.") + "\n")
	w.WriteString(".SH FILES\n.TP\n" + manpage.Roff(config.DefaultPath) + "\nthe configuration, shared with punchd\n")
	w.WriteString(".SH SEE ALSO\n.BR punchd (8),\n" + manpage.Roff("/usr/share/doc/punchd/operations.md, events.md, rules.md") + "\n")
}

func runCompletion(ctx context.Context, e *env, args []string) error {
	pos, err := e.parseFlags(e.newFlags("completion"), "completion", args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "bash" {
		return usagef("want the shell: bash")
	}
	cmds, err := describe(ctx)
	if err != nil {
		return err
	}
	_, err = io.WriteString(e.Stdout, bashCompletion(cmds))
	return err
}

// bashCompletion completes the command words (a group, then its word) and each command's flags.
func bashCompletion(cmds []cmdFlags) string {
	var top []string
	groups := map[string][]string{}
	var cases strings.Builder
	for _, c := range cmds {
		g, word, grouped := strings.Cut(c.Name, " ")
		if !slices.Contains(top, g) {
			top = append(top, g)
		}
		if grouped {
			groups[g] = append(groups[g], word)
		}
		flags := []string{"--config", "-v", "--verbose", "-h"}
		for _, f := range c.flags {
			if f.Name != "config" {
				flags = append(flags, "--"+f.Name)
			}
		}
		pattern := fmt.Sprintf("%q", c.Name) // "clock dump"
		if !grouped {
			pattern = fmt.Sprintf("%q*", c.Name+" ") // "judge "*: the next word is an argument
		}
		fmt.Fprintf(&cases, "    %s) flags=%q ;;\n", pattern, strings.Join(flags, " "))
	}
	var groupCases strings.Builder
	for _, g := range top {
		if words := groups[g]; len(words) > 0 {
			fmt.Fprintf(&groupCases, "      %q) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", g, strings.Join(words, " "))
		}
	}
	return `# bash completion for punchctl, generated by 'punchctl completion bash' from its commands.
_punchctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} i w words=()
  # The command words typed so far, global flags (and --config's value) skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case "$w" in
      --config) ((i++)) ;;
      -*) ;;
      *) words+=("$w") ;;
    esac
  done
  if [ ${#words[@]} -eq 0 ]; then
    COMPREPLY=($(compgen -W "` + strings.Join(top, " ") + ` help --config --version -v --verbose" -- "$cur"))
    return
  fi
  if [ ${#words[@]} -eq 1 ] && [[ "$cur" != -* ]]; then
    case "${words[0]}" in
` + groupCases.String() + `    esac
  fi
  local flags=
  case "${words[0]} ${words[1]}" in
` + cases.String() + `  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _punchctl punchctl
`
}
