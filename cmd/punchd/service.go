package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/jinbi/punchd/internal/config"
)

const serviceUsage = "punchd service install [--config FILE] | uninstall | start | stop | reload   (Windows)"

// serviceRequest is a `punchd service` command line: the action, and for install the config
// the service will run with.
type serviceRequest struct {
	Action string // install, uninstall, start, stop or reload
	Config string // install: the config file (default config.DefaultPath)
}

// parseService reads the arguments after `punchd service`.
func parseService(args []string, stderr io.Writer) (serviceRequest, error) {
	if len(args) == 0 {
		return serviceRequest{}, usagef("usage: %s", serviceUsage)
	}
	r := serviceRequest{Action: args[0], Config: config.DefaultPath}
	fs := flag.NewFlagSet("punchd service "+r.Action, flag.ContinueOnError)
	switch r.Action {
	case "install":
		fs.StringVar(&r.Config, "config", r.Config, "the config file the service runs with (written from the example if missing)")
	case "uninstall", "start", "stop", "reload":
	default:
		return serviceRequest{}, usagef("service: unknown action %q (usage: %s)", r.Action, serviceUsage)
	}
	if err := parseFlags(fs, args[1:], serviceUsage, stderr); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			ue.msg = fmt.Sprintf("service %s: %s", r.Action, ue.msg)
		}
		return serviceRequest{}, err
	}
	if fs.NArg() > 0 {
		return serviceRequest{}, usagef("service %s: unexpected argument %q (usage: %s)", r.Action, fs.Arg(0), serviceUsage)
	}
	return r, nil
}
