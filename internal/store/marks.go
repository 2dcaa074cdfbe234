package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/internal/attendance"
)

// Buckets added after schema version 2 without a migration: a writable Open creates them, and a
// read-only Open of an older file reads them as empty.
var (
	bMarks    = []byte("marks")
	bFindings = []byte("findings")
	bAccounts = []byte("accounts")
	bAudit    = []byte("audit")
	bSessions = []byte("sessions")

	addedBuckets = [][]byte{bMarks, bFindings, bAccounts, bAudit, bSessions}
)

// maxUnit bounds a unit name in keys.
const maxUnit = 128

func checkUnit(unit string) error {
	switch {
	case strings.TrimSpace(unit) == "":
		return fmt.Errorf("%w: empty unit", ErrInvalid)
	case len(unit) > maxUnit:
		return fmt.Errorf("%w: unit %q longer than %d bytes", ErrInvalid, unit, maxUnit)
	case strings.IndexByte(unit, 0) >= 0:
		return fmt.Errorf("%w: unit %q contains a NUL byte", ErrInvalid, unit)
	}
	return nil
}

// markKey is unit 0x00 | u16 year | u8 month | u8 day | user.
func markKey(unit string, d attendance.Date, user string) []byte {
	k := make([]byte, 0, len(unit)+1+4+len(user))
	k = append(append(k, unit...), 0)
	return append(dateKey(k, d), user...)
}

// PutMarks stores the marks in one transaction: all of them or, on any error, none. A mark for the
// same unit, person and day replaces the earlier one. Every mark needs a unit, a user id, a valid
// date, a known mark and who recorded it; a zero RecordedAt becomes Options.Now(). Commit stores
// marks the same way, with the events they raise (Batch.Marks).
func (db *DB) PutMarks(marks []attendance.DayMark) error {
	if err := db.checkMarks(marks); err != nil {
		return fmt.Errorf("store %s: put marks: %w", db.path, err)
	}
	return db.update("put marks", func(tx *bolt.Tx) error { return putMarks(tx, marks) })
}

// checkMarks validates marks and fills a zero RecordedAt.
func (db *DB) checkMarks(marks []attendance.DayMark) error {
	now := db.opts.Now()
	for i := range marks {
		m := &marks[i]
		if err := checkUnit(m.Unit); err != nil {
			return err
		}
		if err := checkUserID(m.UserID); err != nil {
			return err
		}
		if err := checkDate(m.Date); err != nil {
			return err
		}
		if _, err := attendance.ParseUnitMark(string(m.Mark)); err != nil || m.Mark == "" {
			return fmt.Errorf("%w: mark %q for %s on %s", ErrInvalid, m.Mark, m.UserID, m.Date)
		}
		if strings.TrimSpace(m.RecordedBy) == "" {
			return fmt.Errorf("marks for %s: %w: recorded_by is empty", m.UserID, ErrInvalid)
		}
		if m.RecordedAt.IsZero() {
			m.RecordedAt = now
		}
	}
	return nil
}

func putMarks(tx *bolt.Tx, marks []attendance.DayMark) error {
	b := tx.Bucket(bMarks)
	for _, m := range marks {
		v, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := b.Put(markKey(m.Unit, m.Date, m.UserID), v); err != nil {
			return err
		}
	}
	return nil
}

// Marks returns the marks of unit ("" = every unit) for the days from..to, by unit, date and user.
func (db *DB) Marks(unit string, from, to attendance.Date) ([]attendance.DayMark, error) {
	var out []attendance.DayMark
	err := db.view("marks", func(tx *bolt.Tx) error {
		b := tx.Bucket(bMarks)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var prefix, start []byte
		if unit != "" {
			prefix = append([]byte(unit), 0)
			start = markKey(unit, from, "")
		}
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			sep := bytes.IndexByte(k, 0)
			if sep < 0 || len(k) < sep+5 {
				return fmt.Errorf("%w: marks key %x", ErrInconsistent, k)
			}
			d := dateFromKey(k[sep+1:])
			if d.After(to) && unit != "" {
				break
			}
			if d.Before(from) || d.After(to) {
				continue // another unit's range (unit == "")
			}
			var m attendance.DayMark
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%w: mark %x: %v", ErrInconsistent, k, err)
			}
			m.RecordedAt = db.in(m.RecordedAt)
			out = append(out, m)
		}
		return nil
	})
	return out, err
}
