package zksim

import (
	"bytes"
	"reflect"
	"regexp"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestGenerateIsRealisticAndDeterministic(t *testing.T) {
	g := GenConfig{People: 60, Days: 28, Seed: 42}
	a := genData(t, g)
	b := genData(t, g)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different data")
	}
	if c := genData(t, GenConfig{People: 60, Days: 28, Seed: 43}); reflect.DeepEqual(a.Records, c.Records) {
		t.Fatal("different seeds, same records")
	}
	alnum, long := 0, 0
	enc := simplifiedchinese.GBK.NewEncoder()
	for _, u := range a.Users {
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(u.UserID) {
			alnum++
		}
		if len(u.UserID) > 9 {
			long++
		}
		nb, err := enc.Bytes([]byte(u.Name))
		if err != nil || len(nb) > 24 || len(nb) < 4 {
			t.Fatalf("user %q name %q: %d GBK bytes, %v", u.UserID, u.Name, len(nb), err)
		}
	}
	if alnum < 3 || long < 1 {
		t.Fatalf("%d alphanumeric ids, %d longer than 9 characters", alnum, long)
	}
	workdays := 20 // 2026-09-01 (Tue) + 28 days
	if n := len(a.Records); n < 60*workdays*3 || n > 60*workdays*5 {
		t.Fatalf("%d records for 60 people and %d workdays", n, workdays)
	}
	late, early, repeated := 0, 0, 0
	last := map[string]time.Time{}
	for i, r := range a.Records {
		if i > 0 && r.Time.Before(a.Records[i-1].Time) {
			t.Fatalf("record %d out of time order", i)
		}
		if wd := r.Time.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Fatalf("punch on a weekend: %v", r.Time)
		}
		h, m, _ := r.Time.Clock()
		if h == 8 && m >= 31 || h == 9 {
			late++
		}
		if h == 17 || h == 11 {
			early++
		}
		if p, ok := last[r.UserID]; ok && r.Time.Sub(p) < time.Minute {
			repeated++
		}
		last[r.UserID] = r.Time
	}
	if late == 0 || early == 0 || repeated == 0 {
		t.Fatalf("late %d, early %d, repeated %d: want some of each", late, early, repeated)
	}
	// Missing punches: some person-day has fewer than four.
	perDay := map[string]int{}
	for _, r := range a.Records {
		perDay[r.UserID+r.Time.Format("2006-01-02")]++
	}
	missing := 0
	for _, n := range perDay {
		if n < 4 {
			missing++
		}
	}
	if missing == 0 {
		t.Fatal("no day with a missing punch")
	}
}

func TestGenerateExactRecordCount(t *testing.T) {
	for _, n := range []int{1, 1024, 5000} {
		d := genData(t, GenConfig{People: 30, Records: n, Seed: 1})
		if len(d.Records) != n {
			t.Fatalf("asked %d records, got %d", n, len(d.Records))
		}
	}
	d := genData(t, GenConfig{People: 10, Records: 100, NumericIDs: true, MaxNameBytes: 8})
	for _, u := range d.Users {
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(u.UserID) {
			t.Fatalf("numeric ids asked, got %q", u.UserID)
		}
	}
	if _, err := Generate(GenConfig{People: -1}); err == nil {
		t.Fatal("negative people accepted")
	}
}

func TestTruthRoundTrip(t *testing.T) {
	s := mustSim(t, Config{Data: genData(t, GenConfig{People: 12, Records: 400, Seed: 5})})
	var buf bytes.Buffer
	if err := WriteTruth(&buf, s.Truth()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"time": "2026-09-01T0`)) || !bytes.Contains(buf.Bytes(), []byte(`+08:00"`)) {
		t.Fatalf("truth times not RFC 3339 with the zone's offset:\n%.400s", buf.String())
	}
	gt, err := ReadTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gt.Data(s.Config().Location)
	if err != nil {
		t.Fatal(err)
	}
	s2 := mustSim(t, Config{Data: d})
	if !reflect.DeepEqual(s2.Truth().Records, s.Truth().Records) || !reflect.DeepEqual(s2.Truth().Users, s.Truth().Users) {
		t.Fatal("ground truth does not survive a round trip")
	}

	for _, bad := range []string{
		`{"users":[{"user_id":"1","name":"x","privilege":0,"card":0}],"records":[{"user_id":"2","time":"2026-01-01T08:00:00+08:00"}]}`,
		`{"users":[{"user_id":"1","name":"x","privilege":0,"card":0},{"user_id":"1","name":"y","privilege":0,"card":0}]}`,
		`{"users":[],"extra":1}`,
	} {
		gt, err := ReadTruth(bytes.NewBufferString(bad))
		if err == nil {
			_, err = gt.Data(nil)
		}
		if err == nil {
			t.Fatalf("accepted %s", bad)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	d := genData(t, GenConfig{People: 3, Records: 10})
	for _, cfg := range []Config{
		{RecordSize: 49},
		{UserSize: 40},
		{FreeSizesLen: 90},
		{EventLen: 11},
		{PacketSize: 70000},
		{RecordSize: 16, Data: Data{Users: []User{{UserID: "A1"}}, Records: []Record{{UserID: "A1", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
		{Data: Data{Users: d.Users, Records: []Record{{UserID: "ghost", Time: time.Now()}}}},
		{Data: Data{Users: []User{{UserID: "1", Name: "Ω€☃"}}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Fatalf("New accepted %+v", cfg)
		}
	}
}

func TestGenerateBackwardsFromEnd(t *testing.T) {
	loc := shanghai()
	end := time.Date(2026, 11, 25, 10, 0, 0, 0, loc)
	a := genData(t, GenConfig{People: 40, Records: 3000, End: end, Seed: 3})
	b := genData(t, GenConfig{People: 40, Records: 3000, End: end, Seed: 3})
	if !reflect.DeepEqual(a, b) || len(a.Records) != 3000 {
		t.Fatalf("%d records, deterministic %v", len(a.Records), reflect.DeepEqual(a, b))
	}
	last := a.Records[len(a.Records)-1].Time
	if !last.Before(time.Date(2026, 11, 25, 0, 0, 0, 0, loc)) || last.Before(time.Date(2026, 11, 24, 0, 0, 0, 0, loc)) {
		t.Fatalf("last punch %v, want on 2026-11-24 (the day before End)", last)
	}
	for i := 1; i < len(a.Records); i++ {
		if a.Records[i].Time.Before(a.Records[i-1].Time) {
			t.Fatalf("record %d out of time order", i)
		}
	}
	d := genData(t, GenConfig{People: 10, Days: 14, End: end, Seed: 3})
	if first := d.Records[0].Time; first.Before(time.Date(2026, 11, 11, 0, 0, 0, 0, loc)) {
		t.Fatalf("14 days back from End starts at %v", first)
	}
}
