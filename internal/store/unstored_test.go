package store

import (
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
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
