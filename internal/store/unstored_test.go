package store

import (
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

func TestUnstored(t *testing.T) {
	db, err := Open(t.TempDir()+"/u.db", Options{Location: time.UTC, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 3, 2, 8, 20, 0, 0, time.UTC)
	a := device.Punch{Clock: "SN1", UserID: "A1023", Time: at, Verify: 1}
	b := device.Punch{Clock: "SN1", UserID: "7", Time: at.Add(time.Minute), Verify: 1}
	c := device.Punch{Clock: "SN2", UserID: "7", Time: at, Verify: 1}
	if _, err := db.Commit(t.Context(), Batch{Punches: []device.Punch{a}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Unstored(t.Context(), []device.Punch{a, b, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key() != b.Key() || got[1].Key() != c.Key() {
		t.Fatalf("Unstored = %+v, want b and c once each", got)
	}
}

func TestJudged(t *testing.T) {
	db, err := Open(t.TempDir()+"/j.db", Options{Location: time.UTC, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutClockUsers("c1", []device.User{{UID: 1, UserID: "A1023", Name: "张伟"}}); err != nil {
		t.Fatal(err)
	}
	// No roster: whoever the clock knows is judged, nobody else.
	if ok, err := db.Judged("A1023"); err != nil || !ok {
		t.Fatalf("Judged(A1023) with no roster = %v, %v", ok, err)
	}
	if ok, _ := db.Judged("nobody"); ok {
		t.Fatal("a stranger is judged")
	}
	// With a roster, only the roster counts.
	if err := db.PutRoster([]attendance.Person{{UserID: "7", Name: "李娜", Tracking: attendance.TrackClock}}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.Judged("A1023"); ok {
		t.Fatal("a clock user off the roster is judged once a roster exists")
	}
	if ok, _ := db.Judged("7"); !ok {
		t.Fatal("a roster person is not judged")
	}
}
