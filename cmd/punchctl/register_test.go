package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/store"
)

// eventRevs returns, for one event id, the queued entries' revisions and decoded payloads.
func eventRevs(t *testing.T, db *store.DB, id string) ([]int, []event.Event) {
	t.Helper()
	entries, err := db.OutboxPeek(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	var revs []int
	var evs []event.Event
	for _, e := range entries {
		if e.EventID != id {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			t.Fatalf("payload of %s rev %d: %v", id, e.Rev, err)
		}
		revs = append(revs, e.Rev)
		evs = append(evs, ev)
	}
	return revs, evs
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestRegisterOffline: with the daemon stopped, add / list / revoke go to the store, re-judge the
// day and queue the corrections (same event id, higher rev) for the daemon to publish.
func TestRegisterOffline(t *testing.T) {
	f := newBkFixture(t)
	lateID := event.ID("jinbi", "1001", bkDay, attendance.AmIn, "late")
	{
		db := f.open(t)
		revs, evs := eventRevs(t, db, lateID)
		db.Close()
		if len(revs) != 1 || revs[0] != 1 || evs[0].Excused || evs[0].Minutes != 15 {
			t.Fatalf("fixture: late event revs %v %+v", revs, evs)
		}
	}

	code, out, errs := f.ctl(t, bkNow, "register", "add", "--user", "1001", "--kind", "offsite",
		"--from", "2026-03-09 08:00", "--to", "2026-03-09 12:00", "--reason", "县里开会", "--by", "党政办",
		"--via", "书面", "--approved-by", "李镇长", "--json")
	if code != 0 {
		t.Fatalf("register add = %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "punchctl: daemon not running: using store "+f.dbPath+" directly\n") {
		t.Errorf("stderr does not say the store was used: %q", errs)
	}
	if !strings.Contains(errs, "correction(s) queued in the outbox: punchd publishes them when it starts") {
		t.Errorf("stderr does not say corrections were queued: %q", errs)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	want := map[string]any{
		"id": "R00000001", "user_id": "1001", "name": "张三", "kind": "offsite",
		"from": "2026-03-09T08:00:00+08:00", "to": "2026-03-09T12:00:00+08:00",
		"reason": "县里开会", "registered_by": "党政办", "registered_at": "2026-03-10T11:00:00+08:00", "revoked": false,
		"via": "written", "approved_by": "李镇长", "late_registered": true, // 27 hours after it began
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("register add --json: %s = %v, want %v", k, got[k], v)
		}
	}
	for _, k := range []string{"revoked_by", "revoked_at", "revoke_reason"} {
		if _, ok := got[k]; ok {
			t.Errorf("register add --json: %s present on a fresh registration", k)
		}
	}

	// The day was re-judged and the correction queued behind the first revision.
	db := f.open(t)
	day, ok, err := db.Day("1001", bkDay)
	if err != nil || !ok {
		t.Fatalf("day: %v %v", ok, err)
	}
	if s := day.Slots[attendance.AmIn]; s.Result != attendance.ResultExcused || s.Registration == nil || *s.Registration != "R00000001" || !s.LateRegistered {
		t.Errorf("am_in after registration: %+v", s)
	}
	revs, evs := eventRevs(t, db, lateID)
	if len(revs) != 2 || revs[1] != 2 || !evs[1].Excused || evs[1].Registration == nil || *evs[1].Registration != "R00000001" || !evs[1].LateRegistered {
		t.Errorf("late event after registration: revs %v, payloads %+v", revs, evs)
	}
	db.Close()

	// A leave by dates: from the start of the first day to the end of the last.
	code, out, errs = f.ctl(t, bkNow, "register", "add", "--user", "1002", "--kind", "leave",
		"--from", "2026-03-16", "--to", "2026-03-17", "--reason", "病假", "--by", "党政办")
	if code != 0 {
		t.Fatalf("register add leave = %d\n%s%s", code, out, errs)
	}
	if want := "R00000002  1002 李四  leave 请假  2026-03-16 00:00 – 2026-03-17 23:59  \"病假\"  registered by 党政办 at 2026-03-10 11:00\n"; out != want {
		t.Errorf("register add text:\n got %q\nwant %q", out, want)
	}
	// A 补卡 at one time, given in RFC 3339 with another offset.
	code, out, errs = f.ctl(t, bkNow, "register", "add", "--user", "1002", "--kind", "makeup",
		"--from", "2026-03-09T06:25:00Z", "--reason", "忘记打卡", "--by", "王书记")
	if code != 0 {
		t.Fatalf("register add makeup = %d\n%s%s", code, out, errs)
	}
	if want := "R00000003  1002 李四  makeup 补卡  2026-03-09 14:25  \"忘记打卡\"  registered by 王书记 at 2026-03-10 11:00\n"; out != want {
		t.Errorf("register add makeup text:\n got %q\nwant %q", out, want)
	}

	// Revoke the first: kept, marked, and the correction undone at a higher rev.
	later := bkNow.Add(time.Hour)
	code, out, errs = f.ctl(t, later, "register", "revoke", "R00000001", "--by", "王书记", "--reason", "未经批准")
	if code != 0 {
		t.Fatalf("revoke = %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "R00000001  1001 张三  offsite 外出  2026-03-09 08:00–12:00") ||
		!strings.HasSuffix(out, "\n    REVOKED by 王书记 at 2026-03-10 12:00: \"未经批准\"\n") {
		t.Errorf("revoke output %q", out)
	}
	db = f.open(t)
	revs, evs = eventRevs(t, db, lateID)
	if len(revs) != 3 || revs[2] != 3 || evs[2].Excused || evs[2].Minutes != 15 {
		t.Errorf("late event after revocation: revs %v, payloads %+v", revs, evs)
	}
	if r, ok, err := db.Registration("R00000001"); err != nil || !ok || r.RevokedBy != "王书记" {
		t.Errorf("revoked registration kept: %+v %v %v", r, ok, err)
	}
	db.Close()

	// Revoking twice is an error, one line.
	code, out, errs = f.ctl(t, later, "register", "revoke", "R00000001", "--by", "王书记", "--reason", "again")
	if code != 1 || out != "" || !strings.HasPrefix(lastLine(errs), "punchctl register revoke: registration R00000001 was already revoked by 王书记 at 2026-03-10 12:00") {
		t.Errorf("second revoke: %d %q %q", code, out, errs)
	}

	// list: every registration overlapping March, revoked marked; --user filters; JSON lines.
	code, out, errs = f.ctl(t, later, "register", "list", "--month", "2026-03")
	if code != 0 {
		t.Fatalf("list = %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "R00000001  1001 张三") || !strings.HasPrefix(lines[1], "    REVOKED by 王书记") ||
		!strings.HasPrefix(lines[2], "R00000002  1002 李四  leave") || !strings.HasPrefix(lines[3], "R00000003  1002 李四  makeup") {
		t.Errorf("list:\n%s", out)
	}
	if !strings.Contains(errs, "3 registration(s) overlapping 2026-03") {
		t.Errorf("list stderr %q", errs)
	}
	code, out, _ = f.ctl(t, later, "register", "list", "--month", "2026-03", "--user", "1001", "--json")
	var rows []map[string]any
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("list --json line %q: %v", l, err)
		}
		rows = append(rows, m)
	}
	if code != 0 || len(rows) != 1 || rows[0]["id"] != "R00000001" || rows[0]["revoked"] != true ||
		rows[0]["revoked_by"] != "王书记" || rows[0]["revoked_at"] != "2026-03-10T12:00:00+08:00" || rows[0]["revoke_reason"] != "未经批准" {
		t.Errorf("list --user --json: %d %v", code, rows)
	}
	// Default month is the current one (in the site's zone); April has none of these.
	code, out, errs = f.ctl(t, time.Date(2026, 4, 2, 9, 0, 0, 0, bkZone), "register", "list")
	if code != 0 || out != "" || !strings.Contains(errs, "0 registration(s) overlapping 2026-04") {
		t.Errorf("list in April: %d %q %q", code, out, errs)
	}
}

// TestRegisterBadInput: each mistake is one line on stderr naming the flag, exit 1, nothing stored.
func TestRegisterBadInput(t *testing.T) {
	f := newBkFixture(t)
	base := func(over ...string) []string {
		flags := map[string]string{"--user": "1001", "--kind": "offsite", "--from": "2026-03-09 08:00",
			"--to": "2026-03-09 12:00", "--reason": "开会", "--by": "党政办"}
		for i := 0; i+1 < len(over); i += 2 {
			if over[i+1] == "" {
				delete(flags, over[i])
			} else {
				flags[over[i]] = over[i+1]
			}
		}
		args := []string{"register", "add"}
		for k, v := range flags {
			args = append(args, k, v)
		}
		return args
	}
	tests := []struct {
		name string
		args []string
		want string
		code int // 2: the command line is wrong; 1: it is right but the data says no
	}{
		{"ends before it starts", base("--from", "2026-03-09 12:00", "--to", "2026-03-09 08:00"),
			"--to 2026-03-09 08:00 is before --from 2026-03-09 12:00", 2},
		{"unknown user", base("--user", "9999"), `--user "9999" is not on the roster (2 people; see punchctl roster list)`, 1},
		{"bad kind", base("--kind", "holiday"), `--kind "holiday" is not one of offsite, trip, leave, meeting, makeup`, 2},
		{"missing --by", base("--by", ""), "--by is required", 2},
		{"bad --via", base("--via", "email"), `--via "email" is not written (书面) or phone (电话)`, 2},
		{"missing --reason", base("--reason", ""), "--reason is required", 2},
		{"missing --user", base("--user", ""), "--user is required", 2},
		{"missing --to", base("--to", ""), "--to is required for kind offsite", 2},
		{"bad --from", base("--from", "tomorrow"), `--from "tomorrow" is not a time`, 2},
		{"bad --to", base("--to", "2026-03-09 25:00"), `--to "2026-03-09 25:00" is not a time`, 2},
		{"makeup with another --to", base("--kind", "makeup"), `--to "2026-03-09 12:00": a makeup (补卡) is one punch at --from`, 2},
		{"makeup on a date", base("--kind", "makeup", "--from", "2026-03-09", "--to", ""), `--from "2026-03-09": a makeup (补卡) is one punch at a time of day`, 2},
		{"list bad month", []string{"register", "list", "--month", "2026-13"}, `--month "2026-13" is not a month YYYY-MM`, 2},
		{"revoke bad id", []string{"register", "revoke", "42", "--by", "x", "--reason", "y"}, `registration ID "42" is not R followed by 8 digits`, 2},
		{"revoke unknown id", []string{"register", "revoke", "R00000099", "--by", "x", "--reason", "y"}, "registration R00000099: no such registration", 1},
		{"revoke without --by", []string{"register", "revoke", "R00000001", "--reason", "y"}, "--by is required", 2},
		{"revoke without --reason", []string{"register", "revoke", "R00000001", "--by", "x"}, "--reason is required", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := f.ctl(t, bkNow, tt.args...)
			cmd := "punchctl " + tt.args[0] + " " + tt.args[1] + ": "
			var errLines []string
			for _, l := range strings.Split(strings.TrimRight(errs, "\n"), "\n") {
				if strings.HasPrefix(l, cmd) {
					errLines = append(errLines, l)
				}
			}
			if code != tt.code || out != "" || len(errLines) != 1 || !strings.Contains(errLines[0], tt.want) {
				t.Errorf("%q = %d\nstdout %q\nstderr %q\nwant %d and one line with %q", tt.args, code, out, errs, tt.code, tt.want)
			}
		})
	}
	db := f.open(t)
	if regs, err := db.Registrations(time.Time{}, time.Time{}); err != nil || len(regs) != 0 {
		t.Errorf("bad input stored registrations: %v %v", regs, err)
	}
}

// TestRegisterViaDaemon: with a daemon answering on the socket, the same commands go through the
// API (client and handler), and say so.
func TestRegisterViaDaemon(t *testing.T) {
	f := newBkFixture(t)
	sb := f.serve(t)
	code, out, errs := f.ctl(t, bkNow, "register", "add", "--user", "1001", "--kind", "meeting",
		"--from", "2026-03-09 08:00", "--to", "2026-03-09 12:00", "--reason", "县委会议", "--by", "党政办", "--json")
	if code != 0 {
		t.Fatalf("register add = %d\n%s%s", code, out, errs)
	}
	if !strings.HasPrefix(errs, "punchctl: via daemon socket "+f.sock+"\n") ||
		!strings.Contains(errs, "the daemon re-judged the days and publishes any corrections") {
		t.Errorf("stderr %q", errs)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got["id"] != "R00000001" || got["kind"] != "meeting" || got["from"] != "2026-03-09T08:00:00+08:00" ||
		got["registered_at"] != "2026-03-10T11:00:00+08:00" || got["name"] != "张三" {
		t.Errorf("via daemon: %v", got)
	}
	// The backend behind the socket stored it and queued the correction.
	if sb.Queued() == 0 {
		t.Error("the daemon-side backend queued no correction")
	}
	regs, err := sb.Registrations(t.Context(), time.Time{}, time.Time{})
	if err != nil || len(regs) != 1 || regs[0].Reason != "县委会议" {
		t.Errorf("stored behind the socket: %+v %v", regs, err)
	}

	code, out, errs = f.ctl(t, bkNow, "register", "revoke", "R00000001", "--by", "王书记", "--reason", "撤销")
	if code != 0 || !strings.Contains(out, "REVOKED by 王书记 at 2026-03-10 11:00") {
		t.Errorf("revoke via daemon: %d %q %q", code, out, errs)
	}
	code, _, errs = f.ctl(t, bkNow, "register", "revoke", "R00000001", "--by", "王书记", "--reason", "撤销")
	if code != 1 || !strings.Contains(lastLine(errs), "was already revoked") {
		t.Errorf("second revoke via daemon: %d %q", code, errs)
	}
	code, out, _ = f.ctl(t, bkNow, "register", "list", "--month", "2026-03", "--json")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"revoked":true`) {
		t.Errorf("list via daemon: %d %q", code, out)
	}
	// An error the daemon itself returns is shown without the API's prefix.
	_, err = sb.AddRegistration(t.Context(), attendance.Registration{UserID: "1001", Kind: "offsite"})
	if err == nil {
		t.Fatal("the backend accepted a registration without times")
	}
	c, closeC, cerr := openBackend(t.Context(), f.cfg, &strings.Builder{})
	if cerr != nil {
		t.Fatal(cerr)
	}
	defer closeC()
	_, err = c.AddRegistration(t.Context(), attendance.Registration{UserID: "1001", Kind: "offsite", From: bkNow})
	if got := daemonErr(err); got == nil || got.Error() != "daemon: registration: to is missing" {
		t.Errorf("daemon error = %v", got)
	}
}
