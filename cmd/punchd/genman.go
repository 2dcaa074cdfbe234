package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jinbi/punchd/internal/buildinfo"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/manpage"
)

// genMan writes punchd(8) into the directory given: `punchd gen-man DIR`, run by scripts/dist.sh.
// The options are punchd's flag set and the settings a reload refuses are reload.go's fixedKeys,
// so the page says what the binary does.
func genMan(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usagef("gen-man: want one DIR")
	}
	if err := os.MkdirAll(args[0], 0o755); err != nil {
		return fmt.Errorf("gen-man: %w", err)
	}
	path := filepath.Join(args[0], "punchd.8")
	if err := os.WriteFile(path, []byte(manPage(buildinfo.Read().Version).String()), 0o644); err != nil {
		return fmt.Errorf("gen-man: %w", err)
	}
	fmt.Fprintln(stdout, path)
	return nil
}

// manPage is punchd(8).
func manPage(version string) manpage.Page {
	fs, _ := newFlags()
	def := config.Default()
	var fixed []string
	for _, k := range fixedKeys {
		fixed = append(fixed, k.key)
	}
	return manpage.Page{
		Name: "punchd", Section: 8, Version: "punchd " + version,
		Summary:  "the attendance clock daemon",
		Synopsis: `[\-\-config \fIFILE\fR] | \-\-demo [\-\-demo\-for \fIDURATION\fR] | \-\-version`,
		Description: `punchd runs beside the office's ZKTeco-family fingerprint clocks (ZK protocol over TCP, UDP or ` +
			`RS232/RS485, or ZK PUSH). It pulls each clock's punches, commits them to a local bbolt store before ` +
			`anything else, judges each person's four-punch working day, and publishes late, early, missing and ` +
			`absent events over MQTT through an outbox: an event leaves the store only after the broker acknowledged it.

It serves Prometheus metrics, /healthz and /readyz and the web console on [http] listen, and the local API ` +
			`that punchctl(1) talks to on [api] socket. Under systemd (Type=notify) it says READY=1 once the store ` +
			`is open and the listeners are up, and beats the watchdog only while all its loops do.

The configuration is a TOML file (see FILES); ` + "`punchctl config check`" + ` checks it with the same messages ` +
			`start-up gives. ` + "`punchd --demo`" + ` runs the whole daemon against a simulated clock and an embedded ` +
			`broker in a temporary directory, with no set-up.`,
		Options: manpage.Flags(fs),
		Sections: []manpage.Section{
			{Title: "Signals", Items: []manpage.Item{
				{Tag: "SIGHUP", Text: "Reload the configuration (systemctl reload punchd): the rules, schedules, calendar, " +
					"roster, units, points, reports, events_since, the clocks (added, removed, changed), the log level " +
					"and the [mqtt] settings (with a reconnect); the web console shows the new state. A change of " +
					strings.Join(fixed, ", ") + " or of the zk+push clocks needs a restart: the reload refuses the whole " +
					"file, logs one ERROR line \"reload refused\" saying why, keeps the previous configuration and sets " +
					"punchd_config_last_reload_successful to 0. So does a file that does not pass config check."},
				{Tag: "SIGTERM, SIGINT", Text: "Stop: the clocks first (each clock's retained status set down), then " +
					"the publisher, which drains briefly; what is left stays in the outbox for the next start."},
			}},
			{Title: "Exit status", Body: "0 after a clean stop (or --help, --version); 1 when it cannot start, with " +
				"one line on stderr naming what and where (a configuration error names the key); 2 for a mistake in " +
				"the command line (an unknown flag or argument, or punchd service off Windows)."},
			{Title: "Environment", Items: []manpage.Item{
				{Tag: "GOMEMLIMIT", Text: "the Go runtime's soft memory limit; the unit sets 40MiB."},
			}},
			{Title: "Files", Items: []manpage.Item{
				{Tag: config.DefaultPath, Text: "the configuration, shared with punchctl"},
				{Tag: def.Store.Path, Text: "the store ([store] path): punches, judged days, the outbox, the roster, registrations and marks"},
				{Tag: def.API.Socket, Text: "the local API socket ([api] socket), owner-only"},
				{Tag: def.Reports.Dir, Text: "the monthly report files ([reports] dir)"},
				{Tag: "/usr/share/doc/punchd/", Text: "operations.md (install, broker settings, reload, metrics, alerts), events.md, rules.md"},
			}},
			{Title: "See also", Body: "punchctl(1), mosquitto.conf(5), systemctl(1)"},
		},
	}
}
