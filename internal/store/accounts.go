package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Account is a user of the web console. The store keeps what it is given: the role's meaning and
// the hashing of passwords belong to internal/web.
type Account struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Hash    []byte    `json:"hash"`    // the password's hash (bcrypt)
	Created time.Time `json:"created"` //
	Changed time.Time `json:"changed"` // when the password was last set: sessions from before it are void
}

func checkAccount(a Account) error {
	switch {
	case strings.TrimSpace(a.Name) == "" || len(a.Name) > 64:
		return fmt.Errorf("%w: account name %q is empty or longer than 64 bytes", ErrInvalid, a.Name)
	case a.Role == "":
		return fmt.Errorf("%w: account %q has no role", ErrInvalid, a.Name)
	case len(a.Hash) == 0:
		return fmt.Errorf("%w: account %q has no password hash", ErrInvalid, a.Name)
	}
	return nil
}

// AddAccount stores a new account, and c with it; ErrExists when the name is taken.
func (db *DB) AddAccount(a Account, c *Change) error {
	if err := checkAccount(a); err != nil {
		return fmt.Errorf("store %s: add account: %w", db.path, err)
	}
	return db.change("add account "+a.Name, c, func(tx *bolt.Tx) (string, error) {
		b := tx.Bucket(bAccounts)
		if b.Get([]byte(a.Name)) != nil {
			return "", fmt.Errorf("account %q: %w", a.Name, ErrExists)
		}
		return a.Name, putAccount(b, a)
	})
}

// UpdateAccount replaces an existing account (its password or role changed: its web sessions end
// with the change), and stores c with it; ErrNotFound when there is none by that name.
func (db *DB) UpdateAccount(a Account, c *Change) error {
	if err := checkAccount(a); err != nil {
		return fmt.Errorf("store %s: update account: %w", db.path, err)
	}
	return db.change("update account "+a.Name, c, func(tx *bolt.Tx) (string, error) {
		b := tx.Bucket(bAccounts)
		if b.Get([]byte(a.Name)) == nil {
			return "", fmt.Errorf("account %q: %w", a.Name, ErrNotFound)
		}
		if err := endSessions(tx, a.Name); err != nil {
			return "", err
		}
		return a.Name, putAccount(b, a)
	})
}

func putAccount(b *bolt.Bucket, a Account) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return b.Put([]byte(a.Name), v)
}

// RemoveAccount deletes an account and its web sessions, and stores c with it; ErrNotFound when
// there is none by that name.
func (db *DB) RemoveAccount(name string, c *Change) error {
	return db.change("remove account "+name, c, func(tx *bolt.Tx) (string, error) {
		b := tx.Bucket(bAccounts)
		if b.Get([]byte(name)) == nil {
			return "", fmt.Errorf("account %q: %w", name, ErrNotFound)
		}
		if err := endSessions(tx, name); err != nil {
			return "", err
		}
		return name, b.Delete([]byte(name))
	})
}

// Account returns the account by that name.
func (db *DB) Account(name string) (Account, bool, error) {
	var a Account
	var ok bool
	err := db.view("read account "+name, func(tx *bolt.Tx) error {
		b := tx.Bucket(bAccounts)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(name))
		if v == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("%w: account %q: %v", ErrInconsistent, name, err)
		}
		return nil
	})
	return a, ok, err
}

// Accounts lists the accounts by name.
func (db *DB) Accounts() ([]Account, error) {
	var out []Account
	err := db.view("list accounts", func(tx *bolt.Tx) error {
		b := tx.Bucket(bAccounts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var a Account
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("%w: account %q: %v", ErrInconsistent, k, err)
			}
			out = append(out, a)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}
