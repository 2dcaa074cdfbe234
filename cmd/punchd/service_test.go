package main

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/config"
)

func TestParseService(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want serviceRequest
		err  string // "" = parses; else a usage error containing this
	}{
		{args: []string{"install"}, want: serviceRequest{Action: "install", Config: config.DefaultPath}},
		{args: []string{"install", "--config", `D:\punchd\punchd.toml`}, want: serviceRequest{Action: "install", Config: `D:\punchd\punchd.toml`}},
		{args: []string{"uninstall"}, want: serviceRequest{Action: "uninstall", Config: config.DefaultPath}},
		{args: []string{"start"}, want: serviceRequest{Action: "start", Config: config.DefaultPath}},
		{args: []string{"stop"}, want: serviceRequest{Action: "stop", Config: config.DefaultPath}},
		{args: []string{"reload"}, want: serviceRequest{Action: "reload", Config: config.DefaultPath}},
		{args: nil, err: "usage: punchd service install"},
		{args: []string{"restart"}, err: `unknown action "restart"`},
		{args: []string{"start", "--config", "x.toml"}, err: "flag provided but not defined: -config"},
		{args: []string{"stop", "now"}, err: `service stop: unexpected argument "now"`},
	} {
		got, err := parseService(tc.args, &bytes.Buffer{})
		var ue *usageError
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %+v, %v; want %+v", tc.args, got, err, tc.want)
		case tc.err != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %v; want a usage error containing %q", tc.args, err, tc.err)
		}
	}
}

// TestServiceElsewhere: `punchd service …` off Windows is a usage error (exit 2) saying so.
func TestServiceElsewhere(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the service commands are real on Windows")
	}
	for _, args := range [][]string{{"service", "install"}, {"service", "start"}, {"service"}} {
		err := run(context.Background(), args, &bytes.Buffer{}, Options{Stderr: &bytes.Buffer{}})
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error (exit 2)", args, err)
			continue
		}
		if len(args) > 1 && !strings.Contains(err.Error(), "Windows only") {
			t.Errorf("%q: %q does not say the service is Windows only", args, err)
		}
	}
}

// TestUsageErrors: a wrong flag or argument of the daemon, of gen-man or of the service commands
// is a usage error (exit 2), said once on stderr (the flag package does not say it first), then
// the usage where there is one; -h prints the usage once and exits 0.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		code        int
		said, usage string // each on stderr exactly once ("" = not asserted)
	}{
		{[]string{"--no-such-flag"}, 2, "punchd: flag provided but not defined: -no-such-flag\n", "usage: punchd [--config FILE]"},
		{[]string{"--demo-for", "soon"}, 2, `punchd: invalid value "soon" for flag -demo-for`, "usage: punchd [--config FILE]"},
		{[]string{"stray"}, 2, "punchd: unexpected argument \"stray\"\n", "usage: punchd [--config FILE]"},
		{[]string{"gen-man"}, 2, "punchd: gen-man: want one DIR\n", ""},
		{[]string{"gen-man", "a", "b"}, 2, "punchd: gen-man: want one DIR\n", ""},
		{[]string{"service", "start", "--config", "x.toml"}, 2, "punchd: service start: flag provided but not defined: -config\n", "usage: punchd service install"},
		{[]string{"-h"}, 0, "", "usage: punchd [--config FILE]"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, &bytes.Buffer{}, Options{Stderr: &stderr})
		var ue *usageError
		if tc.code == 2 && !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", tc.args, err)
		}
		if code := exitCode(err, &stderr); code != tc.code {
			t.Errorf("%q: exit status %d, want %d", tc.args, code, tc.code)
		}
		for _, want := range []string{tc.said, tc.usage} {
			if n := strings.Count(stderr.String(), want); want != "" && n != 1 {
				t.Errorf("%q: stderr has %q %d times, want once:\n%s", tc.args, want, n, stderr.String())
			}
		}
		if tc.said != "" && strings.Count(stderr.String(), strings.TrimPrefix(strings.TrimSuffix(tc.said, "\n"), "punchd: ")) != 1 {
			t.Errorf("%q: the error is said more than once:\n%s", tc.args, stderr.String())
		}
	}
}
