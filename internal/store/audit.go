package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/internal/audit"
)

// AuditID formats a sequence number as an audit entry id ("A00000042").
func AuditID(seq uint64) string { return auditIDs.format(seq) }

// Change is what a person's change (a registration, a mark, a finding, an account, the roster) is
// stored with, in the change's own transaction: the audit entries that record it and the events it
// raises or retracts. Either the change, its entries, their messages and its events are all stored,
// or none of them. Each entry gets its ID in place, and an entry without a Target the id of the
// record the change creates; its message is queued on its Note's topic with its own event id.
// A nil *Change stores the change alone (the daemon's own writes, tests).
type Change struct {
	Audit  []audit.Note
	Outbox []OutboxEntry
}

func (c *Change) check() error {
	if c == nil {
		return nil
	}
	for i, n := range c.Audit {
		switch {
		case n.Entry.ID != "":
			return fmt.Errorf("audit entry %d: %w: id %q given (ids are assigned by the store)", i, ErrInvalid, n.Entry.ID)
		case n.Topic == "":
			return fmt.Errorf("audit entry %d (%s): %w: no topic", i, n.Entry.Action, ErrInvalid)
		}
		if err := n.Entry.Validate(); err != nil {
			return fmt.Errorf("audit entry %d: %w: %v", i, ErrInvalid, err)
		}
	}
	for i, e := range c.Outbox {
		if err := validateEntry(i, e); err != nil {
			return err
		}
	}
	return nil
}

// change runs fn, which stores a person's change and returns the id of the record it created (if
// any), and stores c with it, in one transaction.
func (db *DB) change(op string, c *Change, fn func(tx *bolt.Tx) (created string, err error)) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("store %s: %s: %w", db.path, op, err)
	}
	now := db.opts.Now()
	err := db.update(op, func(tx *bolt.Tx) error {
		created, err := fn(tx)
		if err != nil || c == nil {
			return err
		}
		if err := putAudit(tx, c.Audit, created, now); err != nil {
			return err
		}
		_, err = putOutbox(tx, c.Outbox, now)
		return err
	})
	if err == nil && c != nil {
		for i := range c.Audit {
			c.Audit[i].Entry.At = db.in(c.Audit[i].Entry.At)
		}
	}
	return err
}

// putAudit stores the entries, each with a new id (and created as its target when it has none),
// and queues their messages (QoS 1, their own event ids).
func putAudit(tx *bolt.Tx, notes []audit.Note, created string, now time.Time) error {
	for i := range notes {
		e := &notes[i].Entry
		if e.Target == "" {
			e.Target = created
		}
		if _, err := appendRecord(tx.Bucket(bAudit), e, func(seq uint64) { e.ID = AuditID(seq) }); err != nil {
			return err
		}
		payload, err := e.Payload()
		if err != nil {
			return err
		}
		if _, err := putOutbox(tx, []OutboxEntry{{Topic: notes[i].Topic, Payload: payload, EventID: e.EventID(), Rev: 1}}, now); err != nil {
			return err
		}
	}
	return nil
}

// Audit returns the entries recorded in [from, to) (a zero bound is open), oldest first, at most
// limit of them (the newest ones; 0: all).
func (db *DB) Audit(from, to time.Time, limit int) ([]audit.Entry, error) {
	var out []audit.Entry
	err := db.view("read audit", func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var e audit.Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: audit entry %d: %v", ErrInconsistent, binary.BigEndian.Uint64(k), err)
			}
			if !to.IsZero() && !e.At.Before(to) {
				continue
			}
			if !from.IsZero() && e.At.Before(from) {
				break // entries are appended in time order
			}
			e.At = db.in(e.At)
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}
