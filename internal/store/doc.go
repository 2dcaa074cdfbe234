// Package store is punchd's durable state: punches, the roster and the clocks' user tables,
// registrations with their revocations, judged days, per-clock sync watermarks, the MQTT outbox
// with its published-events index, and small daemon metadata. It owns go.etcd.io/bbolt entirely:
// no *bbolt.Tx, bucket or key leaves this package; callers get domain methods on *DB.
//
// It must not judge anything (internal/rules does), talk to clocks (device) or to the broker
// (sync/publish). It stores what it is given, exactly, and answers range queries.
//
// # Transactions
//
// Every exported method is one bbolt transaction. Commit writes a whole batch — a pull's punches,
// the days they re-judged, the outbox entries and the clock's watermark — in ONE transaction, so a
// crash leaves either all of it or none of it. A *DB is safe for concurrent use: bbolt serialises
// writers and lets readers run beside them.
//
// # Buckets and key layouts (schema version 2)
//
// All integers are big-endian unless marked as varints. "user" is the clock's user id (PIN2) as
// bytes (at most 64, never empty); it never contains a NUL byte, so in index keys "user 0x00" is
// prefix-free and sorts exactly as the string does ("A1" < "A10").
//
//	schema         "version" -> u32 schema version (currently 2)
//	               "created" -> i64 unix nanoseconds when the store was created
//	punches        user -> sub-bucket of that user's punches:
//	                 i64 unix seconds (sign bit flipped) | u16 clock id | u8 state | u8 verify
//	                 -> u8 flags | uvarint workcode | [raw record, see below]
//	               One key per distinct punch: the same record from a pull and from a realtime event
//	               has the same key, so it is stored once. A person's punches are one time-ordered
//	               sub-bucket: new punches append at its right edge, so its pages stay nearly full
//	               (fill 0.95), and "all people between t1 and t2" is one seek per person.
//	clocks         clock serial -> u16 clock id | u64 number of punches stored from that clock
//	               (the dictionary behind the 2-byte clock id in punch keys, and the per-clock counts
//	               that Check compares with the punches bucket)
//	days           u16 year | u8 month | u8 day | user -> JSON attendance.Day
//	days_by_user   user 0x00 | u16 year | u8 month | u8 day -> empty (index of days, checked by Check)
//	roster         user -> JSON attendance.Person (replaced as a whole by PutRoster)
//	clock_users    clock 0x00 | user -> JSON device.User (one clock's table replaced by PutClockUsers)
//	registrations  u64 sequence -> JSON attendance.Registration without revocation fields (never
//	               rewritten); the id is "R" + the sequence as 8 decimal digits ("R00000042")
//	revocations    u64 sequence -> JSON {by, at, reason} (at most one per registration)
//	reg_by_user    user 0x00 | u64 sequence -> empty (index of registrations, checked by Check)
//	watermarks     clock name -> JSON Watermark
//	outbox         u64 sequence (bucket NextSequence, monotonic) -> u8 version | u8 flags | u8 qos |
//	               i64 enqueued unix nanos | uvarint-prefixed topic, key, event id | uvarint rev |
//	               uvarint-prefixed hash | payload (rest)
//	outbox_keys    coalescing key -> u64 outbox sequence of the pending entry with that key
//	published      event id -> u32 rev | payload hash (empty hash: that rev was trimmed unsent)
//	meta           key -> bytes (the daemon's small state, see GetMeta/PutMeta)
//	accounts       name -> JSON Account (the web console's users; the password as a bcrypt hash)
//	audit          u64 sequence -> JSON audit.Entry (never rewritten); the id is "A" + the sequence
//	               as 8 decimal digits; each entry's MQTT message is queued in the same transaction
//
// Added after version 2 without a migration (a writable Open creates them; read-only, an older
// file reads them as empty):
//
//	marks          unit 0x00 | u16 year | u8 month | u8 day | user -> JSON attendance.DayMark (a unit's
//	               mark of a day, with who recorded it and when; a later mark of the same day replaces
//	               it; PutMarks writes a whole imported sheet in one transaction)
//	findings       u64 sequence -> JSON attendance.Finding; the id is "F" + 8 digits; a revocation adds
//	               revoked_by/at/reason to the record and changes nothing else
//	sessions       hex SHA-256 of a web console session's token -> JSON Session (never the token);
//	               an account's sessions are deleted with its password change or its removal
//
// # The raw record
//
// A 40-byte ZK attendance record is mostly the punch's own fields (user id, packed time, state,
// verify, workcode). The store rebuilds a template of the record from the fields for the known
// layouts (8, 16 and 40-byte records; 10, 12, 14, 32, 36, 37 and ≥52-byte realtime payloads; any
// other length is all zeros) and keeps only the bytes that differ — typically the 2-byte internal
// uid. Flags say whether raw is absent, stored verbatim, or stored as a difference; the difference
// carries the UTC offset the template's wall time was computed with, so the raw bytes come back
// exactly whatever Options.Location a later Open uses. A punch with a 40-byte record costs about
// 37 bytes of leaf data (16 of them bbolt's element header) and about 66 bytes of file in all.
//
// # Schema versions and migrations
//
// The schema bucket holds the version. Open migrates an older file step by step, each step in its
// own transaction that also bumps the version; before the first step it copies the file to
// "<path>.v<N>.bak". Version 1 kept punches in a bucket "attlog" keyed by device.Punch.Key() with
// JSON values and had no days_by_user index; migration 1→2 rewrites both. A file newer than this
// code is refused (ErrSchemaTooNew), never modified.
//
// # Caveats
//
//   - bbolt takes an exclusive flock on the file: while punchd runs, no other process can open the
//     store for writing, and a read-only Open also waits (ErrLocked after Options.LockTimeout).
//     punchctl must talk to the daemon while it runs. The lock is per open file, so a second Open
//     of the same path inside one process fails the same way.
//   - At most 65,535 distinct clock serials (the 2-byte clock id); more is an ErrInvalid commit.
//   - An outbox entry's EventID/Rev is recorded when it is enqueued, not when the broker
//     acknowledges it: the outbox is durable, so "enqueued" is "will be published" unless trimmed,
//     and a trim clears the recorded hash so the event is sent again as rev+1.
//   - Punch times are whole seconds (clocks record no more); a sub-second part is dropped. Times come
//     back in Options.Location; instants are exact, the zone is the one given at Open.
//   - A punch is never deleted: a clock whose log was cleared or wrapped leaves the store untouched.
//   - When the same punch arrives twice with different raw bytes (a realtime payload and the pulled
//     record), the first stored raw bytes are kept.
//   - Check reads every punch: on a store of millions of punches it takes a second or so; set
//     Options.SkipCheck to open without it.
//   - bbolt never shrinks the file: space freed by outbox deletions is reused, not returned.
//   - Roster names that are empty are filled from the clocks' user tables when read (Roster, Person);
//     the stored roster keeps what was imported.
package store

import "errors"

// Sentinel errors. Compare with errors.Is; the returned errors wrap these with the path, the bucket
// or the item concerned.
var (
	// ErrLocked: Open could not take the file lock within Options.LockTimeout because another
	// process (usually the running daemon) holds it.
	ErrLocked = errors.New("held by another process (is punchd running?)")
	// ErrNoDirectory: the directory the store file goes in does not exist. Open creates the file,
	// never its directory: that is made by the package (systemd-tmpfiles) with the daemon user's
	// ownership, or by whoever runs punchd outside the package.
	ErrNoDirectory = errors.New("directory does not exist")
	// ErrNotStore: the file is a bbolt database but not a punchd store.
	ErrNotStore = errors.New("not a punchd store")
	// ErrEmptyFile: the store file exists but holds no bytes (a failed copy or restore, a full
	// disk). Open refuses it rather than write a new, empty store over the history it stood for.
	ErrEmptyFile = errors.New("store file is empty (0 bytes)")
	// ErrSchemaTooNew: the file was written by a newer punchd; it is left untouched.
	ErrSchemaTooNew = errors.New("store schema is newer than this program")
	// ErrNeedsMigration: a read-only Open found an older schema that only a writable Open migrates.
	ErrNeedsMigration = errors.New("store schema needs migration (open it writable once)")
	// ErrInconsistent: Check found buckets, indexes or counters that disagree.
	ErrInconsistent = errors.New("store is inconsistent")
	// ErrInvalid: an argument (a punch, day, entry, registration, id or range) cannot be stored.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound: no registration or account with that id or name.
	ErrNotFound = errors.New("not found")
	// ErrExists: an account with that name exists.
	ErrExists = errors.New("already exists")
	// ErrAlreadyRevoked: the registration was revoked before; a revocation is recorded once.
	ErrAlreadyRevoked = errors.New("registration already revoked")
	// ErrStaleRev: an outbox entry's Rev is not above the rev already recorded for its EventID.
	ErrStaleRev = errors.New("event revision not above the last one recorded")
	// ErrReadOnly: a write on a store opened with Options.ReadOnly.
	ErrReadOnly = errors.New("store opened read-only")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)
