package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/internal/attendance"
)

// revocation is stored beside a registration, which itself is never rewritten.
type revocation struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// RegistrationID formats a sequence number as a registration id ("R00000042").
func RegistrationID(seq uint64) string { return registrationIDs.format(seq) }

// AddRegistration stores a new registration and returns it with its id. RegisteredBy is
// required; a zero RegisteredAt becomes Options.Now(); a makeup (补卡) with a zero To gets To =
// From. Id and revocation fields must be empty: ids are assigned here and revocations recorded by
// RevokeRegistration. c is stored with it (an audit entry without a target gets its id).
func (db *DB) AddRegistration(r attendance.Registration, c *Change) (attendance.Registration, error) {
	if r.Kind == attendance.KindMakeup && r.To.IsZero() {
		r.To = r.From
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("store %s: add registration: %w: %v", db.path, ErrInvalid, err)
	}
	switch {
	case r.ID != "":
		return r, fmt.Errorf("store %s: add registration: %w: id %q given (ids are assigned by the store)", db.path, ErrInvalid, r.ID)
	case r.Revoked() || r.RevokedBy != "" || r.RevokeReason != "":
		return r, fmt.Errorf("store %s: add registration: %w: revocation fields set (use RevokeRegistration)", db.path, ErrInvalid)
	case strings.TrimSpace(r.RegisteredBy) == "":
		return r, fmt.Errorf("store %s: add registration for %q: %w: registered_by is empty", db.path, r.UserID, ErrInvalid)
	}
	if err := checkUserID(r.UserID); err != nil {
		return r, fmt.Errorf("store %s: add registration: %w", db.path, err)
	}
	if r.RegisteredAt.IsZero() {
		r.RegisteredAt = db.opts.Now()
	}
	err := db.change("add registration", c, func(tx *bolt.Tx) (string, error) {
		seq, err := appendRecord(tx.Bucket(bRegistrations), &r, func(seq uint64) { r.ID = RegistrationID(seq) })
		if err != nil {
			return "", err
		}
		return r.ID, tx.Bucket(bRegByUser).Put(binary.BigEndian.AppendUint64(userPrefix(r.UserID), seq), nil)
	})
	if err != nil {
		return attendance.Registration{}, err
	}
	return db.normReg(r), nil
}

// RevokeRegistration records the revocation of registration id by whom, why and when (zero at:
// Options.Now()). The registration stays stored; revoking twice fails with ErrAlreadyRevoked, an
// unknown id with ErrNotFound. c is stored with the revocation.
func (db *DB) RevokeRegistration(id, by, reason string, at time.Time, c *Change) (attendance.Registration, error) {
	var r attendance.Registration
	seq, err := registrationIDs.parse(id)
	if err != nil {
		return r, fmt.Errorf("store %s: revoke: %w", db.path, err)
	}
	if strings.TrimSpace(by) == "" {
		return r, fmt.Errorf("store %s: revoke %s: %w: revoked_by is empty", db.path, id, ErrInvalid)
	}
	if at.IsZero() {
		at = db.opts.Now()
	}
	err = db.change("revoke "+id, c, func(tx *bolt.Tx) (string, error) {
		k := be64(seq)
		v := tx.Bucket(bRegistrations).Get(k)
		if v == nil {
			return "", fmt.Errorf("registration %s: %w", id, ErrNotFound)
		}
		revs := tx.Bucket(bRevocations)
		var err error
		if r, err = db.decodeReg(k, v, revs.Get(k)); err != nil {
			return "", err
		}
		if r.Revoked() {
			return "", fmt.Errorf("registration %s (revoked by %s at %s): %w", id, r.RevokedBy, r.RevokedAt.Format(time.RFC3339), ErrAlreadyRevoked)
		}
		rv, err := json.Marshal(revocation{By: by, At: at, Reason: reason})
		if err != nil {
			return "", err
		}
		if err := revs.Put(k, rv); err != nil {
			return "", err
		}
		r.RevokedBy, r.RevokedAt, r.RevokeReason = by, db.in(at), reason
		return id, nil
	})
	if err != nil {
		return attendance.Registration{}, err
	}
	return r, nil
}

func (db *DB) normReg(r attendance.Registration) attendance.Registration {
	r.From, r.To = db.in(r.From), db.in(r.To)
	r.RegisteredAt, r.RevokedAt = db.in(r.RegisteredAt), db.in(r.RevokedAt)
	return r
}

func (db *DB) decodeReg(k, v, rev []byte) (attendance.Registration, error) {
	var r attendance.Registration
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("%w: registration %x: %v", ErrInconsistent, k, err)
	}
	if len(k) != 8 || r.ID != RegistrationID(binary.BigEndian.Uint64(k)) {
		return r, fmt.Errorf("%w: registration key %x holds id %q", ErrInconsistent, k, r.ID)
	}
	if rev != nil {
		var x revocation
		if err := json.Unmarshal(rev, &x); err != nil {
			return r, fmt.Errorf("%w: revocation of %s: %v", ErrInconsistent, r.ID, err)
		}
		r.RevokedBy, r.RevokedAt, r.RevokeReason = x.By, x.At, x.Reason
	}
	return db.normReg(r), nil
}

// overlaps reports whether [r.From, r.To] meets [from, to) (zero bounds open).
func overlaps(r attendance.Registration, from, to time.Time) bool {
	if !to.IsZero() && !r.From.Before(to) {
		return false
	}
	if !from.IsZero() && r.To.Before(from) {
		return false
	}
	return true
}

// Registration returns one registration by id, with its revocation if any.
func (db *DB) Registration(id string) (attendance.Registration, bool, error) {
	var r attendance.Registration
	var ok bool
	seq, err := registrationIDs.parse(id)
	if err != nil {
		return r, false, fmt.Errorf("store %s: registration: %w", db.path, err)
	}
	err = db.view("registration "+id, func(tx *bolt.Tx) error {
		k := be64(seq)
		v := tx.Bucket(bRegistrations).Get(k)
		if v == nil {
			return nil
		}
		var err error
		r, err = db.decodeReg(k, v, tx.Bucket(bRevocations).Get(k))
		ok = err == nil
		return err
	})
	return r, ok, err
}

// Registrations returns every registration whose [From, To] overlaps [from, to), revoked ones
// included (Revoked() reports them), in id order. A zero from or to leaves that end open.
func (db *DB) Registrations(from, to time.Time) ([]attendance.Registration, error) {
	var out []attendance.Registration
	err := db.view("registrations", func(tx *bolt.Tx) error {
		revs := tx.Bucket(bRevocations)
		return tx.Bucket(bRegistrations).ForEach(func(k, v []byte) error {
			r, err := db.decodeReg(k, v, revs.Get(k))
			if err != nil {
				return err
			}
			if overlaps(r, from, to) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// RegistrationsFor is Registrations for one person.
func (db *DB) RegistrationsFor(userID string, from, to time.Time) ([]attendance.Registration, error) {
	if err := checkUserID(userID); err != nil {
		return nil, fmt.Errorf("store %s: registrations for: %w", db.path, err)
	}
	var out []attendance.Registration
	err := db.view("registrations for "+userID, func(tx *bolt.Tx) error {
		regs, revs := tx.Bucket(bRegistrations), tx.Bucket(bRevocations)
		prefix := userPrefix(userID)
		c := tx.Bucket(bRegByUser).Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				return fmt.Errorf("%w: malformed registration index key %x", ErrInconsistent, k)
			}
			rk := k[len(prefix):]
			v := regs.Get(rk)
			if v == nil {
				return fmt.Errorf("%w: registration index names %x for %q but it is missing", ErrInconsistent, rk, userID)
			}
			r, err := db.decodeReg(rk, v, revs.Get(rk))
			if err != nil {
				return err
			}
			if overlaps(r, from, to) {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}
