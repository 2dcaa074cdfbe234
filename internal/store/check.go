package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// maxProblems bounds the problems Check lists; the count says how many there were.
const maxProblems = 20

// Check verifies the store: bbolt's own page check; every bucket present and the schema version
// current; every punch key and value decodes, names a known clock, and the per-clock counts equal
// the punches stored; the day and registration indexes agree with their buckets both ways;
// revocations belong to registrations; outbox keys are 8 bytes, decode, and are not above the
// bucket's sequence; coalescing keys point at their entries. It returns nil or an error wrapping
// ErrInconsistent that lists the problems. Open runs it unless Options.SkipCheck.
func (db *DB) Check() error {
	var problems []string
	n := 0
	add := func(format string, a ...any) {
		n++
		if len(problems) < maxProblems {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	err := db.view("check", func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			add("bbolt: %v", e)
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				add("bucket %s missing", name)
			}
		}
		if n > 0 {
			return nil // the rest reads the buckets
		}
		if v := tx.Bucket(bSchema).Get(kVersion); len(v) != 4 || binary.BigEndian.Uint32(v) != SchemaVersion {
			add("schema version %x, want %d", v, SchemaVersion)
		}
		checkPunches(tx, db, add)
		checkIndexes(tx, add)
		checkOutbox(tx, db, add)
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	for _, p := range problems {
		db.opts.Logger.Error("store check", "path", db.path, "problem", p)
	}
	more := ""
	if n > len(problems) {
		more = fmt.Sprintf(" (first %d shown)", len(problems))
	}
	return fmt.Errorf("store %s: %w: %d problems%s: %w", db.path, ErrInconsistent, n, more, errors.New(joinLines(problems)))
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for i, p := range s {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p)
	}
	return b.String()
}

func checkPunches(tx *bolt.Tx, db *DB, add func(string, ...any)) {
	dict, err := loadClocks(tx)
	if err != nil {
		add("clocks: %v", err)
		return
	}
	counted := map[uint16]uint64{}
	ids := map[uint16]bool{}
	for s, id := range dict.ids {
		if ids[id] {
			add("clock id %d used twice (serial %q)", id, s)
		}
		ids[id] = true
		if uint64(id) > tx.Bucket(bClocks).Sequence() {
			add("clock %q has id %d above the bucket sequence", s, id)
		}
	}
	root := tx.Bucket(bPunches)
	_ = root.ForEach(func(user, uv []byte) error {
		if uv != nil {
			add("punches: value under %q, not a user's bucket", user)
			return nil
		}
		if err := checkUserID(string(user)); err != nil {
			add("punches: %v", err)
		}
		return root.Bucket(user).ForEach(func(k, v []byte) error {
			kp, err := parsePunchKey(string(user), k)
			if err != nil {
				add("punches: %v", err)
				return nil
			}
			serial, ok := dict.serial[kp.clock]
			if !ok {
				add("punch %x of %q: unknown clock id %d", k, user, kp.clock)
				return nil
			}
			if _, err := decodePunch(kp, serial, v, db.loc, nil); err != nil {
				add("punch %x of %q: %v", k, user, err)
			}
			counted[kp.clock]++
			return nil
		})
	})
	for s, id := range dict.ids {
		if dict.counts[s] != counted[id] {
			add("clock %q: counter says %d punches, %d stored", s, dict.counts[s], counted[id])
		}
	}
}

func checkIndexes(tx *bolt.Tx, add func(string, ...any)) {
	days, dayIdx := tx.Bucket(bDays), tx.Bucket(bDaysByUser)
	_ = days.ForEach(func(k, _ []byte) error {
		if len(k) < 5 {
			add("day key %x malformed", k)
			return nil
		}
		if dayIdx.Get(dayIndexKey(string(k[4:]), dateFromKey(k))) == nil {
			add("day %s %q not in days_by_user", dateFromKey(k), k[4:])
		}
		return nil
	})
	_ = dayIdx.ForEach(func(k, _ []byte) error {
		i := bytes.IndexByte(k, 0)
		if i <= 0 || len(k) != i+5 {
			add("days_by_user key %x malformed", k)
			return nil
		}
		if days.Get(dayKey(dateFromKey(k[i+1:]), string(k[:i]))) == nil {
			add("days_by_user names %s %q, not in days", dateFromKey(k[i+1:]), k[:i])
		}
		return nil
	})

	regs, regIdx, revs := tx.Bucket(bRegistrations), tx.Bucket(bRegByUser), tx.Bucket(bRevocations)
	seq := regs.Sequence()
	indexed := 0
	_ = regIdx.ForEach(func(k, _ []byte) error {
		i := bytes.IndexByte(k, 0)
		if i <= 0 || len(k) != i+9 {
			add("reg_by_user key %x malformed", k)
			return nil
		}
		indexed++
		if regs.Get(k[i+1:]) == nil {
			add("reg_by_user names %x for %q, not in registrations", k[i+1:], k[:i])
		}
		return nil
	})
	count := 0
	_ = regs.ForEach(func(k, v []byte) error {
		count++
		if len(k) != 8 || binary.BigEndian.Uint64(k) > seq {
			add("registration key %x malformed or above sequence %d", k, seq)
		}
		return nil
	})
	if count != indexed {
		add("%d registrations, %d in reg_by_user", count, indexed)
	}
	_ = revs.ForEach(func(k, _ []byte) error {
		if regs.Get(k) == nil {
			add("revocation %x of no registration", k)
		}
		return nil
	})
}

func checkOutbox(tx *bolt.Tx, db *DB, add func(string, ...any)) {
	ob, keys := tx.Bucket(bOutbox), tx.Bucket(bOutboxKeys)
	seq := ob.Sequence()
	_ = ob.ForEach(func(k, v []byte) error {
		e, err := db.decodeEntry(k, v)
		if err != nil {
			add("%v", err)
			return nil
		}
		if e.Seq > seq {
			add("outbox entry %d above the sequence %d", e.Seq, seq)
		}
		return nil
	})
	_ = keys.ForEach(func(k, v []byte) error {
		if len(v) != 8 || ob.Get(v) == nil {
			add("outbox key %q points at %x, no such entry", k, v)
		}
		return nil
	})
	_ = tx.Bucket(bPublished).ForEach(func(k, v []byte) error {
		if len(v) < 4 {
			add("published event %q malformed", k)
		}
		return nil
	})
}
