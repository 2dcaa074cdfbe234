package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// PutRoster replaces the whole roster atomically, and stores c with it. Every person needs a
// valid, unique user id.
func (db *DB) PutRoster(people []attendance.Person, c *Change) error {
	seen := make(map[string]int, len(people))
	for i, p := range people {
		if err := checkUserID(p.UserID); err != nil {
			return fmt.Errorf("store %s: roster entry %d (%s): %w", db.path, i+1, p.Name, err)
		}
		if j, dup := seen[p.UserID]; dup {
			return fmt.Errorf("store %s: roster entries %d and %d: %w: duplicate user id %q", db.path, j+1, i+1, ErrInvalid, p.UserID)
		}
		seen[p.UserID] = i
		if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
			return fmt.Errorf("store %s: roster entry %d (%s): %w: to %s is before from %s", db.path, i+1, p.UserID, ErrInvalid, p.To, p.From)
		}
		if p.Tracking != "" {
			if _, err := attendance.ParseTracking(string(p.Tracking)); err != nil {
				return fmt.Errorf("store %s: roster entry %d (%s): %w: %v", db.path, i+1, p.UserID, ErrInvalid, err)
			}
		}
	}
	return db.change("put roster", c, func(tx *bolt.Tx) (string, error) {
		if err := tx.DeleteBucket(bRoster); err != nil {
			return "", err
		}
		b, err := tx.CreateBucket(bRoster)
		if err != nil {
			return "", err
		}
		for _, p := range people {
			v, err := json.Marshal(p)
			if err != nil {
				return "", err
			}
			if err := b.Put([]byte(p.UserID), v); err != nil {
				return "", err
			}
		}
		return "", nil
	})
}

// clockNames is the first non-empty name each user id has on any clock (clocks in name order).
func clockNames(tx *bolt.Tx) (map[string]string, error) {
	names := map[string]string{}
	err := tx.Bucket(bClockUsers).ForEach(func(k, v []byte) error {
		var u device.User
		if err := json.Unmarshal(v, &u); err != nil {
			return fmt.Errorf("%w: clock user %q: %v", ErrInconsistent, k, err)
		}
		if _, ok := names[u.UserID]; !ok && strings.TrimSpace(u.Name) != "" {
			names[u.UserID] = u.Name
		}
		return nil
	})
	return names, err
}

// Roster returns the roster in user id order, with empty names filled from the clocks' user
// tables.
func (db *DB) Roster() ([]attendance.Person, error) {
	var out []attendance.Person
	err := db.view("roster", func(tx *bolt.Tx) error {
		names, err := clockNames(tx)
		if err != nil {
			return err
		}
		return tx.Bucket(bRoster).ForEach(func(k, v []byte) error {
			var p attendance.Person
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("%w: roster %q: %v", ErrInconsistent, k, err)
			}
			if p.Name == "" {
				p.Name = names[p.UserID]
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// Person returns one roster entry (name filled as in Roster).
func (db *DB) Person(id string) (attendance.Person, bool, error) {
	var p attendance.Person
	var ok bool
	err := db.view("person "+id, func(tx *bolt.Tx) error {
		v := tx.Bucket(bRoster).Get([]byte(id))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("%w: roster %q: %v", ErrInconsistent, id, err)
		}
		ok = true
		if p.Name == "" {
			names, err := clockNames(tx)
			if err != nil {
				return err
			}
			p.Name = names[id]
		}
		return nil
	})
	return p, ok, err
}

// PutClockUsers replaces the user table stored for one clock (its name or serial, as the caller
// chooses consistently). Passwords and raw name bytes are not stored.
func (db *DB) PutClockUsers(clock string, users []device.User) error {
	if err := CheckClockUsers(clock, users); err != nil {
		return fmt.Errorf("store %s: %w", db.path, err)
	}
	return db.update("put clock users "+clock, func(tx *bolt.Tx) error { return putClockUsers(tx, clock, users) })
}

// CheckClockUsers reports whether a clock's user table can be stored (PutClockUsers, Batch.Users):
// a clock name, and user ids the store can key.
func CheckClockUsers(clock string, users []device.User) error {
	if clock == "" || strings.IndexByte(clock, 0) >= 0 {
		return fmt.Errorf("clock users: %w: clock name %q", ErrInvalid, clock)
	}
	for i, u := range users {
		if err := checkUserID(u.UserID); err != nil {
			return fmt.Errorf("clock %s user %d (uid %d): %w", clock, i, u.UID, err)
		}
	}
	return nil
}

func putClockUsers(tx *bolt.Tx, clock string, users []device.User) error {
	b := tx.Bucket(bClockUsers)
	prefix := userPrefix(clock)
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for _, u := range users {
		v, err := json.Marshal(u)
		if err != nil {
			return err
		}
		if err := b.Put(append(append([]byte(nil), prefix...), u.UserID...), v); err != nil {
			return err
		}
	}
	return nil
}

// ClockUsers returns the stored user tables by clock, each in user id order.
func (db *DB) ClockUsers() (map[string][]device.User, error) {
	out := map[string][]device.User{}
	err := db.view("clock users", func(tx *bolt.Tx) error {
		return tx.Bucket(bClockUsers).ForEach(func(k, v []byte) error {
			i := bytes.IndexByte(k, 0)
			if i <= 0 {
				return fmt.Errorf("%w: malformed clock user key %x", ErrInconsistent, k)
			}
			var u device.User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("%w: clock user %q: %v", ErrInconsistent, k, err)
			}
			out[string(k[:i])] = append(out[string(k[:i])], u)
			return nil
		})
	})
	return out, err
}

// UnknownUser is someone a clock knows, or who punched, but who is not on the roster.
type UnknownUser struct {
	UserID  string   `json:"user_id"`
	Name    string   `json:"name"`    // from a clock's user table; empty if none has it
	Clocks  []string `json:"clocks"`  // the clocks whose user table lists them
	Punched bool     `json:"punched"` // there are stored punches of theirs
}

// Unknown lists the people on a clock's user table or in the punches who are not on the roster,
// in user id order. They are kept, never dropped: the office decides.
func (db *DB) Unknown() ([]UnknownUser, error) {
	byID := map[string]*UnknownUser{}
	get := func(id string) *UnknownUser {
		u := byID[id]
		if u == nil {
			u = &UnknownUser{UserID: id}
			byID[id] = u
		}
		return u
	}
	err := db.view("unknown users", func(tx *bolt.Tx) error {
		roster := tx.Bucket(bRoster)
		err := tx.Bucket(bClockUsers).ForEach(func(k, v []byte) error {
			var cu device.User
			if err := json.Unmarshal(v, &cu); err != nil {
				return fmt.Errorf("%w: clock user %q: %v", ErrInconsistent, k, err)
			}
			i := bytes.IndexByte(k, 0)
			if i <= 0 {
				return fmt.Errorf("%w: malformed clock user key %x", ErrInconsistent, k)
			}
			if roster.Get([]byte(cu.UserID)) != nil {
				return nil
			}
			u := get(cu.UserID)
			if u.Name == "" {
				u.Name = cu.Name
			}
			u.Clocks = append(u.Clocks, string(k[:i]))
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bPunches).ForEach(func(k, _ []byte) error {
			if roster.Get(k) == nil {
				get(string(k)).Punched = true
			}
			return nil
		})
	})
	out := make([]UnknownUser, 0, len(byID))
	for _, u := range byID {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b UnknownUser) int { return strings.Compare(a.UserID, b.UserID) })
	return out, err
}
