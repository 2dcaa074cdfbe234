package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/jinbi/punchd/internal/api"
)

func init() {
	register(command{
		Name:    "account add",
		Args:    "NAME --role clerk|supervisor|viewer",
		Summary: "add a web console account; the password is asked for (or read as one line from stdin)",
		Help: "Roles: clerk (党政办) records registrations and marks; supervisor (督查室) adds findings; viewer only reads.\n" +
			"A non-loopback [http] listen refuses to start without at least one account.",
		Run: runAccountAdd,
	})
	register(command{
		Name:    "account list",
		Args:    "[--json]",
		Summary: "list the web console's accounts and their roles",
		Run:     runAccountList,
	})
	register(command{
		Name:    "account passwd",
		Args:    "NAME",
		Summary: "set an account's password (asked for, or one line from stdin); its open sessions end",
		Run:     runAccountPasswd,
	})
	register(command{
		Name:    "account remove",
		Args:    "NAME",
		Summary: "remove a web console account; its open sessions end",
		Run:     runAccountRemove,
	})
	register(command{
		Name:    "audit",
		Args:    "[--since DATE|DURATION] [--limit N] [--json]",
		Summary: "list the audit log: every change made through the web console, the daemon's socket or punchctl (who, when, what, from where)",
		Run:     runAudit,
	})
}

// accounts opens the backend (the daemon's socket, or the store when it is stopped) for the
// account and audit commands.
func (e *env) accounts(ctx context.Context) (api.Accounts, error) {
	cfg, err := e.judgeConfig()
	if err != nil {
		return nil, err
	}
	b, err := e.backend(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a, ok := b.(api.Accounts)
	if !ok {
		return nil, errors.New("the daemon does not serve accounts (is it older than this punchctl?)")
	}
	return a, nil
}

// oneName wants exactly one positional NAME.
func oneName(pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usagef("want one account NAME")
	}
	return strings.TrimSpace(pos[0]), nil
}

// readPassword asks twice on a terminal, or reads one line from a pipe.
func (e *env) readPassword(name string) (string, error) {
	if f, ok := e.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.Stderr, "password for %s: ", name)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprintf(e.Stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(e.Stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runAccountAdd(ctx context.Context, e *env, args []string) error {
	const name = "account add"
	fs := e.newFlags(name)
	e.configFlag(fs)
	role := fs.String("role", "", "clerk (党政办: registrations, marks), supervisor (督查室: findings) or viewer (reads)")
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return err
	}
	acct, err := oneName(pos)
	if err != nil {
		return err
	}
	if *role == "" {
		return usagef("--role is required: clerk, supervisor or viewer")
	}
	a, err := e.accounts(ctx)
	if err != nil {
		return err
	}
	pw, err := e.readPassword(acct)
	if err != nil {
		return err
	}
	info, err := a.AddAccount(ctx, acct, *role, pw)
	if err != nil {
		return daemonErr(err)
	}
	fmt.Fprintf(e.Stdout, "account %s added (%s)\n", info.Name, info.Role)
	return nil
}

func runAccountList(ctx context.Context, e *env, args []string) error {
	const name = "account list"
	fs := e.newFlags(name)
	e.configFlag(fs)
	asJSON := fs.Bool("json", false, "one JSON object a line")
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return err
	}
	a, err := e.accounts(ctx)
	if err != nil {
		return err
	}
	list, err := a.Accounts(ctx)
	if err != nil {
		return daemonErr(err)
	}
	for _, acct := range list {
		if *asJSON {
			b, err := json.Marshal(acct)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "%s\n", b)
			continue
		}
		fmt.Fprintf(e.Stdout, "%-20s %-10s created %s  password set %s\n", acct.Name, acct.Role,
			acct.Created.Format(regTimeLayout), acct.Changed.Format(regTimeLayout))
	}
	if !*asJSON {
		fmt.Fprintf(e.Stderr, "punchctl: %d account(s)\n", len(list))
	}
	return nil
}

// oneAccount is the prelude of the commands on one account NAME: its flags, the name, and the
// backend (the daemon's socket, or the store when it is stopped).
func (e *env) oneAccount(ctx context.Context, name string, args []string) (string, api.Accounts, error) {
	fs := e.newFlags(name)
	e.configFlag(fs)
	pos, err := e.parseFlags(fs, name, args)
	if err != nil {
		return "", nil, err
	}
	acct, err := oneName(pos)
	if err != nil {
		return "", nil, err
	}
	a, err := e.accounts(ctx)
	return acct, a, err
}

func runAccountPasswd(ctx context.Context, e *env, args []string) error {
	acct, a, err := e.oneAccount(ctx, "account passwd", args)
	if err != nil {
		return err
	}
	pw, err := e.readPassword(acct)
	if err != nil {
		return err
	}
	if err := a.SetPassword(ctx, acct, pw); err != nil {
		return daemonErr(err)
	}
	fmt.Fprintf(e.Stdout, "account %s: password set; its open sessions have ended\n", acct)
	return nil
}

func runAccountRemove(ctx context.Context, e *env, args []string) error {
	acct, a, err := e.oneAccount(ctx, "account remove", args)
	if err != nil {
		return err
	}
	if err := a.RemoveAccount(ctx, acct); err != nil {
		return daemonErr(err)
	}
	fmt.Fprintf(e.Stdout, "account %s removed\n", acct)
	return nil
}
func runAudit(ctx context.Context, e *env, args []string) error {
	const name = "audit"
	fs := e.newFlags(name)
	e.configFlag(fs)
	since := fs.String("since", "", "only entries from this `DATE` (2006-01-02) or this long ago (72h)")
	limit := fs.Int("limit", 0, "only the newest `N` entries (0: all)")
	asJSON := fs.Bool("json", false, "one JSON object a line (the payload published on {prefix}/audit)")
	if err := e.parseNoArgs(fs, name, args); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit %d is negative", *limit)
	}
	cfg, err := e.judgeConfig()
	if err != nil {
		return err
	}
	loc := cfg.Location()
	var from time.Time
	if s := strings.TrimSpace(*since); s != "" {
		if d, derr := time.ParseDuration(s); derr == nil {
			from = e.Now().Add(-d)
		} else if t, terr := time.ParseInLocation("2006-01-02", s, loc); terr == nil {
			from = t
		} else {
			return usagef("--since %q is neither a date 2006-01-02 nor a duration like 72h", s)
		}
	}
	a, err := e.accounts(ctx)
	if err != nil {
		return err
	}
	entries, err := a.Audit(ctx, from, time.Time{}, *limit)
	if err != nil {
		return daemonErr(err)
	}
	for _, en := range entries {
		if *asJSON {
			en.At = en.At.In(loc)
			b, err := json.Marshal(en)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "%s\n", b)
			continue
		}
		who := en.Who
		if en.Role != "" {
			who += " (" + en.Role + ")"
		}
		fmt.Fprintf(e.Stdout, "%s  %s  %s  %s via %s from %s  %s %s", en.ID, en.At.In(loc).Format("2006-01-02 15:04:05"),
			en.Action, who, en.Via, en.From, en.Target, en.Detail)
		fmt.Fprintln(e.Stdout)
	}
	if !*asJSON {
		fmt.Fprintf(e.Stderr, "punchctl: %d audit entr(y/ies)\n", len(entries))
	}
	return nil
}
