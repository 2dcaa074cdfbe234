package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/store"
)

// A pull is committed in one transaction; committing the same pull again stores nothing new.
func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	loc := time.FixedZone("CST", 8*3600)
	db, err := store.Open(filepath.Join(dir, "punchd.db"), store.Options{Location: loc})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	at := time.Date(2021, 3, 1, 8, 31, 5, 0, loc)
	pull := []device.Punch{
		{Clock: "CDQ9201960012", UserID: "A1023", Time: at, State: 0, Verify: 1},
		{Clock: "CDQ9201960012", UserID: "A1023", Time: at.Add(4 * time.Hour), State: 1, Verify: 1},
	}
	ctx := context.Background()
	for range 2 {
		res, err := db.Commit(ctx, store.Batch{
			Punches:   pull,
			Watermark: &store.Watermark{Clock: "dangzhengban", Serial: "CDQ9201960012", Records: len(pull), LastPunch: pull[1].Time},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("new:", res.NewPunches, "already stored:", res.Duplicates)
	}
	ps, _ := db.PunchesFor("A1023", time.Date(2021, 3, 1, 0, 0, 0, 0, loc), time.Date(2021, 3, 2, 0, 0, 0, 0, loc))
	for _, p := range ps {
		fmt.Println(p.UserID, p.Time.Format(time.RFC3339), p.State)
	}
	// Output:
	// new: 2 already stored: 0
	// new: 0 already stored: 2
	// A1023 2021-03-01T08:31:05+08:00 0
	// A1023 2021-03-01T12:31:05+08:00 1
}
