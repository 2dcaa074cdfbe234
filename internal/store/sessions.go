package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Session is a web console session kept across restarts of the daemon. It is stored under the
// SHA-256 of the browser's token: the token itself is never written. What a session may do is
// decided by internal/web, which also checks at every request that its account still exists with
// the same role and has not changed its password since.
type Session struct {
	Account string    `json:"account"`
	Role    string    `json:"role"`
	CSRF    string    `json:"csrf"` // the session's form token (useless without the session's cookie)
	From    string    `json:"from"`
	Created time.Time `json:"created"`
	Seen    time.Time `json:"seen"` // the last request, as last written (the console writes it now and then)
}

// PutSession stores (or replaces) the session under key, the hash of its token.
func (db *DB) PutSession(key string, s Session) error {
	if key == "" || s.Account == "" {
		return fmt.Errorf("store %s: put session: %w: empty key or account", db.path, ErrInvalid)
	}
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return db.update("put session", func(tx *bolt.Tx) error { return tx.Bucket(bSessions).Put([]byte(key), v) })
}

// Session returns the session stored under key.
func (db *DB) Session(key string) (Session, bool, error) {
	var s Session
	var ok bool
	err := db.view("read session", func(tx *bolt.Tx) error {
		b := tx.Bucket(bSessions)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("%w: session: %v", ErrInconsistent, err)
		}
		s.Created, s.Seen = db.in(s.Created), db.in(s.Seen)
		return nil
	})
	return s, ok, err
}

// DeleteSessions deletes the sessions drop says to (a logout, the expired ones) and returns how
// many it deleted.
func (db *DB) DeleteSessions(drop func(key string, s Session) bool) (int, error) {
	var n int
	err := db.update("delete sessions", func(tx *bolt.Tx) (err error) {
		n, err = deleteSessions(tx, drop)
		return err
	})
	return n, err
}

// deleteSessions deletes, in tx, the sessions drop says to (an unreadable one too).
func deleteSessions(tx *bolt.Tx, drop func(key string, s Session) bool) (int, error) {
	b := tx.Bucket(bSessions)
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var s Session
		if json.Unmarshal(v, &s) != nil || drop(string(k), s) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// endSessions ends an account's sessions, in the transaction that changes or removes it.
func endSessions(tx *bolt.Tx, account string) error {
	_, err := deleteSessions(tx, func(_ string, s Session) bool { return s.Account == account })
	return err
}
