package store_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/store"
)

// The test binary re-executes itself as a child that holds or writes the store.
const childEnv = "PUNCHD_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode, os.Getenv("PUNCHD_STORE_TEST_PATH")))
	}
	os.Exit(m.Run())
}

func child(mode, path string) int {
	db, err := store.Open(path, store.Options{Location: shanghai})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	switch mode {
	case "hold": // hold the lock until stdin closes
		fmt.Println("open")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		_ = db.Close()
		return 0
	case "write": // commit batches forever; the parent kills us
		start := time.Date(2021, 3, 1, 0, 0, 0, 0, shanghai)
		total := 0
		for i := 0; ; i++ {
			log := officeLog(25, 10, start.AddDate(0, 0, 10*i)) // 1,000 punches per batch
			total += len(log)
			b := store.Batch{
				Punches:   log,
				Days:      []attendance.Day{{UserID: "1001", Date: attendance.DateOf(start.AddDate(0, 0, 10*i)), Status: attendance.StatusNormal}},
				Outbox:    []store.OutboxEntry{{Topic: "p/days", Payload: []byte(strconv.Itoa(i)), EventID: "batch-" + strconv.Itoa(i), Rev: 1}},
				Watermark: &store.Watermark{Clock: "dzb", Serial: serial, Records: total},
			}
			if _, err := db.Commit(context.Background(), b); err != nil {
				fmt.Println("error", err)
				return 1
			}
			fmt.Println("batch", i)
		}
	}
	return 2
}

func startChild(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner, func()) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "PUNCHD_STORE_TEST_PATH="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t.Cleanup(done)
	return cmd, bufio.NewScanner(out), done
}

func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "punchd.db")
	_, sc, done := startChild(t, "hold", path)
	if !sc.Scan() || sc.Text() != "open" {
		t.Fatalf("child did not open the store: %q %v", sc.Text(), sc.Err())
	}
	_, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	want := "store " + path + ": held by another process (is punchd running?)"
	if err.Error() != want {
		t.Fatalf("error text %q, want %q", err, want)
	}
	// Read-only opens wait for the exclusive lock too.
	if _, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond, ReadOnly: true}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("read-only open: %v, want ErrLocked", err)
	}
	done()
	db := mustOpen(t, path, store.Options{})
	_ = db.Close()
}

func TestLockedWithinProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "punchd.db")
	mustOpen(t, path, store.Options{})
	// flock is per open file: a second Open in the same process is refused as well.
	if _, err := store.Open(path, store.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open in process: %v, want ErrLocked", err)
	}
}

func TestCrashBetweenBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "punchd.db")
	cmd, sc, _ := startChild(t, "write", path)
	seen := 0
	for seen < 3 && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "batch ") {
			seen++
		} else {
			t.Fatalf("child: %s", sc.Text())
		}
	}
	// Kill it in the middle of whatever commit it is in.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db := mustOpen(t, path, store.Options{}) // runs Check
	n, err := db.CountPunches()
	if err != nil {
		t.Fatal(err)
	}
	all, _ := db.PunchesBetween(time.Time{}, time.Time{})
	wm, ok, _ := db.Watermark("dzb")
	cnt, _, _ := db.OutboxStats()
	days, _ := db.Days(attendance.Date{}, attendance.Date{})
	batches := n / 1000
	t.Logf("after the kill: %d punches, %d batches (child reported %d)", n, batches, seen)
	if n%1000 != 0 || batches < seen || len(all) != n {
		t.Fatalf("%d punches (%d readable): not whole batches of 1000, or fewer than the %d reported", n, len(all), seen)
	}
	if !ok || wm.Records != n || cnt != batches || len(days) != batches {
		t.Fatalf("batch parts disagree: watermark %d (%v), outbox %d, days %d, punches %d", wm.Records, ok, cnt, len(days), n)
	}
	for i := 0; i < batches; i++ {
		if rev, _, ok, _ := db.PublishedEvent("batch-" + strconv.Itoa(i)); !ok || rev != 1 {
			t.Fatalf("published index lacks batch %d", i)
		}
	}
}

// buildV1 writes a schema-1 file by hand: punches in "attlog" under device.Punch.Key() with
// JSON values, days without the by-user index.
func buildV1(t *testing.T, path string, punches []device.Punch, days []attendance.Day) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		s, _ := tx.CreateBucket([]byte("schema"))
		_ = s.Put([]byte("version"), binary.BigEndian.AppendUint32(nil, 1))
		_ = s.Put([]byte("created"), binary.BigEndian.AppendUint64(nil, uint64(created.UnixNano())))
		a, _ := tx.CreateBucket([]byte("attlog"))
		for _, p := range punches {
			v, _ := json.Marshal(map[string]any{"clock": p.Clock, "user_id": p.UserID, "time": p.Time.Format(time.RFC3339),
				"state": p.State, "verify": p.Verify, "workcode": p.WorkCode, "raw": p.Raw})
			if err := a.Put([]byte(p.Key()), v); err != nil {
				return err
			}
		}
		d, _ := tx.CreateBucket([]byte("days"))
		for _, day := range days {
			v, _ := json.Marshal(day)
			k := binary.BigEndian.AppendUint16(nil, uint16(day.Date.Year))
			k = append(k, byte(day.Date.Month), byte(day.Date.Day))
			if err := d.Put(append(k, day.UserID...), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMigrateFromV1(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "punchd.db")
	log := officeLog(10, 5, time.Date(2021, 3, 1, 0, 0, 0, 0, shanghai))
	log[3].WorkCode = 77
	log[4].Raw = nil
	day := attendance.Day{UserID: "1003", Date: attendance.Date{Year: 2021, Month: 3, Day: 2}, Status: attendance.StatusAbsent, DayType: attendance.Workday}
	buildV1(t, path, log, []attendance.Day{day})

	// Read-only cannot migrate.
	if _, err := store.Open(path, store.Options{ReadOnly: true, Location: shanghai}); !errors.Is(err, store.ErrNeedsMigration) {
		t.Fatalf("read-only open of v1: %v, want ErrNeedsMigration", err)
	}
	db := mustOpen(t, path, store.Options{})
	if _, err := os.Stat(path + ".v1.bak"); err != nil {
		t.Fatalf("no copy before migrating: %v", err)
	}
	if !db.Created().Equal(created) {
		t.Fatalf("creation time lost: %v", db.Created())
	}
	n, _ := db.CountPunches()
	if n != len(log) {
		t.Fatalf("%d punches after migration, want %d", n, len(log))
	}
	for _, want := range log {
		got, err := db.PunchesFor(want.UserID, want.Time, want.Time.Add(time.Second))
		if err != nil || len(got) != 1 {
			t.Fatalf("punch %s after migration: %v %v", want.Key(), got, err)
		}
		samePunch(t, got[0], want, shanghai)
	}
	if ds, _ := db.DaysFor("1003", attendance.Date{}, attendance.Date{}); len(ds) != 1 || ds[0].Status != attendance.StatusAbsent {
		t.Fatalf("day index not built: %+v", ds)
	}
	// Ingest continues to dedupe against migrated punches.
	if res, err := db.Commit(context.Background(), store.Batch{Punches: log}); err != nil || res.NewPunches != 0 {
		t.Fatalf("re-pull after migration: %+v %v", res, err)
	}
	_ = db.Close()
	db = mustOpen(t, path, store.Options{}) // already current: opens without migrating
	if n, _ := db.CountPunches(); n != len(log) {
		t.Fatalf("reopen: %d", n)
	}
	// The copy taken before migrating is still schema 1 and still migrates.
	cp := filepath.Join(dir, "copy.db")
	b, _ := os.ReadFile(path + ".v1.bak")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db2 := mustOpen(t, cp, store.Options{})
	if n, _ := db2.CountPunches(); n != len(log) {
		t.Fatalf("copy migrated to %d punches", n)
	}
}

func TestOpenRefusesForeignAndNewerFiles(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	bdb, _ := bolt.Open(foreign, 0o600, nil)
	_ = bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	_ = bdb.Close()
	if _, err := store.Open(foreign, store.Options{}); !errors.Is(err, store.ErrNotStore) {
		t.Fatalf("foreign bbolt file: %v, want ErrNotStore", err)
	}
	newer := filepath.Join(dir, "newer.db")
	bdb, _ = bolt.Open(newer, 0o600, nil)
	_ = bdb.Update(func(tx *bolt.Tx) error {
		s, _ := tx.CreateBucket([]byte("schema"))
		return s.Put([]byte("version"), binary.BigEndian.AppendUint32(nil, store.SchemaVersion+1))
	})
	_ = bdb.Close()
	before, _ := os.ReadFile(newer)
	if _, err := store.Open(newer, store.Options{}); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("newer schema: %v, want ErrSchemaTooNew", err)
	}
	if after, _ := os.ReadFile(newer); !bytes.Equal(before, after) {
		t.Fatal("a newer file was modified")
	}
	junk := filepath.Join(dir, "junk.db")
	_ = os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 1000), 0o600)
	if _, err := store.Open(junk, store.Options{}); err == nil || !strings.Contains(err.Error(), junk) {
		t.Fatalf("junk file: %v", err)
	}
	if _, err := store.Open(filepath.Join(dir, "new.db"), store.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open created a store")
	}
}

// TestOpenMissingDirectory: the store's directory is made by the package, not by Open; the error
// says so and what to do without it.
func TestOpenMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "punchd")
	path := filepath.Join(dir, "punchd.db")
	_, err := store.Open(path, store.Options{})
	if !errors.Is(err, store.ErrNoDirectory) {
		t.Fatalf("Open in a missing directory: %v, want ErrNoDirectory", err)
	}
	want := "store " + path + ": directory does not exist: " + dir + ": the punchd package creates it; outside the package create it, " +
		"writable by the user punchd runs as (mkdir -p " + dir + "), or put the store elsewhere ([store] path)"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open made the directory: %v", err)
	}
}

func TestCheckFindsInconsistencies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "punchd.db")
	db := mustOpen(t, path, store.Options{})
	day := attendance.Day{UserID: "1001", Date: attendance.Date{Year: 2021, Month: 3, Day: 1}}
	if _, err := db.Commit(context.Background(), store.Batch{Punches: officeLog(3, 2, created), Days: []attendance.Day{day}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddRegistration(attendance.Registration{UserID: "1001", Kind: attendance.KindLeave, From: created, To: created.Add(time.Hour), RegisteredBy: "办公室"}, nil); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	// Break it behind the store's back: a day index entry, a clock counter, a registration index.
	bdb, _ := bolt.Open(path, 0o600, nil)
	_ = bdb.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("days_by_user")).Cursor()
		k, _ := c.First()
		_ = tx.Bucket([]byte("days_by_user")).Delete(k)
		cb := tx.Bucket([]byte("clocks"))
		v := append([]byte(nil), cb.Get([]byte(serial))...)
		binary.BigEndian.PutUint64(v[2:], 5)
		_ = cb.Put([]byte(serial), v)
		return tx.Bucket([]byte("reg_by_user")).Put(append([]byte("ghost\x00"), binary.BigEndian.AppendUint64(nil, 99)...), nil)
	})
	_ = bdb.Close()
	_, err := store.Open(path, store.Options{Location: shanghai})
	if !errors.Is(err, store.ErrInconsistent) {
		t.Fatalf("open of a broken store: %v, want ErrInconsistent", err)
	}
	for _, want := range []string{"not in days_by_user", "counter says 5 punches, 24 stored", "not in registrations"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check error lacks %q: %v", want, err)
		}
	}
	db = mustOpen(t, path, store.Options{SkipCheck: true})
	if err := db.Check(); !errors.Is(err, store.ErrInconsistent) {
		t.Fatalf("Check: %v", err)
	}
}

func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "punchd.db"), store.Options{})
	ctx := context.Background()
	log := officeLog(20, 10, created)
	if _, err := db.Commit(ctx, store.Batch{Punches: log,
		Days:      []attendance.Day{{UserID: "1001", Date: attendance.Date{Year: 2021, Month: 3, Day: 1}, Status: attendance.StatusNormal}},
		Outbox:    []store.OutboxEntry{{Topic: "p/events/late", Payload: []byte(`{"id":"x"}`), EventID: "x", Rev: 1, Hash: []byte{1, 2}}},
		Watermark: &store.Watermark{Clock: "dzb", Serial: serial, Records: len(log)}}); err != nil {
		t.Fatal(err)
	}
	reg, err := db.AddRegistration(attendance.Registration{UserID: "1001", Kind: attendance.KindTrip, From: created, To: created.AddDate(0, 0, 2), Reason: "县里开会", RegisteredBy: "办公室"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.PutMeta("k", []byte("v"))

	var buf bytes.Buffer
	n, err := db.Backup(ctx, &buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup to a writer: %d bytes, buffer %d, %v", n, buf.Len(), err)
	}
	bak := filepath.Join(dir, "backups", "punchd-2021-03-01.db")
	_ = os.MkdirAll(filepath.Dir(bak), 0o700)
	if _, err := db.BackupFile(ctx, bak); err != nil {
		t.Fatal(err)
	}
	// The store goes on while the backup stays as it was.
	if _, err := db.Commit(ctx, store.Batch{Punches: officeLog(20, 1, created.AddDate(0, 0, 10))}); err != nil {
		t.Fatal(err)
	}
	// Restore = put the file in place and open it.
	restored := filepath.Join(dir, "restored.db")
	b, _ := os.ReadFile(bak)
	_ = os.WriteFile(restored, b, 0o600)
	r := mustOpen(t, restored, store.Options{})
	got, _ := r.PunchesBetween(time.Time{}, time.Time{})
	if len(got) != len(log) {
		t.Fatalf("restored %d punches, want %d", len(got), len(log))
	}
	if regs, _ := r.Registrations(time.Time{}, time.Time{}); len(regs) != 1 || regs[0].ID != reg.ID || regs[0].Reason != "县里开会" {
		t.Fatalf("restored registrations %+v", regs)
	}
	if ob, _ := r.OutboxPeek(10); len(ob) != 1 || string(ob[0].Payload) != `{"id":"x"}` {
		t.Fatalf("restored outbox %+v", ob)
	}
	if v, _ := r.GetMeta("k"); string(v) != "v" {
		t.Fatalf("restored meta %q", v)
	}
	if !r.Created().Equal(db.Created()) {
		t.Fatal("restored creation time differs")
	}
	// Refusals leave no temp files behind.
	if _, err := db.BackupFile(ctx, db.Path()); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("backup over the store itself: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.BackupFile(cctx, filepath.Join(dir, "cancelled.db")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backup: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") || e.Name() == "cancelled.db" {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

func TestReadOnlyOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "punchd.db")
	db := mustOpen(t, path, store.Options{})
	if _, err := db.Commit(context.Background(), store.Batch{Punches: officeLog(2, 1, created)}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	ro := mustOpen(t, path, store.Options{ReadOnly: true})
	if n, _ := ro.CountPunches(); n != 8 {
		t.Fatalf("read-only count %d", n)
	}
	if err := ro.PutMeta("k", []byte("v")); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("write on read-only: %v", err)
	}
	_ = ro.Close()
	if _, err := ro.CountPunches(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// A zero-length store file (a failed restore or copy) is refused with how to restore or remove
// it, and left as it is: never replaced by a new, empty store.
func TestOpenRefusesEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "punchd.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := store.Open(path, store.Options{ReadOnly: ro})
		if !errors.Is(err, store.ErrEmptyFile) || !strings.Contains(err.Error(), "restore it from a backup") || !strings.Contains(err.Error(), "rm "+path) {
			t.Fatalf("read-only %v: %v", ro, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("the empty file was touched: %v %v", fi, err)
	}
}

// ReleaseMapped gives back the map's pages; the store reads on as before.
func TestReleaseMapped(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "punchd.db"), store.Options{})
	before, err := db.Size()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseMapped(); err != nil {
		t.Fatal(err)
	}
	if after, err := db.Size(); err != nil || after != before {
		t.Fatalf("after releasing the map: size %d (%v), was %d", after, err, before)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("check after releasing the map: %v", err)
	}
}

// ReleaseMapped while commits grow the file (and bbolt remaps it) neither races with the remap nor
// loses a punch: it gives back the map it holds in place, never a range the map has left.
func TestReleaseMappedWhileGrowing(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "punchd.db"), store.Options{NoSync: true})
	ctx := context.Background()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, shanghai)
	done := make(chan struct{})
	released := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-done:
				released <- n
				return
			default:
			}
			if err := db.ReleaseMapped(); err != nil {
				t.Errorf("release the map: %v", err)
			}
			n++
		}
	}()
	var want, got int
	for i := range 8 {
		log := officeLog(100, 20, start.AddDate(0, 0, 20*i)) // thousands of punches a batch: the file grows
		res, err := db.Commit(ctx, store.Batch{Punches: log})
		if err != nil {
			t.Fatal(err)
		}
		want, got = want+len(log), got+res.NewPunches
	}
	close(done)
	if n := <-released; n == 0 {
		t.Fatal("the map was never released while the store grew")
	}
	if got != want {
		t.Fatalf("stored %d new punches, want %d", got, want)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("check after releasing the map while growing: %v", err)
	}
}
