package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/internal/audit"
)

var _ audit.Appender = (*DB)(nil)

// AuditID formats a sequence number as an audit entry id ("A00000042").
func AuditID(seq uint64) string { return fmt.Sprintf("A%08d", seq) }

// AppendAudit stores e with a new id and queues its message on topic (QoS 1, its own event id) in
// the same transaction, so an entry is never recorded without being published or the reverse.
func (db *DB) AppendAudit(e audit.Entry, topic string) (audit.Entry, error) {
	if e.ID != "" {
		return e, fmt.Errorf("store %s: append audit: %w: id %q given (ids are assigned by the store)", db.path, ErrInvalid, e.ID)
	}
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("store %s: append audit: %w: %v", db.path, ErrInvalid, err)
	}
	err := db.update("append audit", func(tx *bolt.Tx) error {
		if _, err := appendRecord(tx.Bucket(bAudit), &e, func(seq uint64) { e.ID = AuditID(seq) }); err != nil {
			return err
		}
		payload, err := e.Payload()
		if err != nil {
			return err
		}
		_, err = putOutbox(tx, []OutboxEntry{{Topic: topic, Payload: payload, EventID: e.EventID(), Rev: 1}}, db.opts.Now())
		return err
	})
	if err != nil {
		return audit.Entry{}, err
	}
	e.At = db.in(e.At)
	return e, nil
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
