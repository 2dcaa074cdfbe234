package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/store"
)

func samePunch(t *testing.T, got, want device.Punch, loc *time.Location) {
	t.Helper()
	if got.Clock != want.Clock || got.UserID != want.UserID || !got.Time.Equal(want.Time) ||
		got.State != want.State || got.Verify != want.Verify || got.WorkCode != want.WorkCode || !bytes.Equal(got.Raw, want.Raw) {
		t.Fatalf("punch differs:\n got %+v\nwant %+v", got, want)
	}
	if got.Time.Location() != loc {
		t.Fatalf("punch time in %v, want %v", got.Time.Location(), loc)
	}
}

func TestIngestIdempotent(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	ctx := context.Background()
	log := officeLog(5, 3, time.Date(2021, 3, 1, 0, 0, 0, 0, shanghai))

	res, err := db.Commit(ctx, store.Batch{Punches: log})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewPunches != len(log) || res.Duplicates != 0 || len(res.NewPunchList) != len(log) {
		t.Fatalf("first commit: new %d dup %d, want %d new", res.NewPunches, res.Duplicates, len(log))
	}
	// The same pull again: nothing new.
	res, err = db.Commit(ctx, store.Batch{Punches: log})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewPunches != 0 || res.Duplicates != len(log) || len(res.NewPunchList) != 0 {
		t.Fatalf("second commit: new %d dup %d, want 0 new %d dup", res.NewPunches, res.Duplicates, len(log))
	}
	// A realtime event of a punch already pulled (its own payload bytes) is the same punch; one
	// punch repeated inside a batch is stored once.
	p := log[7]
	ev := p
	ev.Raw = event36(p.UserID, p.Time, p.Verify, p.State, 0)
	fresh := punch("1001", 1, time.Date(2021, 3, 4, 8, 29, 59, 0, shanghai), 0)
	res, err = db.Commit(ctx, store.Batch{Punches: []device.Punch{ev, fresh, fresh}})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewPunches != 1 || res.Duplicates != 2 {
		t.Fatalf("realtime commit: new %d dup %d, want 1 new 2 dup", res.NewPunches, res.Duplicates)
	}
	samePunch(t, res.NewPunchList[0], fresh, shanghai)

	n, err := db.CountPunches()
	if err != nil || n != len(log)+1 {
		t.Fatalf("CountPunches = %d, %v; want %d", n, err, len(log)+1)
	}
	counts, err := db.PunchCounts()
	if err != nil || counts[serial] != len(log)+1 {
		t.Fatalf("PunchCounts = %v, %v", counts, err)
	}
	// The pulled record's raw bytes are kept (first stored wins).
	got, err := db.PunchesFor(p.UserID, p.Time, p.Time.Add(time.Second))
	if err != nil || len(got) != 1 {
		t.Fatalf("PunchesFor one second = %v, %v", got, err)
	}
	samePunch(t, got[0], p, shanghai)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestPunchesRanges(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	at := func(d, h, m, s int) time.Time { return time.Date(2021, 3, d, h, m, s, 0, shanghai) }
	if _, ok, err := db.FirstPunch(); ok || err != nil {
		t.Fatalf("FirstPunch of an empty store: %v %v", ok, err)
	}
	ps := []device.Punch{
		punch("A10", 3, at(1, 8, 30, 0), 0),
		punch("A1", 2, at(1, 8, 31, 0), 0),
		punch("A1", 2, at(1, 12, 0, 0), 1),
		punch("A1", 2, at(2, 8, 0, 0), 0),
		punch("B", 4, at(1, 9, 0, 0), 0),
		{Clock: "OTHER", UserID: "A1", Time: at(1, 8, 31, 0), State: 0, Verify: 15}, // other clock, no raw
	}
	if _, err := db.Commit(context.Background(), store.Batch{Punches: ps}); err != nil {
		t.Fatal(err)
	}
	// The earliest of anyone's, whoever's bucket comes first.
	if first, ok, err := db.FirstPunch(); !ok || err != nil || !first.Equal(at(1, 8, 30, 0)) || first.Location().String() != shanghai.String() {
		t.Fatalf("FirstPunch = %v %v %v, want A10's 08:30 in the store's zone", first, ok, err)
	}
	got, err := db.PunchesFor("A1", at(1, 0, 0, 0), at(2, 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("A1 on day 1: %d punches, want 3: %+v", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			t.Fatalf("not in time order: %v", got)
		}
	}
	// Half-open: a punch exactly at `to` is excluded, one exactly at `from` included; a
	// sub-second `from` starts at the next whole second.
	got, _ = db.PunchesFor("A1", at(1, 12, 0, 0), at(2, 8, 0, 0))
	if len(got) != 1 || !got[0].Time.Equal(at(1, 12, 0, 0)) {
		t.Fatalf("half-open range: %+v", got)
	}
	got, _ = db.PunchesFor("A1", at(1, 12, 0, 0).Add(time.Millisecond), at(2, 8, 0, 0).Add(time.Millisecond))
	if len(got) != 1 || !got[0].Time.Equal(at(2, 8, 0, 0)) {
		t.Fatalf("sub-second bounds: %+v", got)
	}
	// Open ends.
	got, _ = db.PunchesFor("A1", time.Time{}, time.Time{})
	if len(got) != 4 {
		t.Fatalf("all of A1: %d, want 4", len(got))
	}
	all, err := db.PunchesBetween(at(1, 0, 0, 0), at(1, 23, 59, 59))
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, p := range all {
		users = append(users, p.UserID)
	}
	if want := []string{"A1", "A1", "A1", "A10", "B"}; !slices.Equal(users, want) {
		t.Fatalf("PunchesBetween users %v, want %v (user order, then time)", users, want)
	}
	if got, _ := db.PunchesFor("nobody", time.Time{}, time.Time{}); len(got) != 0 {
		t.Fatalf("unknown user has punches: %v", got)
	}
	if _, err := db.PunchesFor("", time.Time{}, time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty user id: %v, want ErrInvalid", err)
	}
}

func TestCommitRejectsBadInputWhole(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	good := punch("7", 1, time.Date(2021, 3, 1, 8, 0, 0, 0, shanghai), 0)
	cases := map[string]store.Batch{
		"empty user":     {Punches: []device.Punch{good, {Clock: serial, Time: good.Time}}},
		"NUL in user":    {Punches: []device.Punch{good, {Clock: serial, UserID: "a\x00b", Time: good.Time}}},
		"zero time":      {Punches: []device.Punch{good, {Clock: serial, UserID: "8"}}},
		"bad date":       {Punches: []device.Punch{good}, Days: []attendance.Day{{UserID: "7", Date: attendance.Date{Year: 2021, Month: 2, Day: 30}}}},
		"empty topic":    {Punches: []device.Punch{good}, Outbox: []store.OutboxEntry{{Payload: []byte("x")}}},
		"rev 0":          {Punches: []device.Punch{good}, Outbox: []store.OutboxEntry{{Topic: "t", EventID: "e"}}},
		"empty wm clock": {Punches: []device.Punch{good}, Watermark: &store.Watermark{}},
	}
	for name, b := range cases {
		if _, err := db.Commit(context.Background(), b); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if n, _ := db.CountPunches(); n != 0 {
		t.Fatalf("a rejected batch stored %d punches", n)
	}
}

// cancelAfter is a context whose Err turns to Canceled after n calls: it cancels a commit at a
// known point inside the transaction.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

func TestCommitCancelledMidwayStoresNothing(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	log := officeLog(50, 50, time.Date(2021, 3, 1, 0, 0, 0, 0, shanghai)) // 10,000 punches
	wm := &store.Watermark{Clock: "dzb", Serial: serial, Records: len(log)}
	b := store.Batch{Punches: log, Watermark: wm,
		Days:   []attendance.Day{{UserID: "1001", Date: attendance.Date{Year: 2021, Month: 3, Day: 1}, Status: attendance.StatusNormal}},
		Outbox: []store.OutboxEntry{{Topic: "p/events/late", Payload: []byte("{}"), EventID: "e1", Rev: 1}}}
	_, err := db.Commit(&cancelAfter{Context: context.Background(), n: 2}, b)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("commit with a context cancelled midway: %v", err)
	}
	n, _ := db.CountPunches()
	_, ok, _ := db.Watermark("dzb")
	cnt, _, _ := db.OutboxStats()
	days, _ := db.Days(attendance.Date{}, attendance.Date{})
	_, _, pub, _ := db.PublishedEvent("e1")
	if n != 0 || ok || cnt != 0 || len(days) != 0 || pub {
		t.Fatalf("cancelled commit left punches %d, watermark %v, outbox %d, days %d, published %v", n, ok, cnt, len(days), pub)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountPunches(); n != len(log) {
		t.Fatalf("after the real commit: %d punches, want %d", n, len(log))
	}
}

func TestPunchRoundTripProperty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	db := mustOpen(t, path, store.Options{NoSync: true})
	// Zones with odd offsets (LMT), a negative one and UTC: the raw record must survive any.
	zones := []*time.Location{shanghai, time.UTC, mustLoc("America/Sao_Paulo"), time.FixedZone("LMT", 8*3600+343)}
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		user := rapid.StringMatching(`[0-9A-Za-z]{1,24}`).Draw(rt, "user")
		loc := zones[rapid.IntRange(0, len(zones)-1).Draw(rt, "zone")]
		sec := rapid.Int64Range(946684800, 4102444800).Draw(rt, "sec")
		tm := time.Unix(sec, 0).In(loc)
		state := rapid.Uint8().Draw(rt, "state")
		verify := rapid.Uint8().Draw(rt, "verify")
		wc := rapid.Uint32().Draw(rt, "workcode")
		var raw []byte
		switch rapid.IntRange(0, 4).Draw(rt, "rawkind") {
		case 1:
			raw = record40(rapid.Uint16().Draw(rt, "uid"), user, tm, verify, state, wc)
		case 2:
			raw = event36(user, tm, verify, state|0x80, wc)
		case 3:
			raw = rapid.SliceOfN(rapid.Byte(), 1, 80).Draw(rt, "raw")
		case 4:
			raw = record40(0, user, tm, verify, state, wc)
			raw[rapid.IntRange(0, 39).Draw(rt, "flip")] ^= rapid.ByteRange(1, 255).Draw(rt, "xor")
		}
		p := device.Punch{Clock: fmt.Sprintf("C%d", n), UserID: user, Time: tm, State: state, Verify: verify, WorkCode: wc, Raw: raw}
		res, err := db.Commit(context.Background(), store.Batch{Punches: []device.Punch{p}})
		if err != nil || res.NewPunches != 1 {
			rt.Fatalf("commit: %+v %v", res, err)
		}
		got, err := db.PunchesFor(user, tm, tm.Add(time.Second))
		if err != nil {
			rt.Fatal(err)
		}
		var found int
		for _, g := range got {
			if g.Clock != p.Clock {
				continue
			}
			found++
			if g.WorkCode != p.WorkCode || !bytes.Equal(g.Raw, p.Raw) || !g.Time.Equal(tm) || g.Time.Location() != shanghai || g.State != state || g.Verify != verify {
				rt.Fatalf("round trip:\n got %+v\nwant %+v", g, p)
			}
		}
		if found != 1 {
			rt.Fatalf("punch %+v found %d times in %+v", p, found, got)
		}
	})
	// A different Location on reopen changes the zone of the times, never the instants or raw.
	before, _ := db.PunchesBetween(time.Time{}, time.Time{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := mustOpen(t, path, store.Options{Location: time.UTC})
	after, err := db2.PunchesBetween(time.Time{}, time.Time{})
	if err != nil || len(after) != len(before) || len(before) == 0 {
		t.Fatalf("reopen: %d punches (%v), before %d", len(after), err, len(before))
	}
	for i := range before {
		b := before[i]
		b.Time = b.Time.In(time.UTC)
		samePunch(t, after[i], b, time.UTC)
	}
}

func TestDays(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	d1 := attendance.Date{Year: 2021, Month: 3, Day: 1}
	d2 := d1.AddDays(1)
	pt := d1.At(8*3600+40*60, shanghai)
	reg := "R00000001"
	mk := func(user string, d attendance.Date, st attendance.Status) attendance.Day {
		return attendance.Day{UserID: user, Date: d, DayType: attendance.Workday, Status: st, Punches: 3,
			Slots: map[attendance.SlotName]attendance.Slot{
				attendance.AmIn:  {Name: attendance.AmIn, Expected: d.At(8*3600+30*60, shanghai), Time: &pt, Result: attendance.ResultLate, Minutes: 10, Clock: serial},
				attendance.PmOut: {Name: attendance.PmOut, Expected: d.At(18*3600, shanghai), Result: attendance.ResultExcused, Registration: &reg},
			}}
	}
	b := store.Batch{Days: []attendance.Day{mk("A10", d1, attendance.StatusAbnormal), mk("A1", d1, attendance.StatusAbnormal), mk("A1", d2, attendance.StatusNormal)}}
	if _, err := db.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// Upsert: the re-judged day replaces the old one.
	up := mk("A1", d1, attendance.StatusExcused)
	up.Final = true
	if _, err := db.Commit(context.Background(), store.Batch{Days: []attendance.Day{up}}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Day("A1", d1)
	if err != nil || !ok {
		t.Fatalf("Day: %v %v", ok, err)
	}
	if got.Status != attendance.StatusExcused || !got.Final {
		t.Fatalf("day not replaced: %+v", got)
	}
	s := got.Slots[attendance.AmIn]
	if s.Name != attendance.AmIn || s.Time == nil || !s.Time.Equal(pt) || s.Time.Location() != shanghai || s.Expected.Location() != shanghai {
		t.Fatalf("slot not restored exactly: %+v", s)
	}
	if r := got.Slots[attendance.PmOut].Registration; r == nil || *r != reg {
		t.Fatalf("registration reference lost: %+v", got.Slots[attendance.PmOut])
	}
	all, _ := db.Days(d1, d1)
	if len(all) != 2 || all[0].UserID != "A1" || all[1].UserID != "A10" {
		t.Fatalf("Days(d1,d1) = %+v", all)
	}
	if all, _ := db.Days(attendance.Date{}, attendance.Date{}); len(all) != 3 {
		t.Fatalf("all days: %d", len(all))
	}
	mine, _ := db.DaysFor("A1", d1, d2)
	if len(mine) != 2 || mine[0].Date != d1 || mine[1].Date != d2 {
		t.Fatalf("DaysFor = %+v", mine)
	}
	if mine, _ := db.DaysFor("A1", d2, attendance.Date{}); len(mine) != 1 {
		t.Fatalf("DaysFor from d2 = %+v", mine)
	}
	if _, ok, _ := db.Day("A1", d1.AddDays(5)); ok {
		t.Fatal("a day never stored was found")
	}
}

func TestWatermarkAndMeta(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	wm := store.Watermark{Clock: "dzb", Serial: serial, Records: 1234, LastCount: 1234,
		LastPunch:   time.Date(2021, 3, 1, 18, 3, 0, 0, shanghai),
		SyncedUntil: time.Date(2021, 3, 1, 18, 5, 0, 123456789, time.UTC),
		LastPull:    time.Date(2021, 3, 1, 18, 5, 1, 0, shanghai)}
	if _, err := db.Commit(context.Background(), store.Batch{Watermark: &wm}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Watermark("dzb")
	if err != nil || !ok {
		t.Fatalf("Watermark: %v %v", ok, err)
	}
	if got.Records != 1234 || !got.SyncedUntil.Equal(wm.SyncedUntil) || got.SyncedUntil.Location() != shanghai || !got.LastPunch.Equal(wm.LastPunch) {
		t.Fatalf("watermark %+v, want %+v", got, wm)
	}
	if _, ok, _ := db.Watermark("other"); ok {
		t.Fatal("unknown clock has a watermark")
	}
	all, _ := db.Watermarks()
	if len(all) != 1 || all["dzb"].Serial != serial {
		t.Fatalf("Watermarks = %+v", all)
	}

	if v, err := db.GetMeta("last_report"); v != nil || err != nil {
		t.Fatalf("absent meta: %q %v", v, err)
	}
	if err := db.PutMeta("last_report", []byte("2021-02")); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.GetMeta("last_report"); string(v) != "2021-02" {
		t.Fatalf("meta = %q", v)
	}
	if err := db.PutMeta("last_report", nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.GetMeta("last_report"); v != nil {
		t.Fatalf("deleted meta = %q", v)
	}
	if err := db.PutMeta("", []byte("x")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty meta key: %v", err)
	}
	if !db.Created().Equal(created) || db.Created().Location() != shanghai {
		t.Fatalf("Created = %v, want %v", db.Created(), created)
	}
}

func TestCreatedSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db := mustOpen(t, path, store.Options{})
	_ = db.Close()
	db = mustOpen(t, path, store.Options{Now: fixedNow(created.AddDate(1, 0, 0))})
	if !db.Created().Equal(created) {
		t.Fatalf("Created after reopen = %v, want %v", db.Created(), created)
	}
}

func TestRoster(t *testing.T) {
	db := mustOpen(t, "", store.Options{})
	people := []attendance.Person{
		{UserID: "1001", Name: "张三", Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "1002", Post: "站长", Unit: "农业站", Tracking: attendance.TrackStation},
		{UserID: "A1003", Name: "王五", Tracking: attendance.TrackVillage, From: attendance.Date{Year: 2021, Month: 1, Day: 1}},
	}
	if err := db.PutRoster(people, nil); err != nil {
		t.Fatal(err)
	}
	users := []device.User{{UID: 1, UserID: "1001", Name: "张三"}, {UID: 2, UserID: "1002", Name: "李四"}, {UID: 9, UserID: "9999", Name: "赵六", Password: "secret"}}
	if err := db.PutClockUsers("dzb", users); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(context.Background(), store.Batch{Punches: []device.Punch{punch("8888", 8, time.Date(2021, 3, 1, 8, 0, 0, 0, shanghai), 0)}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Roster()
	if err != nil || len(got) != 3 {
		t.Fatalf("Roster: %v %v", got, err)
	}
	if got[1].Name != "李四" {
		t.Fatalf("empty roster name not filled from the clock: %+v", got[1])
	}
	p, ok, err := db.Person("A1003")
	if err != nil || !ok || p.Tracking != attendance.TrackVillage || p.From != people[2].From {
		t.Fatalf("Person = %+v %v %v", p, ok, err)
	}
	if p, _, _ := db.Person("1002"); p.Name != "李四" {
		t.Fatalf("Person name not filled: %+v", p)
	}
	cu, _ := db.ClockUsers()
	if len(cu["dzb"]) != 3 || cu["dzb"][2].Password != "" {
		t.Fatalf("ClockUsers = %+v (password must not be stored)", cu)
	}
	unk, err := db.Unknown()
	if err != nil {
		t.Fatal(err)
	}
	if len(unk) != 2 || unk[0].UserID != "8888" || !unk[0].Punched || unk[1].UserID != "9999" || unk[1].Name != "赵六" || !slices.Equal(unk[1].Clocks, []string{"dzb"}) {
		t.Fatalf("Unknown = %+v", unk)
	}
	// Replacing the roster drops people no longer on it; replacing a clock's table too.
	if err := db.PutRoster(people[:1], nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Roster(); len(got) != 1 {
		t.Fatalf("roster not replaced: %+v", got)
	}
	if err := db.PutClockUsers("dzb", users[:1]); err != nil {
		t.Fatal(err)
	}
	if cu, _ := db.ClockUsers(); len(cu["dzb"]) != 1 {
		t.Fatalf("clock users not replaced: %+v", cu)
	}
	// Bad rosters are refused whole.
	err = db.PutRoster([]attendance.Person{{UserID: "1"}, {UserID: "1"}}, nil)
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "duplicate user id") {
		t.Fatalf("duplicate ids: %v", err)
	}
	if err := db.PutRoster([]attendance.Person{{UserID: "1", Tracking: "sometimes"}}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad tracking: %v", err)
	}
	backwards := attendance.Person{UserID: "1", From: attendance.Date{Year: 2021, Month: 3, Day: 1}, To: attendance.Date{Year: 2021, Month: 2, Day: 1}}
	if err := db.PutRoster([]attendance.Person{backwards}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("to before from: %v", err)
	}
	if got, _ := db.Roster(); len(got) != 1 {
		t.Fatalf("a refused roster changed the stored one: %+v", got)
	}
}
