package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/device"
)

// migration moves a store from schema version from to from+1, inside one write transaction.
type migration struct {
	from int
	name string
	up   func(db *DB, tx *bolt.Tx) error
}

// migrations are applied in order; each step's transaction also writes the new version, so a
// crash leaves the file at the old or the new version, never between.
var migrations = []migration{
	{from: 1, name: "punches: text keys and JSON values in attlog -> binary keys in punches; index days by user", up: migrate1to2},
}

func (db *DB) migrate(version int) error {
	bak := fmt.Sprintf("%s.v%d.bak", db.path, version)
	if err := db.bolt.View(func(tx *bolt.Tx) error { return tx.CopyFile(bak, 0o600) }); err != nil {
		return fmt.Errorf("migrate: copy to %s before migrating: %w", bak, err)
	}
	db.opts.Logger.Info("store migrating", "path", db.path, "from", version, "to", SchemaVersion, "backup", bak)
	for v := version; v < SchemaVersion; v++ {
		var step *migration
		for i := range migrations {
			if migrations[i].from == v {
				step = &migrations[i]
			}
		}
		if step == nil {
			return fmt.Errorf("migrate: no migration from schema %d", v)
		}
		start := time.Now()
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			if err := step.up(db, tx); err != nil {
				return err
			}
			return tx.Bucket(bSchema).Put(kVersion, be32(uint32(v+1)))
		})
		if err != nil {
			return fmt.Errorf("migrate %d->%d (%s): %w (the file is unchanged at schema %d; copy in %s)", v, v+1, step.name, err, v, bak)
		}
		db.opts.Logger.Info("store migrated", "path", db.path, "from", v, "to", v+1, "step", step.name, "took", time.Since(start))
	}
	return nil
}

// v1Punch is a punch as schema 1 stored it (JSON under device.Punch.Key()).
type v1Punch struct {
	Clock    string    `json:"clock"`
	UserID   string    `json:"user_id"`
	Time     time.Time `json:"time"`
	State    uint8     `json:"state"`
	Verify   uint8     `json:"verify"`
	WorkCode uint32    `json:"workcode"`
	Raw      []byte    `json:"raw"`
}

var bV1Attlog = []byte("attlog")

func migrate1to2(db *DB, tx *bolt.Tx) error {
	if old := tx.Bucket(bV1Attlog); old != nil {
		var batch []device.Punch
		err := old.ForEach(func(k, v []byte) error {
			var p v1Punch
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("attlog %q: %w", k, err)
			}
			dp := device.Punch{Clock: p.Clock, UserID: p.UserID, Time: p.Time, State: p.State, Verify: p.Verify, WorkCode: p.WorkCode, Raw: p.Raw}
			if dp.Key() != string(k) {
				return fmt.Errorf("attlog %q: value is punch %q", k, dp.Key())
			}
			if err := validatePunch(len(batch), dp); err != nil {
				return fmt.Errorf("attlog %q: %w", k, err)
			}
			batch = append(batch, dp)
			return nil
		})
		if err != nil {
			return err
		}
		var res CommitResult
		if err := db.putPunches(context.Background(), tx, batch, &res); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bV1Attlog); err != nil {
			return err
		}
		db.opts.Logger.Info("store migration: punches rewritten", "path", db.path, "punches", res.NewPunches, "duplicates", res.Duplicates)
	}
	// Schema 1 had no days_by_user: build it.
	idx := tx.Bucket(bDaysByUser)
	return tx.Bucket(bDays).ForEach(func(k, _ []byte) error {
		if len(k) < 5 || bytes.IndexByte(k[4:], 0) >= 0 {
			return fmt.Errorf("days key %x malformed", k)
		}
		return idx.Put(dayIndexKey(string(k[4:]), dateFromKey(k)), nil)
	})
}
