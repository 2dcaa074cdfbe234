package zkpush_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jinbi/punchd/device/zkpush"
)

// FuzzParseAttLog: any line parses to a punch or to ErrMalformed/ErrBadDate, never a panic; a
// punch has a user id, a real time in the zone, and keeps its line.
func FuzzParseAttLog(f *testing.F) {
	for _, s := range []string{
		"1001\t2026-03-02 08:41:00\t0\t1\t0\t0\t0",
		"A1023\t2021-03-01 08:42:00\t1\t15",
		"7\t2026-03-02 08:41:00",
		"1001\t2026-02-30 08:00:00\t0\t1",
		"1001\t2026-03-0",
		"\t\t\t",
		"1001\t2026-03-02 08:41:00\t300\t1",
		"1001\t2026-03-02 08:41:00\t0\t1\twork\r",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p, err := zkpush.ParseAttLog(line, "SN1", cst)
		if err != nil {
			if !errors.Is(err, zkpush.ErrMalformed) && !errors.Is(err, zkpush.ErrBadDate) {
				t.Fatalf("%q: error %v is neither malformed nor a bad date", line, err)
			}
			return
		}
		if p.UserID == "" || strings.ContainsAny(p.UserID, "\t\n") || p.Clock != "SN1" || string(p.Raw) != line {
			t.Fatalf("%q: punch %+v", line, p)
		}
		if p.Time.Location() != cst || p.Time.Nanosecond() != 0 {
			t.Fatalf("%q: time %v not whole seconds in the zone", line, p.Time)
		}
		if got := p.Time.Format("2006-01-02 15:04:05"); !strings.Contains(line, got) {
			t.Fatalf("%q: time %s is not the line's", line, got)
		}
	})
}

// FuzzParseOperLogLine: any line is a user change, nothing, or ErrMalformedOperLog, never a
// panic; a change names a user, and only a removal or a user record is one.
func FuzzParseOperLogLine(f *testing.F) {
	for _, s := range []string{
		"OPLOG 9\t0\t2026-03-02 09:01:00\t1003\t0\t0\t0",
		"OPLOG 103\t0\t2026-03-02 09:01:00\t1003",
		"OPLOG 4\t0\t2026-03-02 09:00:00\t0\t0\t0\t0",
		"OPLOG x",
		"USER PIN=1001\tName=张三\tPri=14\tPasswd=\tCard=77\tGrp=1\tTZ=0000000000000000",
		"PIN=1005\tName=孙七\tPrivilege=14\tCard=",
		"USER Name=nobody\tPri=0",
		"FP PIN=1001\tFID=6\tSize=4\tValid=1\tTMP=QUJD",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, ok, err := zkpush.ParseOperLogLine(line)
		switch {
		case err != nil:
			if !errors.Is(err, zkpush.ErrMalformedOperLog) || ok {
				t.Fatalf("%q: error %v (ok %v)", line, err, ok)
			}
		case ok:
			if c.User.UserID == "" || !strings.Contains(line, c.User.UserID) {
				t.Fatalf("%q: change %+v names no user of the line", line, c)
			}
			if c.Removed != strings.HasPrefix(line, "OPLOG ") {
				t.Fatalf("%q: change %+v", line, c)
			}
		}
	})
}
