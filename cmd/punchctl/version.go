package main

import (
	"context"
	"fmt"

	"github.com/jinbi/punchd/internal/buildinfo"
)

func init() {
	register(command{
		Name:    "version",
		Summary: "print punchctl's version, VCS revision and Go version (also: punchctl --version)",
		Run:     runVersion,
	})
}

func runVersion(ctx context.Context, e *env, args []string) error {
	pos, err := e.parseFlags(e.newFlags("version"), "version", args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	fmt.Fprintln(e.Stdout, "punchctl", buildinfo.Read())
	return nil
}
