package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
)

// Batch is everything one sync step commits together, in one transaction.
type Batch struct {
	Punches   []device.Punch       // punches read (duplicates of stored ones are skipped)
	Days      []attendance.Day     // judged days to upsert (key: date | user)
	Outbox    []OutboxEntry        // events to enqueue (Seq is assigned)
	Watermark *Watermark           // a clock's sync state, replacing the stored one
	Users     *ClockUsers          // a clock's user table, replacing the stored one
	Marks     []attendance.DayMark // units' marks (see PutMarks), stored with the events they raise
	Audit     []audit.Note         // the audit entries of a person's change (see Change); IDs set in place
}

// ClockUsers is one clock's user table as read, for a Batch.
type ClockUsers struct {
	Clock string
	Users []device.User
}

// Watermark is a clock's sync state, kept per clock name.
type Watermark struct {
	Clock       string    `json:"clock"`        // the clock's name in config
	Serial      string    `json:"serial"`       // its serial number (Punch.Clock)
	Records     int       `json:"records"`      // record count on the clock at the last pull
	LastPunch   time.Time `json:"last_punch"`   // newest punch time seen from it
	SyncedUntil time.Time `json:"synced_until"` // every punch made before this instant is stored
	LastPull    time.Time `json:"last_pull"`    // when the last successful pull finished
	LastCount   int       `json:"last_count"`   // punches returned by the last pull
	// Offset is the clock's time minus the host's after the last pull (0 when punchd set the
	// clock's time during it); nil before the first pull that measured it.
	Offset *time.Duration `json:"offset,omitempty"`
}

// CommitResult says what a Commit changed.
type CommitResult struct {
	NewPunches   int            // punches not stored before
	Duplicates   int            // punches already stored (or repeated within the batch)
	NewPunchList []device.Punch // the new punches, normalised (whole seconds, Options.Location), in key order (user, time)
	OutboxSeqs   []uint64       // the sequence numbers given to b.Outbox, in order
}

type clockDict struct {
	ids    map[string]uint16
	serial map[uint16]string
	counts map[string]uint64
	dirty  map[string]bool
}

func loadClocks(tx *bolt.Tx) (*clockDict, error) {
	d := &clockDict{ids: map[string]uint16{}, serial: map[uint16]string{}, counts: map[string]uint64{}, dirty: map[string]bool{}}
	b := tx.Bucket(bClocks)
	if b == nil {
		return nil, fmt.Errorf("bucket %s missing", bClocks)
	}
	err := b.ForEach(func(k, v []byte) error {
		if len(v) != 10 {
			return fmt.Errorf("clock %q: malformed dictionary entry", k)
		}
		id := binary.BigEndian.Uint16(v)
		d.ids[string(k)] = id
		d.serial[id] = string(k)
		d.counts[string(k)] = binary.BigEndian.Uint64(v[2:])
		return nil
	})
	return d, err
}

func (d *clockDict) id(tx *bolt.Tx, serial string) (uint16, error) {
	if id, ok := d.ids[serial]; ok {
		return id, nil
	}
	b := tx.Bucket(bClocks)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	if seq > 0xFFFF {
		return 0, fmt.Errorf("%w: more than 65535 clock serials", ErrInvalid)
	}
	id := uint16(seq)
	d.ids[serial], d.serial[id], d.dirty[serial] = id, serial, true
	return id, nil
}

func (d *clockDict) save(tx *bolt.Tx) error {
	b := tx.Bucket(bClocks)
	for s := range d.dirty {
		v := binary.BigEndian.AppendUint16(nil, d.ids[s])
		v = binary.BigEndian.AppendUint64(v, d.counts[s])
		if err := b.Put([]byte(s), v); err != nil {
			return err
		}
	}
	return nil
}

func validatePunch(i int, p device.Punch) error {
	if err := checkUserID(p.UserID); err != nil {
		return fmt.Errorf("punch %d (clock %q): %w", i, p.Clock, err)
	}
	if p.Time.IsZero() {
		return fmt.Errorf("punch %d (clock %q user %q): %w: zero time", i, p.Clock, p.UserID, ErrInvalid)
	}
	if len(p.Raw) > 1<<16 {
		return fmt.Errorf("punch %d (clock %q user %q): %w: raw record of %d bytes", i, p.Clock, p.UserID, ErrInvalid, len(p.Raw))
	}
	return nil
}

func validateDay(i int, d attendance.Day) error {
	if err := checkUserID(d.UserID); err != nil {
		return fmt.Errorf("day %d: %w", i, err)
	}
	if err := checkDate(d.Date); err != nil {
		return fmt.Errorf("day %d (user %q): %w", i, d.UserID, err)
	}
	return nil
}

// Commit stores a batch in one transaction: new punches, days (upserted), outbox entries (each
// given the next sequence; an entry with a Key supersedes a pending one with the same Key; an
// entry with an EventID records its Rev and Hash as the last enqueued revision of that event),
// and the watermark and user table of a clock. Either all of it is stored or, on error, none. The batch is validated before
// the transaction starts; ctx cancels a batch in progress (nothing is stored).
func (db *DB) Commit(ctx context.Context, b Batch) (CommitResult, error) {
	var res CommitResult
	for i, p := range b.Punches {
		if err := validatePunch(i, p); err != nil {
			return res, fmt.Errorf("store %s: commit: %w", db.path, err)
		}
	}
	for i, d := range b.Days {
		if err := validateDay(i, d); err != nil {
			return res, fmt.Errorf("store %s: commit: %w", db.path, err)
		}
	}
	for i, e := range b.Outbox {
		if err := validateEntry(i, e); err != nil {
			return res, fmt.Errorf("store %s: commit: %w", db.path, err)
		}
	}
	if err := db.checkMarks(b.Marks); err != nil {
		return res, fmt.Errorf("store %s: commit: %w", db.path, err)
	}
	if err := (&Change{Audit: b.Audit}).check(); err != nil {
		return res, fmt.Errorf("store %s: commit: %w", db.path, err)
	}
	if b.Watermark != nil && b.Watermark.Clock == "" {
		return res, fmt.Errorf("store %s: commit: watermark: %w: empty clock name", db.path, ErrInvalid)
	}
	if b.Users != nil {
		if err := CheckClockUsers(b.Users.Clock, b.Users.Users); err != nil {
			return res, fmt.Errorf("store %s: commit: %w", db.path, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("store %s: commit: %w", db.path, err)
	}
	now := db.opts.Now()
	err := db.update("commit", func(tx *bolt.Tx) error {
		res = CommitResult{}
		if err := db.putPunches(ctx, tx, b.Punches, &res); err != nil {
			return err
		}
		if err := putDays(tx, b.Days); err != nil {
			return err
		}
		if err := putMarks(tx, b.Marks); err != nil {
			return err
		}
		if err := putAudit(tx, b.Audit, "", now); err != nil {
			return err
		}
		seqs, err := putOutbox(tx, b.Outbox, now)
		if err != nil {
			return err
		}
		res.OutboxSeqs = seqs
		if b.Watermark != nil {
			v, err := json.Marshal(b.Watermark)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bWatermarks).Put([]byte(b.Watermark.Clock), v); err != nil {
				return err
			}
		}
		if b.Users != nil {
			if err := putClockUsers(tx, b.Users.Clock, b.Users.Users); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return CommitResult{}, err
	}
	for i := range b.Audit {
		b.Audit[i].Entry.At = db.in(b.Audit[i].Entry.At)
	}
	return res, nil
}

func (db *DB) putPunches(ctx context.Context, tx *bolt.Tx, ps []device.Punch, res *CommitResult) error {
	if len(ps) == 0 {
		return nil
	}
	dict, err := loadClocks(tx)
	if err != nil {
		return err
	}
	// Sort by (user, key) with integer compares: users ranked once, the 12-byte key split into its
	// big-endian time and the clock|state|verify word.
	ranks := make(map[string]uint32)
	var users []string
	for _, p := range ps {
		if _, ok := ranks[p.UserID]; !ok {
			ranks[p.UserID] = 0
			users = append(users, p.UserID)
		}
	}
	slices.Sort(users)
	for r, u := range users {
		ranks[u] = uint32(r)
	}
	type item struct {
		rank uint32
		rest uint32 // clock id | state | verify
		t    uint64 // time as in the key
		i    int
	}
	items := make([]item, len(ps))
	for i, p := range ps {
		id, err := dict.id(tx, p.Clock)
		if err != nil {
			return err
		}
		items[i] = item{rank: ranks[p.UserID], rest: uint32(id)<<16 | uint32(p.State)<<8 | uint32(p.Verify),
			t: uint64(p.Time.Unix()) ^ (1 << 63), i: i}
	}
	slices.SortFunc(items, func(a, b item) int {
		switch {
		case a.rank != b.rank:
			return cmp.Compare(a.rank, b.rank)
		case a.t != b.t:
			return cmp.Compare(a.t, b.t)
		}
		return cmp.Compare(a.rest, b.rest)
	})
	root := tx.Bucket(bPunches)
	root.FillPercent = punchFill
	var (
		sub            *bolt.Bucket
		user           string
		last, tail     []byte // previous key of this batch; the user's newest stored key
		buf, tmpl, mem []byte // scratch for encoding; arena the values live in until commit
	)
	key := make([]byte, 12)
	res.NewPunchList = make([]device.Punch, 0, len(ps))
	for n, it := range items {
		if n%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		p := ps[it.i]
		if sub == nil || p.UserID != user {
			user, last = p.UserID, nil
			if sub, err = root.CreateBucketIfNotExists([]byte(user)); err != nil {
				return fmt.Errorf("punches of user %q: %w", user, err)
			}
			sub.FillPercent = punchFill
			tail, _ = sub.Cursor().Last()
			tail = append([]byte(nil), tail...)
		}
		binary.BigEndian.PutUint64(key, it.t)
		binary.BigEndian.PutUint32(key[8:], it.rest)
		// Keys after the user's newest stored one are new without a lookup (a pull appends).
		if bytes.Equal(key, last) || (bytes.Compare(key, tail) <= 0 && sub.Get(key) != nil) {
			res.Duplicates++
			last = append(last[:0], key...)
			continue
		}
		last = append(last[:0], key...)
		sec := p.Time.Unix()
		var v []byte
		v, buf, tmpl = encodePunchValue(buf, tmpl, p, sec)
		val := carve(&mem, len(v))
		copy(val, v)
		if err := sub.Put(key, val); err != nil {
			return fmt.Errorf("punch clock %q user %q at %s: %w", p.Clock, p.UserID, p.Time.Format(time.RFC3339), err)
		}
		dict.counts[p.Clock]++
		dict.dirty[p.Clock] = true
		p.Time = time.Unix(sec, 0).In(db.loc)
		res.NewPunchList = append(res.NewPunchList, p)
	}
	res.NewPunches = len(res.NewPunchList)
	return dict.save(tx)
}

// PunchesFor returns userID's punches with from <= time < to, in time order. A zero from or to
// leaves that end open.
func (db *DB) PunchesFor(userID string, from, to time.Time) ([]device.Punch, error) {
	if err := checkUserID(userID); err != nil {
		return nil, fmt.Errorf("store %s: punches for: %w", db.path, err)
	}
	var out []device.Punch
	err := db.view("punches for "+userID, func(tx *bolt.Tx) error {
		dict, err := loadClocks(tx)
		if err != nil {
			return err
		}
		sub := tx.Bucket(bPunches).Bucket([]byte(userID))
		if sub == nil {
			return nil
		}
		r := punchRange(from, to)
		out = make([]device.Punch, 0, r.count(sub))
		out, err = db.scanUser(sub, dict, userID, r, out, &[]byte{})
		return err
	})
	return out, err
}

// PunchesBetween returns every person's punches with from <= time < to, ordered by user id then
// time. A zero from or to leaves that end open.
func (db *DB) PunchesBetween(from, to time.Time) ([]device.Punch, error) {
	var out []device.Punch
	err := db.view("punches between", func(tx *bolt.Tx) error {
		dict, err := loadClocks(tx)
		if err != nil {
			return err
		}
		root := tx.Bucket(bPunches)
		r := punchRange(from, to)
		var users [][]byte
		n := 0
		err = root.ForEach(func(k, v []byte) error {
			if v != nil {
				return fmt.Errorf("%w: punches bucket holds a value under %q, not a user's bucket", ErrInconsistent, k)
			}
			users = append(users, k)
			n += r.count(root.Bucket(k))
			return nil
		})
		if err != nil {
			return err
		}
		out = make([]device.Punch, 0, n)
		arena := make([]byte, 0, 40*n)
		for _, u := range users {
			if out, err = db.scanUser(root.Bucket(u), dict, string(u), r, out, &arena); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// keyRange is [start, end) over punch keys; nil ends are open.
type keyRange struct{ start, end []byte }

func punchRange(from, to time.Time) keyRange {
	var r keyRange
	if !from.IsZero() {
		sec := from.Unix()
		if from.Nanosecond() != 0 {
			sec++ // punch times are whole seconds: the first one at or after from
		}
		r.start = timeKey(nil, sec)
	}
	if !to.IsZero() {
		sec := to.Unix()
		if to.Nanosecond() != 0 {
			sec++ // a punch at to.Unix() is before to
		}
		r.end = timeKey(nil, sec)
	}
	return r
}

func (r keyRange) first(c *bolt.Cursor) ([]byte, []byte) {
	if r.start == nil {
		return c.First()
	}
	return c.Seek(r.start)
}

func (r keyRange) in(k []byte) bool { return k != nil && (r.end == nil || bytes.Compare(k, r.end) < 0) }

// count is the number of keys of sub within r (a cursor walk, nothing decoded).
func (r keyRange) count(sub *bolt.Bucket) int {
	n := 0
	c := sub.Cursor()
	for k, _ := r.first(c); r.in(k); k, _ = c.Next() {
		n++
	}
	return n
}

// scanUser appends the punches of one user's sub-bucket within r; raw records are carved from
// arena.
func (db *DB) scanUser(sub *bolt.Bucket, dict *clockDict, user string, r keyRange, out []device.Punch, arena *[]byte) ([]device.Punch, error) {
	c := sub.Cursor()
	for k, v := r.first(c); r.in(k); k, v = c.Next() {
		kp, err := parsePunchKey(user, k)
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrInconsistent, err)
		}
		serial, ok := dict.serial[kp.clock]
		if !ok {
			return out, fmt.Errorf("%w: punch %x of %q names unknown clock id %d", ErrInconsistent, k, user, kp.clock)
		}
		p, err := decodePunch(kp, serial, v, db.loc, arena)
		if err != nil {
			return out, fmt.Errorf("%w: punch %x of %q: %v", ErrInconsistent, k, user, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// FirstPunch is the time of the earliest punch stored (in the store's zone), of anyone; ok is
// false when no punch is stored. One seek per person.
func (db *DB) FirstPunch() (first time.Time, ok bool, err error) {
	err = db.view("first punch", func(tx *bolt.Tx) error {
		root := tx.Bucket(bPunches)
		return root.ForEach(func(user, v []byte) error {
			if v != nil {
				return fmt.Errorf("%w: punches bucket holds a value under %q, not a user's bucket", ErrInconsistent, user)
			}
			k, _ := root.Bucket(user).Cursor().First()
			if k == nil {
				return nil
			}
			kp, err := parsePunchKey(string(user), k)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrInconsistent, err)
			}
			if t := time.Unix(kp.sec, 0); !ok || t.Before(first) {
				first, ok = t, true
			}
			return nil
		})
	})
	if ok {
		first = db.in(first)
	}
	return first, ok, err
}

// CountPunches is the number of punches stored.
func (db *DB) CountPunches() (int, error) {
	m, err := db.PunchCounts()
	n := 0
	for _, c := range m {
		n += c
	}
	return n, err
}

// PunchCounts is the number of punches stored per clock serial (Punch.Clock).
func (db *DB) PunchCounts() (map[string]int, error) {
	out := map[string]int{}
	err := db.view("punch counts", func(tx *bolt.Tx) error {
		dict, err := loadClocks(tx)
		if err != nil {
			return err
		}
		for s, n := range dict.counts {
			out[s] = int(n)
		}
		return nil
	})
	return out, err
}

// Watermark returns the stored sync state of the named clock.
func (db *DB) Watermark(clock string) (Watermark, bool, error) {
	var w Watermark
	var ok bool
	err := db.view("watermark "+clock, func(tx *bolt.Tx) error {
		v := tx.Bucket(bWatermarks).Get([]byte(clock))
		if v == nil {
			return nil
		}
		ok = true
		return db.decodeWatermark(v, &w)
	})
	return w, ok, err
}

// Watermarks returns every clock's sync state, by clock name.
func (db *DB) Watermarks() (map[string]Watermark, error) {
	out := map[string]Watermark{}
	err := db.view("watermarks", func(tx *bolt.Tx) error {
		return tx.Bucket(bWatermarks).ForEach(func(k, v []byte) error {
			var w Watermark
			if err := db.decodeWatermark(v, &w); err != nil {
				return err
			}
			out[string(k)] = w
			return nil
		})
	})
	return out, err
}

func (db *DB) decodeWatermark(v []byte, w *Watermark) error {
	if err := json.Unmarshal(v, w); err != nil {
		return fmt.Errorf("%w: watermark: %v", ErrInconsistent, err)
	}
	w.LastPunch = db.in(w.LastPunch)
	w.SyncedUntil = db.in(w.SyncedUntil)
	w.LastPull = db.in(w.LastPull)
	return nil
}

// in moves a non-zero time into the store's location.
func (db *DB) in(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(db.loc)
}
