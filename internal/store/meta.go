package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// GetMeta returns the daemon's value under key (a copy), or nil when there is none.
func (db *DB) GetMeta(key string) ([]byte, error) {
	if key == "" {
		return nil, fmt.Errorf("store %s: get meta: %w: empty key", db.path, ErrInvalid)
	}
	var out []byte
	err := db.view("get meta "+key, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get([]byte(key)); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, err
}

// PutMeta stores a small value under key; a nil v deletes the key.
func (db *DB) PutMeta(key string, v []byte) error {
	if key == "" {
		return fmt.Errorf("store %s: put meta: %w: empty key", db.path, ErrInvalid)
	}
	return db.update("put meta "+key, func(tx *bolt.Tx) error {
		if v == nil {
			return tx.Bucket(bMeta).Delete([]byte(key))
		}
		return tx.Bucket(bMeta).Put([]byte(key), v)
	})
}
