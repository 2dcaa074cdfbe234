//go:build !windows

package main

import (
	"context"
	"io"
	"runtime"
)

// serviceCommand: `punchd service` is Windows's; elsewhere the service manager is the system's own.
func serviceCommand(_ context.Context, args []string, _, stderr io.Writer) error {
	if _, err := parseService(args, stderr); err != nil {
		return err
	}
	return usagef("service: Windows only; on %s punchd runs under systemd (systemctl enable --now punchd, see docs/operations.md)", runtime.GOOS)
}

// serviceMain: only Windows starts punchd as a service of its own.
func serviceMain([]string) (int, bool) { return 0, false }
