package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/api"
)

func init() {
	register(command{
		Name:    "status",
		Args:    "[--config FILE] [--json]",
		Summary: "the daemon's state (clocks, outbox, MQTT, calendar), or what the store says when it is stopped",
		Help: "The first line is the verdict, and so is the exit status:\n" +
			"  0  status: ok                   the daemon runs, every clock is up, MQTT is connected\n" +
			"  1  status: DEGRADED: WHAT       a clock is down, MQTT is disconnected or this year has no holiday data\n" +
			"  3  status: daemon NOT RUNNING   nothing answers on the socket (what the store says follows, if it exists)\n" +
			"--json gives the same verdict in \"state\" (ok, degraded, not running) and \"problems\".",
		Run: runStatus,
	})
}

// statusJSON is `status --json`: the daemon's api.Status, plus — when the daemon is stopped — what
// the store says. Daemon is "running" or "not running".
type statusJSON struct {
	State        string            `json:"state"`    // ok, degraded or not running: the verdict (and the exit status)
	Problems     []string          `json:"problems"` // why degraded, one phrase each
	Daemon       string            `json:"daemon"`
	Via          string            `json:"via"` // the socket or the store file read
	Version      string            `json:"version,omitempty"`
	Started      time.Time         `json:"started,omitzero"`
	Site         string            `json:"site"`
	Store        string            `json:"store"`
	StoreBytes   int64             `json:"store_bytes,omitempty"`
	StoreCreated time.Time         `json:"store_created,omitzero"`
	EventsSince  string            `json:"events_since"`
	Punches      *int              `json:"punches,omitempty"`
	Clocks       []clockStatusJSON `json:"clocks"`
	Outbox       int               `json:"outbox"`
	OutboxOldest time.Time         `json:"outbox_oldest,omitzero"`
	OutboxAgeSec float64           `json:"outbox_age_seconds"`
	MQTT         bool              `json:"mqtt_connected"`
	MissingYears []int             `json:"calendar_missing_years"`
}

type clockStatusJSON struct {
	api.ClockStatus
	SyncedUntil time.Time `json:"synced_until,omitzero"` // store only
	LastPunch   time.Time `json:"last_punch,omitzero"`   // store only
}

func runStatus(ctx context.Context, e *env, args []string) error {
	const name = "status"
	fs := e.newFlags(name)
	e.configFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	cfg, err := e.flagsAndConfig(fs, name, args)
	if err != nil {
		return err
	}
	b, err := e.backend(ctx, cfg)
	if errors.Is(err, errNoStore) {
		fmt.Fprintf(e.Stdout, "status: daemon NOT RUNNING %s\n", strings.TrimPrefix(oneLine(err), daemonNotRunning+" "))
		return exitStatus(exitNotRunning)
	}
	if err != nil {
		return err
	}
	st, err := b.Status(ctx)
	if err != nil {
		return daemonErr(err)
	}
	loc := cfg.Location()
	st = st.In(loc)
	now := e.Now().In(loc)
	out := statusJSON{Daemon: "running", Via: cfg.API.Socket, Version: st.Version, Started: st.Started,
		Site: st.Site, Store: st.Store, EventsSince: st.EventsSince, Outbox: st.Outbox, OutboxOldest: st.OutboxOldest,
		MQTT: st.MQTT, MissingYears: st.MissingYears}
	if out.MissingYears == nil {
		out.MissingYears = []int{}
	}
	if !st.OutboxOldest.IsZero() {
		out.OutboxAgeSec = max(0, now.Sub(st.OutboxOldest).Seconds())
	}
	for _, c := range st.Clocks {
		out.Clocks = append(out.Clocks, clockStatusJSON{ClockStatus: c})
	}
	if out.Clocks == nil {
		out.Clocks = []clockStatusJSON{}
	}
	if sb, ok := b.(*storeBackend); ok {
		f, err := sb.facts()
		if err != nil {
			return err
		}
		out.Daemon, out.Via, out.MQTT = "not running", cfg.Store.Path, false
		out.StoreBytes, out.StoreCreated, out.Punches = f.Bytes, inLoc(f.Created, loc), &f.Punches
		for i := range out.Clocks {
			wm := f.Watermarks[out.Clocks[i].Name]
			out.Clocks[i].SyncedUntil, out.Clocks[i].LastPunch = inLoc(wm.SyncedUntil, loc), inLoc(wm.LastPunch, loc)
		}
	}
	code := out.judge(now.Year())
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	} else {
		err = writeStatusText(e.Stdout, out, now)
	}
	if err != nil || code == exitOK {
		return err
	}
	return exitStatus(code)
}

// The exit statuses of status.
const (
	exitOK         = 0
	exitDegraded   = 1
	exitNotRunning = 3
)

// States of status --json.
const (
	stateOK         = "ok"
	stateDegraded   = "degraded"
	stateNotRunning = "not running"
)

// judge sets State and Problems and returns the exit status: a daemon that runs with a clock
// down, MQTT disconnected or no holiday data for this year is degraded.
func (s *statusJSON) judge(year int) int {
	s.Problems = []string{}
	if s.Daemon != "running" {
		s.State = stateNotRunning
		return exitNotRunning
	}
	for _, c := range s.Clocks {
		if c.Up {
			continue
		}
		p := "clock " + c.Name + " down"
		if c.LastError != "" {
			p += " (" + c.LastError + ")"
		}
		s.Problems = append(s.Problems, p)
	}
	if !s.MQTT {
		s.Problems = append(s.Problems, "mqtt disconnected")
	}
	if slices.Contains(s.MissingYears, year) {
		s.Problems = append(s.Problems, fmt.Sprintf("no holiday data for %d", year))
	}
	if len(s.Problems) > 0 {
		s.State = stateDegraded
		return exitDegraded
	}
	s.State = stateOK
	return exitOK
}

// writeStatusText is the readable status: one fact a line, a line per clock.
func writeStatusText(w io.Writer, s statusJSON, now time.Time) error {
	var b strings.Builder
	at := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return fmt.Sprintf("%s (%s ago)", t.Format("2006-01-02 15:04:05"), ago(now.Sub(t)))
	}
	switch s.State {
	case stateOK:
		fmt.Fprintf(&b, "status: ok\n")
	case stateDegraded:
		fmt.Fprintf(&b, "status: DEGRADED: %s\n", strings.Join(s.Problems, "; "))
	case stateNotRunning:
		fmt.Fprintf(&b, "status: daemon NOT RUNNING (what the store says follows)\n")
	}
	if s.Daemon == "running" {
		fmt.Fprintf(&b, "daemon: running (version %s, started %s), socket %s\n", s.Version, at(s.Started), s.Via)
	} else {
		fmt.Fprintf(&b, "daemon: not running\n")
	}
	fmt.Fprintf(&b, "site: %s, events published from %s\n", s.Site, s.EventsSince)
	if s.Punches != nil {
		fmt.Fprintf(&b, "store: %s, %d bytes, created %s, %d punches\n", s.Store, s.StoreBytes, s.StoreCreated.Format("2006-01-02 15:04"), *s.Punches)
	} else {
		fmt.Fprintf(&b, "store: %s\n", s.Store)
	}
	switch {
	case s.Daemon != "running":
		fmt.Fprintf(&b, "mqtt: not connected (daemon not running)\n")
	case s.MQTT:
		fmt.Fprintf(&b, "mqtt: connected\n")
	default:
		fmt.Fprintf(&b, "mqtt: DISCONNECTED\n")
	}
	if s.Outbox == 0 {
		fmt.Fprintf(&b, "outbox: empty\n")
	} else {
		fmt.Fprintf(&b, "outbox: %d waiting, oldest queued %s\n", s.Outbox, at(s.OutboxOldest))
	}
	if len(s.MissingYears) > 0 {
		ys := make([]string, len(s.MissingYears))
		for i, y := range s.MissingYears {
			ys[i] = fmt.Sprint(y)
		}
		fmt.Fprintf(&b, "calendar: NO HOLIDAY DATA for %s (judged by the Monday–Friday week; add [calendar] holiday_files)\n", strings.Join(ys, ", "))
	} else {
		fmt.Fprintf(&b, "calendar: holiday data present\n")
	}
	if len(s.Clocks) == 0 {
		fmt.Fprintf(&b, "clocks: none configured\n")
	}
	for _, c := range s.Clocks {
		fmt.Fprintf(&b, "clock %s", c.Name)
		if c.Serial != "" {
			fmt.Fprintf(&b, " (serial %s)", c.Serial)
		}
		if s.Daemon == "running" {
			state := "DOWN"
			if c.Up {
				state = "up"
			}
			rt := "off"
			if c.Realtime {
				rt = "on"
			}
			if c.LastPull.IsZero() {
				// Never reached since the daemon started: no records, no offset to tell.
				fmt.Fprintf(&b, ": %s, not reached yet, realtime %s", state, rt)
			} else {
				fmt.Fprintf(&b, ": %s, last pull %s, records %s, offset %+.0fs, realtime %s", state, at(c.LastPull),
					capacityText(c.Records, c.Capacity), c.OffsetSec, rt)
			}
			if c.LastError != "" {
				fmt.Fprintf(&b, ", last error: %s", c.LastError)
			}
		} else {
			fmt.Fprintf(&b, ": last pull %s", at(c.LastPull))
			if !c.LastPull.IsZero() {
				fmt.Fprintf(&b, ", %d records on the clock then, synced until %s, last punch %s", c.Records,
					c.SyncedUntil.Format("2006-01-02 15:04:05"), c.LastPunch.Format("2006-01-02 15:04:05"))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func capacityText(records, capacity int) string {
	if capacity <= 0 {
		return fmt.Sprintf("%d (capacity unknown)", records)
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", records, capacity, 100*float64(records)/float64(capacity))
}

// ago is a duration rounded for reading: seconds within the hour, minutes within two days, then days.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
