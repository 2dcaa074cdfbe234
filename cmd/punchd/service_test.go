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

// TestUsageErrors: a wrong flag or argument of the daemon, or of gen-man, is a usage error (exit 2) too.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"stray"}, {"gen-man"}, {"gen-man", "a", "b"}} {
		err := run(context.Background(), args, &bytes.Buffer{}, Options{Stderr: &bytes.Buffer{}})
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
