package store_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/store"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// fixedNow is an injectable clock.
func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

var created = time.Date(2021, 3, 1, 7, 0, 0, 0, shanghai)

// mustOpen opens a store in dir (or a fresh temp dir) and closes it when the test ends.
func mustOpen(tb testing.TB, path string, opts store.Options) *store.DB {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "punchd.db")
	}
	if opts.Location == nil {
		opts.Location = shanghai
	}
	if opts.Now == nil {
		opts.Now = fixedNow(created)
	}
	db, err := store.Open(path, opts)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// packTime is the ZK packed time (shared/zk-protocol.md §2.8), written here independently of
// the store's own template code.
func packTime(t time.Time) uint32 {
	return uint32(((t.Year()%100)*12*31+(int(t.Month())-1)*31+t.Day()-1)*86400 + (t.Hour()*60+t.Minute())*60 + t.Second())
}

// record40 builds a 40-byte attendance record as a clock sends it.
func record40(uid uint16, user string, t time.Time, verify, state uint8, workcode uint32) []byte {
	r := make([]byte, 40)
	binary.LittleEndian.PutUint16(r, uid)
	copy(r[2:26], user)
	r[26] = verify
	binary.LittleEndian.PutUint32(r[27:], packTime(t))
	r[31] = state
	binary.LittleEndian.PutUint32(r[32:], workcode)
	r[36] = 0xFF
	return r
}

// event36 builds the 36-byte realtime EF_ATTLOG payload for the same punch.
func event36(user string, t time.Time, verify, state uint8, workcode uint32) []byte {
	r := make([]byte, 36)
	copy(r, user)
	r[24], r[25] = verify, state
	r[26], r[27], r[28] = byte(t.Year()-2000), byte(t.Month()), byte(t.Day())
	r[29], r[30], r[31] = byte(t.Hour()), byte(t.Minute()), byte(t.Second())
	binary.LittleEndian.PutUint32(r[32:], workcode)
	return r
}

const serial = "CDQ9201960012"

func punch(user string, uid uint16, t time.Time, state uint8) device.Punch {
	return device.Punch{Clock: serial, UserID: user, Time: t, State: state, Verify: 1,
		Raw: record40(uid, user, t, 1, state, 0)}
}

// officeLog is a clock's log for people × days from start: four punches a working day with
// minutes of jitter, in time order, as a pull returns it.
func officeLog(people, days int, start time.Time) []device.Punch {
	slots := [4]int{8*60 + 20, 12*60 + 2, 14*60 + 20, 18*60 + 3}
	out := make([]device.Punch, 0, people*days*4)
	for d := 0; d < days; d++ {
		day := start.AddDate(0, 0, d)
		for s, m := range slots {
			for p := 0; p < people; p++ {
				jitter := (p*7 + d*13 + s*3) % 25
				t := time.Date(day.Year(), day.Month(), day.Day(), 0, m+jitter, (p*11+d)%60, 0, day.Location())
				user := fmt.Sprint(1001 + p)
				if p%10 == 9 {
					user = fmt.Sprintf("A%d", 1001+p)
				}
				out = append(out, punch(user, uint16(p+1), t, uint8(s%2)))
			}
		}
	}
	return out
}
