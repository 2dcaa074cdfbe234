package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/store"
)

const benchBatch = 10_000

// benchLog is n punches of 200 people in a clock's order (four a day), starting at day.
func benchLog(n int, day time.Time) []device.Punch {
	days := (n + 799) / 800
	return officeLog(200, days, day)[:n]
}

// BenchmarkIngest commits batches of 10,000 new punches, one transaction each, with fsync (as
// the daemon runs) and without (the CPU side alone). Figure: punches/s.
func BenchmarkIngest(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"), store.Options{NoSync: !sync})
			ctx := context.Background()
			start := time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)
			var elapsed time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				log := benchLog(benchBatch, start.AddDate(0, 0, 13*i))
				b.StartTimer()
				t0 := time.Now()
				res, err := db.Commit(ctx, store.Batch{Punches: log})
				elapsed += time.Since(t0)
				if err != nil || res.NewPunches != benchBatch {
					b.Fatalf("commit %d: %d new, %v", i, res.NewPunches, err)
				}
			}
			b.ReportMetric(float64(b.N*benchBatch)/elapsed.Seconds(), "punches/s")
		})
	}
}

// BenchmarkIngestRepull commits a re-pull of 10,000 punches already stored (the common case:
// every poll reads the whole log). Figure: punches/s.
func BenchmarkIngestRepull(b *testing.B) {
	db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	ctx := context.Background()
	log := benchLog(benchBatch, time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai))
	if _, err := db.Commit(ctx, store.Batch{Punches: log}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := db.Commit(ctx, store.Batch{Punches: log})
		if err != nil || res.Duplicates != benchBatch {
			b.Fatalf("re-pull: %+v %v", res.Duplicates, err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "punches/s")
}

// BenchmarkBytesPerPunch stores 100,000 punches (200 people, 40-byte raw records) in ten
// batches of 10,000 and reports the data size (bbolt's high-water mark) and file size per punch.
func BenchmarkBytesPerPunch(b *testing.B) {
	const total = 100_000
	log := benchLog(total, time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai))
	var size, file int64
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "bytes.db")
		db, err := store.Open(path, store.Options{Location: shanghai, NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < total; i += benchBatch {
			if _, err := db.Commit(context.Background(), store.Batch{Punches: log[i : i+benchBatch]}); err != nil {
				b.Fatal(err)
			}
		}
		if size, err = db.Size(); err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		file = fi.Size()
	}
	b.ReportMetric(float64(size)/total, "B/punch")
	b.ReportMetric(float64(file)/total, "file-B/punch")
}

// BenchmarkReadMonth reads one month of punches of 200 people (from a store holding three
// months): all at once, and person by person.
func BenchmarkReadMonth(b *testing.B) {
	db := mustOpen(b, filepath.Join(b.TempDir(), "read.db"), store.Options{NoSync: true})
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, shanghai)
	log := officeLog(200, 90, start)
	if _, err := db.Commit(context.Background(), store.Batch{Punches: log}); err != nil {
		b.Fatal(err)
	}
	from, to := time.Date(2021, 2, 1, 0, 0, 0, 0, shanghai), time.Date(2021, 3, 1, 0, 0, 0, 0, shanghai)
	want := 200 * 4 * 28
	b.Run("between", func(b *testing.B) {
		for b.Loop() {
			ps, err := db.PunchesBetween(from, to)
			if err != nil || len(ps) != want {
				b.Fatalf("%d punches, %v; want %d", len(ps), err, want)
			}
		}
	})
	b.Run("per-person", func(b *testing.B) {
		roster := map[string]bool{}
		for _, p := range log[:200] {
			roster[p.UserID] = true
		}
		for b.Loop() {
			n := 0
			for id := range roster {
				ps, err := db.PunchesFor(id, from, to)
				if err != nil {
					b.Fatal(err)
				}
				n += len(ps)
			}
			if n != want {
				b.Fatalf("%d punches, want %d", n, want)
			}
		}
	})
}

// BenchmarkOpenCheck opens a store of 100,000 punches, which runs Check (every punch decoded).
func BenchmarkOpenCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "check.db")
	db, err := store.Open(path, store.Options{Location: shanghai, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	log := benchLog(100_000, time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai))
	if _, err := db.Commit(context.Background(), store.Batch{Punches: log}); err != nil {
		b.Fatal(err)
	}
	_ = db.Close()
	for b.Loop() {
		db, err := store.Open(path, store.Options{Location: shanghai})
		if err != nil {
			b.Fatal(err)
		}
		_ = db.Close()
	}
}
