package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OutboxEntry is one message waiting for the broker.
type OutboxEntry struct {
	Seq        uint64 // assigned by Commit; monotonic, never reused
	Topic      string // full MQTT topic
	Payload    []byte
	Retained   bool
	EnqueuedAt time.Time // zero: Options.Now() at Commit
	// Key, when not empty, coalesces: committing an entry with the same Key deletes the pending
	// older one (for retained state such as a clock's status, where only the latest matters).
	Key string
	// EventID, when not empty, records this entry as revision Rev of that event, with Hash (of
	// the payload, or whatever the publisher compares) — see PublishedEvent. Rev must be >= 1 and
	// above the rev already recorded for EventID.
	EventID string
	Rev     int
	Hash    []byte
}

const outboxVersion = 1

const (
	obRetained = 1 << 0
)

func validateEntry(i int, e OutboxEntry) error {
	switch {
	case e.Topic == "":
		return fmt.Errorf("outbox entry %d: %w: empty topic", i, ErrInvalid)
	case e.EventID != "" && (e.Rev < 1 || int64(e.Rev) > 0xFFFFFFFF):
		return fmt.Errorf("outbox entry %d (event %q): %w: rev %d (must be 1..4294967295)", i, e.EventID, ErrInvalid, e.Rev)
	case e.EventID == "" && (e.Rev != 0 || len(e.Hash) != 0):
		return fmt.Errorf("outbox entry %d (topic %q): %w: rev or hash without an event id", i, e.Topic, ErrInvalid)
	}
	return nil
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeEntry(e OutboxEntry) []byte {
	v := make([]byte, 0, 32+len(e.Topic)+len(e.Key)+len(e.EventID)+len(e.Hash)+len(e.Payload))
	var flags byte
	if e.Retained {
		flags |= obRetained
	}
	// The third byte was the entry's QoS; the publisher now publishes every entry at [mqtt] qos,
	// so it is written 0 and ignored when read.
	v = append(v, outboxVersion, flags, 0)
	v = binary.BigEndian.AppendUint64(v, uint64(e.EnqueuedAt.UnixNano()))
	v = appendBytes(v, []byte(e.Topic))
	v = appendBytes(v, []byte(e.Key))
	v = appendBytes(v, []byte(e.EventID))
	v = binary.AppendUvarint(v, uint64(e.Rev))
	v = appendBytes(v, e.Hash)
	return append(v, e.Payload...)
}

func (db *DB) decodeEntry(k, v []byte) (OutboxEntry, error) {
	var e OutboxEntry
	bad := func(what string) (OutboxEntry, error) {
		return e, fmt.Errorf("%w: outbox entry %x: %s", ErrInconsistent, k, what)
	}
	if len(k) != 8 {
		return bad("key is not 8 bytes")
	}
	e.Seq = binary.BigEndian.Uint64(k)
	if len(v) < 11 || v[0] != outboxVersion {
		return bad("unknown encoding")
	}
	e.Retained = v[1]&obRetained != 0
	e.EnqueuedAt = time.Unix(0, int64(binary.BigEndian.Uint64(v[3:11]))).In(db.loc)
	r := v[11:]
	field := func() ([]byte, bool) {
		n, m := binary.Uvarint(r)
		if m <= 0 || n > uint64(len(r)-m) {
			return nil, false
		}
		f := r[m : m+int(n)]
		r = r[m+int(n):]
		return f, true
	}
	topic, ok1 := field()
	key, ok2 := field()
	id, ok3 := field()
	if !ok1 || !ok2 || !ok3 {
		return bad("truncated")
	}
	rev, m := binary.Uvarint(r)
	if m <= 0 {
		return bad("bad rev")
	}
	r = r[m:]
	hash, ok := field()
	if !ok {
		return bad("truncated hash")
	}
	e.Topic, e.Key, e.EventID, e.Rev = string(topic), string(key), string(id), int(rev)
	if len(hash) > 0 {
		e.Hash = append([]byte(nil), hash...)
	}
	e.Payload = append([]byte(nil), r...)
	return e, nil
}

func putOutbox(tx *bolt.Tx, entries []OutboxEntry, now time.Time) ([]uint64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	ob, keys, pub := tx.Bucket(bOutbox), tx.Bucket(bOutboxKeys), tx.Bucket(bPublished)
	ob.FillPercent = punchFill // sequence keys only ever grow
	seqs := make([]uint64, 0, len(entries))
	for i, e := range entries {
		seq, err := ob.NextSequence()
		if err != nil {
			return nil, err
		}
		e.Seq = seq
		if e.EnqueuedAt.IsZero() {
			e.EnqueuedAt = now
		}
		sk := be64(seq)
		if e.Key != "" {
			if old := keys.Get([]byte(e.Key)); old != nil {
				if err := ob.Delete(old); err != nil {
					return nil, err
				}
			}
			if err := keys.Put([]byte(e.Key), sk); err != nil {
				return nil, err
			}
		}
		if e.EventID != "" {
			if prev := pub.Get([]byte(e.EventID)); len(prev) >= 4 && int(binary.BigEndian.Uint32(prev)) >= e.Rev {
				return nil, fmt.Errorf("outbox entry %d (event %q): %w: rev %d, already recorded %d",
					i, e.EventID, ErrStaleRev, e.Rev, binary.BigEndian.Uint32(prev))
			}
			pv := binary.BigEndian.AppendUint32(nil, uint32(e.Rev))
			if err := pub.Put([]byte(e.EventID), append(pv, e.Hash...)); err != nil {
				return nil, err
			}
		}
		if err := ob.Put(sk, encodeEntry(e)); err != nil {
			return nil, err
		}
		seqs = append(seqs, seq)
	}
	return seqs, nil
}

// OutboxPeek returns up to n entries, oldest first, without removing them.
func (db *DB) OutboxPeek(n int) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := db.view("outbox peek", func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			e, err := db.decodeEntry(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// OutboxDelete removes entries (after the broker acknowledged them). Unknown sequence numbers
// are ignored, so a delete repeated after a crash is harmless. The published-events index is
// left as it is.
func (db *DB) OutboxDelete(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return db.update("outbox delete", func(tx *bolt.Tx) error {
		ob, keys := tx.Bucket(bOutbox), tx.Bucket(bOutboxKeys)
		for _, s := range seqs {
			k := be64(s)
			v := ob.Get(k)
			if v == nil {
				continue
			}
			if err := db.dropEntry(ob, keys, nil, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropEntry deletes one outbox entry and its coalescing key. With pub set (a trim: the entry is
// dropped unsent), an event whose recorded rev is this entry's gets its hash cleared, so the next
// judgement of that event differs from the record and is enqueued again as rev+1.
func (db *DB) dropEntry(ob, keys, pub *bolt.Bucket, k, v []byte) error {
	e, err := db.decodeEntry(k, v)
	if err != nil {
		return err
	}
	if e.Key != "" {
		if cur := keys.Get([]byte(e.Key)); cur != nil && string(cur) == string(k) {
			if err := keys.Delete([]byte(e.Key)); err != nil {
				return err
			}
		}
	}
	if pub != nil && e.EventID != "" {
		if prev := pub.Get([]byte(e.EventID)); len(prev) >= 4 && int(binary.BigEndian.Uint32(prev)) == e.Rev {
			if err := pub.Put([]byte(e.EventID), append([]byte(nil), prev[:4]...)); err != nil {
				return err
			}
		}
	}
	return ob.Delete(k)
}

// OutboxStats returns the number of pending entries and the EnqueuedAt of the oldest (zero when
// empty).
func (db *DB) OutboxStats() (count int, oldest time.Time, err error) {
	err = db.view("outbox stats", func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		count = b.Stats().KeyN
		if k, v := b.Cursor().First(); k != nil {
			e, err := db.decodeEntry(k, v)
			if err != nil {
				return err
			}
			oldest = e.EnqueuedAt
		}
		return nil
	})
	return count, oldest, err
}

// OutboxTrim bounds the outbox: it drops, oldest first, entries enqueued before now-maxAge and
// then as many as needed to keep at most maxEntries. A bound <= 0 is not applied. An event
// dropped unsent keeps its rev in the published index but loses its hash (see PublishedEvent).
func (db *DB) OutboxTrim(maxEntries int, maxAge time.Duration, now time.Time) (dropped int, err error) {
	err = db.update("outbox trim", func(tx *bolt.Tx) error {
		dropped = 0
		ob, keys, pub := tx.Bucket(bOutbox), tx.Bucket(bOutboxKeys), tx.Bucket(bPublished)
		excess := 0
		if maxEntries > 0 {
			excess = ob.Stats().KeyN - maxEntries
		}
		cutoff := now.Add(-maxAge)
		c := ob.Cursor()
		for k, v := c.First(); k != nil; k, v = c.First() {
			if excess <= 0 {
				if maxAge <= 0 {
					break
				}
				e, err := db.decodeEntry(k, v)
				if err != nil {
					return err
				}
				if !e.EnqueuedAt.Before(cutoff) {
					break
				}
			}
			if err := db.dropEntry(ob, keys, pub, append([]byte(nil), k...), v); err != nil {
				return err
			}
			dropped++
			excess--
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return dropped, nil
}

// PublishedEvent returns the last revision enqueued for an event id and the hash given with it.
// The daemon re-judging an event compares: not ok → publish rev 1; hash differs → publish a
// correction with rev+1; hash equal → nothing to do. A nil hash with ok means that revision was
// trimmed from the outbox unsent, so any new judgement is published as rev+1.
func (db *DB) PublishedEvent(id string) (rev int, payloadHash []byte, ok bool, err error) {
	err = db.view("published event "+id, func(tx *bolt.Tx) error {
		v := tx.Bucket(bPublished).Get([]byte(id))
		if v == nil {
			return nil
		}
		if len(v) < 4 {
			return fmt.Errorf("%w: published event %q: malformed", ErrInconsistent, id)
		}
		rev, ok = int(binary.BigEndian.Uint32(v)), true
		if len(v) > 4 {
			payloadHash = append([]byte(nil), v[4:]...)
		}
		return nil
	})
	return rev, payloadHash, ok, err
}
