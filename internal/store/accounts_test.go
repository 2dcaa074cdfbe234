package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/store"
)

func TestAccounts(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	a := store.Account{Name: "wang", Role: "clerk", Hash: []byte("$2a$..."), Created: created, Changed: created}
	if err := db.AddAccount(a, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.AddAccount(a, nil); !errors.Is(err, store.ErrExists) {
		t.Errorf("second AddAccount = %v, want ErrExists", err)
	}
	if err := db.AddAccount(store.Account{Name: "li", Role: "viewer"}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddAccount without a hash = %v, want ErrInvalid", err)
	}
	a.Role = "viewer"
	if err := db.UpdateAccount(a, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateAccount(store.Account{Name: "nobody", Role: "viewer", Hash: []byte("x")}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateAccount of nobody = %v, want ErrNotFound", err)
	}
	got, ok, err := db.Account("wang")
	if err != nil || !ok || got.Role != "viewer" || string(got.Hash) != "$2a$..." {
		t.Errorf("Account(wang) = %+v %v %v", got, ok, err)
	}
	if err := db.RemoveAccount("wang", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveAccount("wang", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second RemoveAccount = %v, want ErrNotFound", err)
	}
	if all, err := db.Accounts(); err != nil || len(all) != 0 {
		t.Errorf("Accounts after removal = %v %v", all, err)
	}
}

func TestAuditQueuesItsMessage(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	now := created
	log := audit.New(audit.Options{Prefix: "punchd/jinbi", Site: "jinbi", Now: func() time.Time { return now }})
	ctx := audit.WithActor(context.Background(), audit.Actor{Name: "wang", Role: "clerk", From: "10.0.0.7", Via: audit.ViaWeb})
	n, err := log.Note(ctx, audit.RegistrationAdd, "", "1001 leave")
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Change{Audit: []audit.Note{n}}
	r, err := db.AddRegistration(leave("1001", 9), c)
	if err != nil {
		t.Fatal(err)
	}
	// The entry names the registration the store created, with the id it was given.
	if e := c.Audit[0].Entry; e.ID != "A00000001" || e.Target != r.ID || r.ID != "R00000001" || e.Who != "wang" || e.From != "10.0.0.7" || !e.At.Equal(created) {
		t.Errorf("recorded %+v for %s", e, r.ID)
	}
	now = created.Add(time.Hour)
	n, err = log.Note(context.Background(), audit.AccountAdd, "li", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddAccount(store.Account{Name: "li", Role: "viewer", Hash: []byte("x")}, &store.Change{Audit: []audit.Note{n}}); err != nil {
		t.Fatal(err)
	}
	entries, err := db.Audit(time.Time{}, time.Time{}, 0)
	if err != nil || len(entries) != 2 || entries[1].Who != audit.Unknown.Name {
		t.Fatalf("Audit = %+v %v (a change without an actor is recorded as unknown)", entries, err)
	}
	if got, _ := db.Audit(created.Add(time.Minute), time.Time{}, 0); len(got) != 1 || got[0].ID != "A00000002" {
		t.Errorf("Audit from a minute later = %+v", got)
	}
	if got, _ := db.Audit(time.Time{}, time.Time{}, 1); len(got) != 1 || got[0].ID != "A00000002" {
		t.Errorf("Audit limit 1 = %+v (want the newest)", got)
	}
	ob, err := db.OutboxPeek(10)
	if err != nil || len(ob) != 2 {
		t.Fatalf("outbox = %+v %v", ob, err)
	}
	var pub audit.Entry
	if err := json.Unmarshal(ob[0].Payload, &pub); err != nil {
		t.Fatal(err)
	}
	if ob[0].Topic != "punchd/jinbi/audit" || ob[0].EventID != "audit/A00000001" || pub.ID != "A00000001" || pub.Action != audit.RegistrationAdd || pub.Site != "jinbi" {
		t.Errorf("queued %s %s %+v", ob[0].Topic, ob[0].EventID, pub)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

// A change, its audit entry, the entry's message and the change's events are stored in one
// transaction: when any part fails, none of it is stored.
func TestChangeAllOrNothing(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	log := audit.New(audit.Options{Prefix: "p", Site: "jinbi", Now: func() time.Time { return created }})
	ctx := audit.WithActor(context.Background(), audit.Actor{Name: "wang", From: "local", Via: audit.ViaCLI})
	ev := store.OutboxEntry{Topic: "p/events/conflict", Payload: []byte("{}"), EventID: "jinbi/2001/2026-03-09//conflict", Rev: 1}
	if _, err := db.Commit(ctx, store.Batch{Outbox: []store.OutboxEntry{ev}}); err != nil {
		t.Fatal(err)
	}
	before, err := db.OutboxPeek(10)
	if err != nil {
		t.Fatal(err)
	}
	n, err := log.Note(ctx, audit.RegistrationAdd, "", "2001 return")
	if err != nil {
		t.Fatal(err)
	}
	// The event's revision is stale: found inside the transaction, after the registration and
	// the entry were written in it.
	_, err = db.AddRegistration(leave("1001", 9), &store.Change{Audit: []audit.Note{n}, Outbox: []store.OutboxEntry{ev}})
	if !errors.Is(err, store.ErrStaleRev) {
		t.Fatalf("AddRegistration with a stale event = %v, want ErrStaleRev", err)
	}
	regs, err := db.Registrations(time.Time{}, time.Time{})
	if err != nil || len(regs) != 0 {
		t.Errorf("registrations after the failed change: %+v %v", regs, err)
	}
	if got, err := db.Audit(time.Time{}, time.Time{}, 0); err != nil || len(got) != 0 {
		t.Errorf("audit after the failed change: %+v %v", got, err)
	}
	if after, err := db.OutboxPeek(10); err != nil || len(after) != len(before) {
		t.Errorf("outbox after the failed change: %d entries, %d before (%v)", len(after), len(before), err)
	}
	// A note the store cannot publish is refused before anything is written.
	n.Topic = ""
	if err := db.RemoveAccount("nobody", &store.Change{Audit: []audit.Note{n}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a note without a topic = %v, want ErrInvalid", err)
	}
}

// leave is a day's leave of user on March day.
func leave(user string, day int) attendance.Registration {
	from := time.Date(2021, 3, day, 8, 0, 0, 0, shanghai)
	return attendance.Registration{UserID: user, Kind: attendance.KindLeave, From: from, To: from.Add(9 * time.Hour), Reason: "病假", RegisteredBy: "办公室"}
}
