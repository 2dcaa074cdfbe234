package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/store"
)

func TestMarksRangeAndReplace(t *testing.T) {
	now := time.Date(2021, 4, 1, 9, 0, 0, 0, shanghai)
	db := mustOpen(t, "", store.Options{Location: shanghai, Now: fixedNow(now)})
	d := func(m time.Month, day int) attendance.Date { return attendance.Date{Year: 2021, Month: m, Day: day} }
	put := []attendance.DayMark{
		{Unit: "金碧村", UserID: "2001", Date: d(3, 31), Mark: attendance.MarkPresent, RecordedBy: "王"},
		{Unit: "金碧村", UserID: "2001", Date: d(3, 1), Mark: attendance.MarkAbsent, RecordedBy: "王"},
		{Unit: "金碧村", UserID: "2002", Date: d(4, 1), Mark: attendance.MarkLeave, RecordedBy: "王"},
		{Unit: "金碧", UserID: "2003", Date: d(3, 2), Mark: attendance.MarkTrip, RecordedBy: "王"},
		{Unit: "水务站", UserID: "3001", Date: d(2, 28), Mark: attendance.MarkRest, RecordedBy: "张"},
	}
	if err := db.PutMarks(put); err != nil {
		t.Fatal(err)
	}
	got, err := db.Marks("金碧村", d(3, 1), d(3, 31))
	if err != nil {
		t.Fatal(err)
	}
	// "金碧" is a prefix of "金碧村" as text: the NUL separator keeps it out.
	if len(got) != 2 || got[0].Date != d(3, 1) || got[1].Date != d(3, 31) || !got[0].RecordedAt.Equal(now) {
		t.Fatalf("marks = %+v", got)
	}
	all, err := db.Marks("", d(3, 1), d(3, 31))
	if err != nil || len(all) != 3 {
		t.Fatalf("all units = %+v, %v", all, err)
	}
	// A second mark for the same day replaces the first.
	if err := db.PutMarks([]attendance.DayMark{{Unit: "金碧村", UserID: "2001", Date: d(3, 1), Mark: attendance.MarkPresent, RecordedBy: "李"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Marks("金碧村", d(3, 1), d(3, 1)); len(got) != 1 || got[0].Mark != attendance.MarkPresent || got[0].RecordedBy != "李" {
		t.Fatalf("replaced = %+v", got)
	}
	// One bad mark: nothing of the batch is stored.
	bad := []attendance.DayMark{
		{Unit: "金碧村", UserID: "2005", Date: d(3, 5), Mark: attendance.MarkPresent, RecordedBy: "王"},
		{Unit: "金碧村", UserID: "2005", Date: d(3, 6), Mark: "?", RecordedBy: "王"},
	}
	if err := db.PutMarks(bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad mark: %v", err)
	}
	if got, _ := db.Marks("金碧村", d(3, 5), d(3, 6)); len(got) != 0 {
		t.Fatalf("stored from a rejected batch: %+v", got)
	}
	if err := db.PutMarks([]attendance.DayMark{{Unit: "金碧村", UserID: "2005", Date: d(3, 5), Mark: attendance.MarkPresent}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("no recorded_by: %v", err)
	}
}

func TestFindingsRevoke(t *testing.T) {
	now := time.Date(2021, 3, 20, 10, 0, 0, 0, shanghai)
	db := mustOpen(t, "", store.Options{Location: shanghai, Now: fixedNow(now)})
	f, err := db.AddFinding(attendance.Finding{Date: attendance.Date{Year: 2021, Month: 3, Day: 18}, Unit: "水务站", UserID: "3001",
		Kind: attendance.FindingNegative, Text: "上班时间不在岗", RecordedBy: "督查室 刘"}, nil)
	if err != nil || f.ID != "F00000001" || !f.RecordedAt.Equal(now) {
		t.Fatalf("add = %+v, %v", f, err)
	}
	if _, err := db.AddFinding(attendance.Finding{Date: f.Date, Unit: "水务站", Kind: "neutral", Text: "x", RecordedBy: "刘"}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad kind: %v", err)
	}
	r, err := db.RevokeFinding(f.ID, "督查室 刘", "记错了单位", time.Time{}, nil)
	if err != nil || !r.Revoked() || r.Text != f.Text {
		t.Fatalf("revoke = %+v, %v", r, err)
	}
	if _, err := db.RevokeFinding(f.ID, "刘", "", time.Time{}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("revoked twice: %v", err)
	}
	if _, err := db.RevokeFinding("F00000009", "刘", "", time.Time{}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	list, err := db.Findings(attendance.Date{Year: 2021, Month: 3, Day: 1}, attendance.Date{Year: 2021, Month: 3, Day: 31})
	if err != nil || len(list) != 1 || !list[0].Revoked() || list[0].RevokeReason != "记错了单位" {
		t.Fatalf("list = %+v, %v", list, err)
	}
}
