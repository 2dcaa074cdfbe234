package punchio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestWriteJSONLine(t *testing.T) {
	var b bytes.Buffer
	p := device.Punch{Clock: "X", UserID: "A1023", Time: time.Date(2026, 5, 6, 8, 31, 5, 0, shanghai), State: 1, Verify: 15, WorkCode: 7, Raw: []byte{1}}
	if err := WriteJSONLine(&b, p); err != nil {
		t.Fatal(err)
	}
	want := `{"user_id":"A1023","time":"2026-05-06T08:31:05+08:00","state":1,"verify":15,"workcode":7}` + "\n"
	if b.String() != want {
		t.Errorf("got  %swant %s", b.String(), want)
	}
}

func TestRoundTrip(t *testing.T) {
	in := []device.Punch{
		{UserID: "1001", Time: time.Date(2026, 5, 6, 8, 31, 5, 0, shanghai)},
		{UserID: "张三", Time: time.Date(2026, 12, 31, 23, 59, 59, 0, shanghai), State: 255, Verify: 1, WorkCode: 4294967295},
		{UserID: "1001", Time: time.Date(2026, 5, 6, 8, 31, 5, 0, shanghai)}, // duplicates are kept: the dump is the clock's log as is
	}
	var b bytes.Buffer
	for _, p := range in {
		if err := WriteJSONLine(&b, p); err != nil {
			t.Fatal(err)
		}
	}
	out, err := ReadJSONLines(iotest.HalfReader(&b), "dump.jsonl", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("read %d punches, wrote %d", len(out), len(in))
	}
	for i := range in {
		o := out[i]
		if o.UserID != in[i].UserID || !o.Time.Equal(in[i].Time) || o.Time.Location() != shanghai ||
			o.State != in[i].State || o.Verify != in[i].Verify || o.WorkCode != in[i].WorkCode {
			t.Errorf("punch %d = %+v, want %+v", i, o, in[i])
		}
	}
}

func TestReadJSONLinesZones(t *testing.T) {
	src := "\ufeff" + `{"user_id":"1","time":"2026-05-06T00:31:05Z","clock":"SN1","extra":true}` + "\n\n" +
		`{"user_id":"2","time":"2026-05-06T08:31"}` + "\r\n"
	out, err := ReadJSONLines(strings.NewReader(src), "p", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("got %+v", out)
	}
	if got := out[0].Time.Format(time.RFC3339); got != "2026-05-06T08:31:05+08:00" || out[0].Clock != "SN1" {
		t.Errorf("UTC line read as %s clock %q", got, out[0].Clock)
	}
	if got := out[1].Time.Format(time.RFC3339); got != "2026-05-06T08:31:00+08:00" {
		t.Errorf("local line read as %s", got)
	}
}

func TestReadJSONLinesErrors(t *testing.T) {
	good := `{"user_id":"1","time":"2026-05-06T08:31:05+08:00"}` + "\n"
	tests := []struct{ name, src, want string }{
		{"not json", good + "user 1 at 8:31\n", `p.jsonl:2: bad line: not a JSON object: invalid character 'u' looking for beginning of value`},
		{"array", good + good + "[1]\n", `p.jsonl:3: bad line: not a JSON object but array`},
		{"no user", `{"time":"2026-05-06T08:31:05+08:00"}`, `p.jsonl:1: bad line: no "user_id"`},
		{"empty user", `{"user_id":" ","time":"2026-05-06T08:31:05+08:00"}`, `p.jsonl:1: bad line: "user_id" is empty`},
		{"no time", `{"user_id":"1"}`, `p.jsonl:1: bad line: no "time"`},
		{"bad time", "\n" + `{"user_id":"1","time":"06/05/2026 08:31"}`, `p.jsonl:2: bad line: "time": "06/05/2026 08:31" is not a time in RFC 3339 (2006-01-02T15:04:05+08:00) or 2006-01-02T15:04[:05]`},
		{"state range", `{"user_id":"1","time":"2026-05-06T08:31:05+08:00","state":300}`, `p.jsonl:1: bad line: "state": number 300 is not a uint8`},
		{"user id number", `{"user_id":1001,"time":"2026-05-06T08:31:05+08:00"}`, `p.jsonl:1: bad line: "user_id": number is not a string`},
		{"trailing", good[:len(good)-1] + ` {}`, `p.jsonl:1: bad line: not a JSON object: invalid character '{' after top-level value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ReadJSONLines(strings.NewReader(tt.src), "p.jsonl", shanghai)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant  %s", err, tt.want)
			}
			if !errors.Is(err, ErrBadLine) || out != nil {
				t.Errorf("err %v not ErrBadLine or partial result %v", err, out)
			}
		})
	}
	long := `{"user_id":"` + strings.Repeat("x", maxLine) + `"}`
	if _, err := ReadJSONLines(strings.NewReader(good+long), "p.jsonl", shanghai); err == nil || !strings.HasPrefix(err.Error(), "p.jsonl:2: bad line: longer than") {
		t.Errorf("long line: err = %v", err)
	}
}

func TestReadRegistrations(t *testing.T) {
	src := `{"user_id":"1001","kind":"offsite","from":"2026-05-06T08:00:00+08:00","to":"2026-05-06T12:00:00+08:00","reason":"下村","registered_by":"党政办","via":"phone","approved_by":"李镇长","registered_at":"2026-05-08 09:30"}
{"id":"R7","user_id":"1002","kind":"leave","from":"2026-05-06","to":"2026-05-07","reason":"病假","registered_by":"王"}
{"user_id":"1003","kind":"makeup","from":"2026-05-06 08:25","reason":"忘打卡","registered_by":"王"}
`
	regs, err := ReadRegistrations(strings.NewReader(src), "/tmp/x/regs.jsonl", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 3 {
		t.Fatalf("got %+v", regs)
	}
	r := regs[0]
	if r.ID != "regs.jsonl:1" || r.Kind != attendance.KindOffsite || r.From.Hour() != 8 || r.To.Hour() != 12 || r.Reason != "下村" || r.RegisteredBy != "党政办" ||
		r.Via != attendance.ViaPhone || r.ApprovedBy != "李镇长" || !r.RegisteredAt.Equal(time.Date(2026, 5, 8, 9, 30, 0, 0, shanghai)) {
		t.Errorf("reg 0 = %+v", r)
	}
	if r := regs[1]; r.Via != "" || r.ApprovedBy != "" || !r.RegisteredAt.IsZero() {
		t.Errorf("reg 1 without via, approved_by, registered_at = %+v", r)
	}
	r = regs[1]
	if r.ID != "R7" || !r.From.Equal(time.Date(2026, 5, 6, 0, 0, 0, 0, shanghai)) || !r.To.Equal(time.Date(2026, 5, 7, 23, 59, 59, 0, shanghai)) {
		t.Errorf("reg 1 = %+v", r)
	}
	r = regs[2]
	if r.Kind != attendance.KindMakeup || !r.From.Equal(time.Date(2026, 5, 6, 8, 25, 0, 0, shanghai)) || !r.To.Equal(r.From) {
		t.Errorf("reg 2 = %+v", r)
	}
}

func TestReadRegistrationsErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"kind", `{"user_id":"1","kind":"holiday","from":"2026-05-06","to":"2026-05-06"}`, `r:1: bad line: registration kind "holiday" is not one of offsite, trip, leave, meeting, makeup, return`},
		{"no from", `{"user_id":"1","kind":"leave","to":"2026-05-06"}`, `r:1: bad line: no "from"`},
		{"no to", `{"user_id":"1","kind":"leave","from":"2026-05-06"}`, `r:1: bad line: no "to"`},
		{"ends before start", `{"user_id":"1","kind":"trip","from":"2026-05-07","to":"2026-05-06"}`, `r:1: bad line: to 2026-05-06T23:59:59+08:00 is before from 2026-05-07T00:00:00+08:00`},
		{"no user", `{"kind":"trip","from":"2026-05-07","to":"2026-05-08"}`, `r:1: bad line: user_id is empty`},
		{"bad to", `{"user_id":"1","kind":"trip","from":"2026-05-07","to":"tomorrow"}`, `r:1: bad line: "to": "tomorrow" is not a time in RFC 3339 (2006-01-02T15:04:05+08:00) or 2006-01-02T15:04[:05]`},
		{"via", `{"user_id":"1","kind":"trip","from":"2026-05-07","to":"2026-05-08","via":"email"}`, `r:1: bad line: "via": "email" is not written or phone`},
		{"registered_at", `{"user_id":"1","kind":"trip","from":"2026-05-07","to":"2026-05-08","registered_at":"later"}`, `r:1: bad line: "registered_at": "later" is not a time in RFC 3339 (2006-01-02T15:04:05+08:00) or 2006-01-02T15:04[:05]`},
		{"dup id", `{"id":"a","user_id":"1","kind":"trip","from":"2026-05-07","to":"2026-05-08"}` + "\n" + `{"id":"a","user_id":"2","kind":"trip","from":"2026-05-07","to":"2026-05-08"}`, `r:2: bad line: id "a" repeats line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRegistrations(strings.NewReader(tt.src), "r", shanghai)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant  %s", err, tt.want)
			}
		})
	}
}

func FuzzReadJSONLines(f *testing.F) {
	f.Add(`{"user_id":"1","time":"2026-05-06T08:31:05+08:00","state":1,"verify":1,"workcode":0}`)
	f.Add(`{"user_id":"A1","time":"2026-05-06 08:31"}` + "\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ReadJSONLines(strings.NewReader(s), "f", shanghai)
		if err != nil {
			return
		}
		// What was read writes back and reads again to the same punches.
		var b bytes.Buffer
		for _, p := range out {
			if err := WriteJSONLine(&b, p); err != nil {
				t.Fatal(err)
			}
		}
		again, err := ReadJSONLines(&b, "f2", shanghai)
		if err != nil || len(again) != len(out) {
			t.Fatalf("re-read: %v (%d vs %d)", err, len(again), len(out))
		}
		for i := range out {
			if again[i].UserID != out[i].UserID || !again[i].Time.Truncate(time.Second).Equal(out[i].Time.Truncate(time.Second)) {
				t.Fatalf("punch %d changed: %+v -> %+v", i, out[i], again[i])
			}
		}
	})
}
