package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/internal/attendance"
)

// FindingID formats a sequence number as a finding id ("F00000007").
func FindingID(seq uint64) string { return findingIDs.format(seq) }

// AddFinding stores a finding of a check on site and returns it with its id. Date, unit, kind, text
// and RecordedBy are required; a zero RecordedAt becomes Options.Now(). c is stored with it (an
// audit entry without a target gets its id).
func (db *DB) AddFinding(f attendance.Finding, c *Change) (attendance.Finding, error) {
	fail := func(format string, a ...any) (attendance.Finding, error) {
		return f, fmt.Errorf("store %s: add finding: %w: %s", db.path, ErrInvalid, fmt.Sprintf(format, a...))
	}
	switch {
	case f.ID != "":
		return fail("id %q given (ids are assigned by the store)", f.ID)
	case f.Revoked() || f.RevokedBy != "":
		return fail("revocation fields set (use RevokeFinding)")
	case f.Kind != attendance.FindingPositive && f.Kind != attendance.FindingNegative:
		return fail("kind %q is not positive or negative", f.Kind)
	case strings.TrimSpace(f.Text) == "":
		return fail("text is empty")
	case strings.TrimSpace(f.RecordedBy) == "":
		return fail("recorded_by is empty")
	}
	if err := checkDate(f.Date); err != nil {
		return f, fmt.Errorf("store %s: add finding: %w", db.path, err)
	}
	if err := checkUnit(f.Unit); err != nil {
		return f, fmt.Errorf("store %s: add finding: %w", db.path, err)
	}
	if f.UserID != "" {
		if err := checkUserID(f.UserID); err != nil {
			return f, fmt.Errorf("store %s: add finding: %w", db.path, err)
		}
	}
	if f.RecordedAt.IsZero() {
		f.RecordedAt = db.opts.Now()
	}
	err := db.change("add finding", c, func(tx *bolt.Tx) (string, error) {
		_, err := appendRecord(tx.Bucket(bFindings), &f, func(seq uint64) { f.ID = FindingID(seq) })
		return f.ID, err
	})
	if err != nil {
		return attendance.Finding{}, err
	}
	return f, nil
}

// RevokeFinding records who revoked a finding, when (at; zero: Options.Now()) and why; the finding
// itself stays as it was recorded. Revoking twice is an error. c is stored with the revocation.
func (db *DB) RevokeFinding(id, by, reason string, at time.Time, c *Change) (attendance.Finding, error) {
	seq, err := findingIDs.parse(id)
	if err != nil {
		return attendance.Finding{}, fmt.Errorf("store %s: revoke finding: %w", db.path, err)
	}
	if strings.TrimSpace(by) == "" {
		return attendance.Finding{}, fmt.Errorf("store %s: revoke finding %s: %w: revoked_by is empty", db.path, id, ErrInvalid)
	}
	var f attendance.Finding
	err = db.change("revoke finding "+id, c, func(tx *bolt.Tx) (string, error) {
		b := tx.Bucket(bFindings)
		v := b.Get(be64(seq))
		if v == nil {
			return "", fmt.Errorf("%w: finding %s", ErrNotFound, id)
		}
		if err := json.Unmarshal(v, &f); err != nil {
			return "", fmt.Errorf("%w: finding %s: %v", ErrInconsistent, id, err)
		}
		if f.Revoked() {
			return "", fmt.Errorf("%w: finding %s was revoked by %s at %s", ErrInvalid, id, f.RevokedBy, f.RevokedAt.Format(time.RFC3339))
		}
		if at.IsZero() {
			at = db.opts.Now()
		}
		f.RevokedBy, f.RevokedAt, f.RevokeReason = by, at, reason
		nv, err := json.Marshal(f)
		if err != nil {
			return "", err
		}
		return id, b.Put(be64(seq), nv)
	})
	return f, err
}

// Findings returns the findings dated from..to (revoked ones too), in the order they were recorded.
func (db *DB) Findings(from, to attendance.Date) ([]attendance.Finding, error) {
	var out []attendance.Finding
	err := db.view("findings", func(tx *bolt.Tx) error {
		b := tx.Bucket(bFindings)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var f attendance.Finding
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("%w: finding %x: %v", ErrInconsistent, k, err)
			}
			if !f.Date.Before(from) && !f.Date.After(to) {
				f.RecordedAt, f.RevokedAt = db.in(f.RecordedAt), db.in(f.RevokedAt)
				out = append(out, f)
			}
			return nil
		})
	})
	return out, err
}

// appendRecord stores v as JSON under the bucket's next sequence number (big-endian, so a scan
// reads records in the order they were added), after setID has given v the id made from it.
// Registrations, findings and the audit log are kept this way.
func appendRecord(b *bolt.Bucket, v any, setID func(seq uint64)) (uint64, error) {
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	setID(seq)
	data, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	return seq, b.Put(be64(seq), data)
}
