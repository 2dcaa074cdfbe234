package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/store"
)

func TestAccounts(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	a := store.Account{Name: "wang", Role: "clerk", Hash: []byte("$2a$..."), Created: created, Changed: created}
	if err := db.AddAccount(a); err != nil {
		t.Fatal(err)
	}
	if err := db.AddAccount(a); !errors.Is(err, store.ErrExists) {
		t.Errorf("second AddAccount = %v, want ErrExists", err)
	}
	if err := db.AddAccount(store.Account{Name: "li", Role: "viewer"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddAccount without a hash = %v, want ErrInvalid", err)
	}
	a.Role = "viewer"
	if err := db.UpdateAccount(a); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateAccount(store.Account{Name: "nobody", Role: "viewer", Hash: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateAccount of nobody = %v, want ErrNotFound", err)
	}
	got, ok, err := db.Account("wang")
	if err != nil || !ok || got.Role != "viewer" || string(got.Hash) != "$2a$..." {
		t.Errorf("Account(wang) = %+v %v %v", got, ok, err)
	}
	if err := db.RemoveAccount("wang"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveAccount("wang"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second RemoveAccount = %v, want ErrNotFound", err)
	}
	if all, err := db.Accounts(); err != nil || len(all) != 0 {
		t.Errorf("Accounts after removal = %v %v", all, err)
	}
}

func TestAuditQueuesItsMessage(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	now := created
	log := audit.New(db, audit.Options{Prefix: "punchd/jinbi", Site: "jinbi", Now: func() time.Time { return now }})
	ctx := audit.WithActor(context.Background(), audit.Actor{Name: "wang", Role: "clerk", From: "10.0.0.7", Via: audit.ViaWeb})
	e, err := log.Record(ctx, audit.RegistrationAdd, "R00000001", "1001 leave")
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "A00000001" || e.Who != "wang" || e.From != "10.0.0.7" || !e.At.Equal(created) {
		t.Errorf("recorded %+v", e)
	}
	now = created.Add(time.Hour)
	if _, err := log.Record(context.Background(), audit.AccountAdd, "li", ""); err != nil {
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
