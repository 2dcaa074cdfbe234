package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/store"
)

func TestRegistrationsHistory(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	day := func(d, h int) time.Time { return time.Date(2021, 3, d, h, 0, 0, 0, shanghai) }
	trip, err := db.AddRegistration(attendance.Registration{UserID: "1001", Kind: attendance.KindTrip, From: day(2, 8), To: day(3, 18),
		Reason: "县里培训", RegisteredBy: "党政办 李", RegisteredAt: day(1, 17)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	makeup, err := db.AddRegistration(attendance.Registration{UserID: "1002", Kind: attendance.KindMakeup, From: day(2, 8).Add(25 * time.Minute),
		Reason: "指纹机未识别", RegisteredBy: "党政办 李"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if trip.ID != "R00000001" || makeup.ID != "R00000002" {
		t.Fatalf("ids %q %q", trip.ID, makeup.ID)
	}
	if !makeup.To.Equal(makeup.From) || !makeup.RegisteredAt.Equal(created) {
		t.Fatalf("makeup To/RegisteredAt not defaulted: %+v", makeup)
	}
	rev, err := db.RevokeRegistration(trip.ID, "党政办 王", "培训取消", day(2, 7), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rev.Revoked() || rev.RevokedBy != "党政办 王" || rev.RevokeReason != "培训取消" || !rev.RevokedAt.Equal(day(2, 7)) {
		t.Fatalf("revocation not recorded: %+v", rev)
	}
	if _, err := db.RevokeRegistration(trip.ID, "x", "again", time.Time{}, nil); !errors.Is(err, store.ErrAlreadyRevoked) {
		t.Fatalf("second revoke: %v, want ErrAlreadyRevoked", err)
	}
	if _, err := db.RevokeRegistration("R00000099", "x", "", time.Time{}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
	if _, err := db.RevokeRegistration("42", "x", "", time.Time{}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("malformed id: %v, want ErrInvalid", err)
	}
	// History: the original is unchanged beside its revocation.
	got, ok, err := db.Registration(trip.ID)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got.Reason != "县里培训" || got.RegisteredBy != "党政办 李" || !got.RegisteredAt.Equal(day(1, 17)) || !got.Revoked() ||
		!got.From.Equal(day(2, 8)) || got.From.Location() != shanghai {
		t.Fatalf("stored registration %+v", got)
	}
	// Ranges: [From, To] overlapping [from, to); revoked ones included and flagged.
	all, _ := db.Registrations(day(3, 0), day(4, 0))
	if len(all) != 1 || all[0].ID != trip.ID || !all[0].Revoked() {
		t.Fatalf("Registrations(day 3) = %+v", all)
	}
	all, _ = db.Registrations(day(2, 0), day(3, 0))
	if len(all) != 2 {
		t.Fatalf("Registrations(day 2) = %+v", all)
	}
	if all, _ := db.Registrations(day(3, 18).Add(time.Second), time.Time{}); len(all) != 0 {
		t.Fatalf("after the trip ended: %+v", all)
	}
	if all, _ := db.Registrations(time.Time{}, day(2, 8)); len(all) != 0 {
		t.Fatalf("`to` is exclusive: %+v", all)
	}
	mine, _ := db.RegistrationsFor("1002", time.Time{}, time.Time{})
	if len(mine) != 1 || mine[0].ID != makeup.ID || mine[0].Revoked() {
		t.Fatalf("RegistrationsFor = %+v", mine)
	}
	// Refusals.
	bad := []attendance.Registration{
		{UserID: "1", Kind: attendance.KindLeave, From: day(2, 8), To: day(1, 8), RegisteredBy: "x"},
		{UserID: "1", Kind: "holiday", From: day(2, 8), To: day(3, 8), RegisteredBy: "x"},
		{UserID: "1", Kind: attendance.KindLeave, From: day(2, 8), To: day(3, 8)},
		{ID: "R00000007", UserID: "1", Kind: attendance.KindLeave, From: day(2, 8), To: day(3, 8), RegisteredBy: "x"},
		{UserID: "1", Kind: attendance.KindLeave, From: day(2, 8), To: day(3, 8), RegisteredBy: "x", RevokedAt: day(2, 9)},
	}
	for i, r := range bad {
		if _, err := db.AddRegistration(r, nil); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad registration %d: %v, want ErrInvalid", i, err)
		}
	}
	if all, _ := db.Registrations(time.Time{}, time.Time{}); len(all) != 2 {
		t.Fatalf("refused registrations were stored: %d", len(all))
	}
}

func TestOutboxOrderTrimAndEvents(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	ctx := context.Background()
	t0 := time.Date(2021, 3, 1, 9, 0, 0, 0, shanghai)
	var entries []store.OutboxEntry
	for i := 0; i < 10; i++ {
		entries = append(entries, store.OutboxEntry{Topic: "p/events/late", Payload: []byte(fmt.Sprint(i)),
			EnqueuedAt: t0.Add(time.Duration(i) * time.Minute), EventID: fmt.Sprint("ev", i), Rev: 1, Hash: []byte{byte(i)}})
	}
	res, err := db.Commit(ctx, store.Batch{Outbox: entries[:5]})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := db.Commit(ctx, store.Batch{Outbox: entries[5:]})
	if err != nil {
		t.Fatal(err)
	}
	seqs := append(res.OutboxSeqs, res2.OutboxSeqs...)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequence not monotonic: %v", seqs)
		}
	}
	got, _ := db.OutboxPeek(3)
	if len(got) != 3 || string(got[0].Payload) != "0" || got[2].Seq != seqs[2] || !got[0].EnqueuedAt.Equal(t0) || got[0].EventID != "ev0" {
		t.Fatalf("peek %+v", got)
	}
	if err := db.OutboxDelete(seqs[0], seqs[1], 999999); err != nil {
		t.Fatal(err)
	}
	if err := db.OutboxDelete(seqs[0]); err != nil { // repeated after a crash: harmless
		t.Fatal(err)
	}
	n, oldest, _ := db.OutboxStats()
	if n != 8 || !oldest.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("stats %d %v", n, oldest)
	}
	// Trim: by age (older than 4 minutes at 09:10 → entries at 09:02..09:05 go) then by count.
	dropped, err := db.OutboxTrim(0, 4*time.Minute+30*time.Second, t0.Add(10*time.Minute))
	if err != nil || dropped != 4 {
		t.Fatalf("trim by age dropped %d, %v; want 4", dropped, err)
	}
	dropped, _ = db.OutboxTrim(3, 0, time.Time{})
	if dropped != 1 {
		t.Fatalf("trim by count dropped %d, want 1", dropped)
	}
	left, _ := db.OutboxPeek(100)
	if len(left) != 3 || string(left[0].Payload) != "7" {
		t.Fatalf("left after trims: %+v", left)
	}
	// Published index: an acknowledged event keeps its hash; a trimmed one loses it.
	if rev, h, ok, _ := db.PublishedEvent("ev0"); !ok || rev != 1 || !bytes.Equal(h, []byte{0}) {
		t.Fatalf("ev0: %d %x %v", rev, h, ok)
	}
	if rev, h, ok, _ := db.PublishedEvent("ev3"); !ok || rev != 1 || h != nil {
		t.Fatalf("trimmed ev3: %d %x %v (want rev 1, nil hash)", rev, h, ok)
	}
	if _, _, ok, _ := db.PublishedEvent("never"); ok {
		t.Fatal("unknown event found")
	}
	// A correction must raise the rev.
	_, err = db.Commit(ctx, store.Batch{Outbox: []store.OutboxEntry{{Topic: "p/events/late", EventID: "ev0", Rev: 1}}})
	if !errors.Is(err, store.ErrStaleRev) {
		t.Fatalf("same rev again: %v, want ErrStaleRev", err)
	}
	if _, err := db.Commit(ctx, store.Batch{Outbox: []store.OutboxEntry{{Topic: "p/events/late", EventID: "ev0", Rev: 2, Hash: []byte{9}}}}); err != nil {
		t.Fatal(err)
	}
	if rev, h, _, _ := db.PublishedEvent("ev0"); rev != 2 || !bytes.Equal(h, []byte{9}) {
		t.Fatalf("after correction: %d %x", rev, h)
	}
	// Coalescing: a newer status with the same Key replaces the pending one.
	for i := 0; i < 3; i++ {
		if _, err := db.Commit(ctx, store.Batch{Outbox: []store.OutboxEntry{{Topic: "p/clocks/dzb/status", Retained: true, Key: "status/dzb", Payload: []byte(fmt.Sprint("s", i))}}}); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := db.OutboxPeek(100)
	var statuses []string
	for _, e := range all {
		if e.Key == "status/dzb" {
			statuses = append(statuses, string(e.Payload))
			if !e.Retained {
				t.Fatal("retained flag lost")
			}
		}
	}
	if len(statuses) != 1 || statuses[0] != "s2" {
		t.Fatalf("coalesced statuses %v, want [s2]", statuses)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
