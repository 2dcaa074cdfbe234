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
	if err := e.parseNoArgs(e.newFlags("version"), "version", args); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, "punchctl", buildinfo.Read())
	return nil
}
