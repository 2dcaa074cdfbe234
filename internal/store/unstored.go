package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/device"
)

// Unstored returns the punches of ps that are not in the store yet (each once, in the order given),
// without writing. The daemon uses it, under its single-writer lock, to judge only the days that a
// pull really changes before committing the punches and the re-judged days in one transaction.
func (db *DB) Unstored(ctx context.Context, ps []device.Punch) ([]device.Punch, error) {
	var out []device.Punch
	err := db.view("find unstored punches", func(tx *bolt.Tx) error {
		dict, err := loadClocks(tx)
		if err != nil {
			return err
		}
		bk := tx.Bucket(bPunches)
		seen := make(map[string]bool)
		for i, p := range ps {
			if i%4096 == 4095 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := validatePunch(i, p); err != nil {
				return err
			}
			id, known := dict.ids[p.Clock]
			if sub := bk.Bucket([]byte(p.UserID)); known && sub != nil && sub.Get(punchKey(p.Time.Unix(), id, p.State, p.Verify)) != nil {
				continue
			}
			k := p.Key()
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
