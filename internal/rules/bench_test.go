package rules

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// monthInputs builds a month (March 2026) for n people: four punches a working day with noise,
// repeats, some late and forgotten punches; each day's punches passed with that day's Input
// (as a caller scanning the store by person and day does). Registrations: one leave a week each.
func monthInputs(tb testing.TB, n int) []Input {
	cal := testCalendar(tb)
	rng := rand.New(rand.NewPCG(1, 2))
	first := attendance.Date{Year: 2026, Month: time.March, Day: 1}
	var ins []Input
	for p := range n {
		person := attendance.Person{UserID: fmt.Sprintf("%05d", p), Tracking: attendance.TrackClock}
		for d := first; d.Month == time.March; d = d.AddDays(1) {
			dt, err := cal.DayType(d)
			if err != nil {
				tb.Fatal(err)
			}
			sc, err := cal.Schedule(d)
			if err != nil {
				tb.Fatal(err)
			}
			in := Input{Person: person, Date: d, DayType: dt, Schedule: sc, Loc: shanghai, Params: DefaultParams(),
				SyncedUntil: d.AddDays(1).Start(shanghai), Now: d.AddDays(1).Start(shanghai)}
			if dt.IsWorking() {
				for _, e := range sc.Expected() {
					if rng.IntN(40) == 0 {
						continue // forgotten
					}
					t := d.At(e, shanghai).Add(time.Duration(rng.IntN(40*60)-30*60) * time.Second)
					in.Punches = append(in.Punches, device.Punch{Clock: "CLK1", UserID: person.UserID, Time: t})
					if rng.IntN(5) == 0 { // a repeat
						in.Punches = append(in.Punches, device.Punch{Clock: "CLK1", UserID: person.UserID, Time: t.Add(50 * time.Second)})
					}
				}
				if d.Weekday() == time.Wednesday && p%3 == 0 {
					in.Registrations = []attendance.Registration{{ID: fmt.Sprintf("R%d-%s", p, d), UserID: person.UserID,
						Kind: attendance.KindLeave, From: d.At(8*3600, shanghai), To: d.At(12*3600, shanghai)}}
				}
			}
			ins = append(ins, in)
		}
	}
	return ins
}

// BenchmarkJudgeMonth200 judges a month (31 days) for 200 people. One op = the whole month.
func BenchmarkJudgeMonth200(b *testing.B) {
	ins := monthInputs(b, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, in := range ins {
			_ = Judge(in)
		}
	}
	b.ReportMetric(float64(len(ins)), "days/op")
}

func TestMonthSanity(t *testing.T) {
	ins := monthInputs(t, 20)
	counts := map[attendance.Status]int{}
	for _, in := range ins {
		counts[Judge(in).Status]++
	}
	// March 2026: 22 workdays, 9 weekend days, no holiday.
	if counts[attendance.StatusRest] != 20*9 || counts[attendance.StatusPending] != 0 {
		t.Errorf("statuses %v", counts)
	}
	if counts[attendance.StatusNormal] == 0 || counts[attendance.StatusAbnormal] == 0 || counts[attendance.StatusExcused] == 0 {
		t.Errorf("the generated month lacks variety: %v", counts)
	}
}
