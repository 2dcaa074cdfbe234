package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/calendar"
	"github.com/jinbi/punchd/internal/rules"
)

// TestReconfigureRejudgesOpenDays: a reloaded schedule judges the open day again; the punch that
// was late under 08:30 is on time under 08:45.
func TestReconfigureRejudgesOpenDays(t *testing.T) {
	f := newFixture(t)
	f.pull(t)
	f.now.Set(at("2026-03-02", "08:41"))
	if err := f.eng.Realtime(t.Context(), "dangzhengban", punch("A1023", at("2026-03-02", "08:41"))); err != nil {
		t.Fatal(err)
	}
	d := attendance.Date{Year: 2026, Month: 3, Day: 2}
	if day, _, err := f.db.Day("A1023", d); err != nil || day.Slots[attendance.AmIn].Result != attendance.ResultLate {
		t.Fatalf("am_in before the reload = %+v (%v), want late", day.Slots[attendance.AmIn], err)
	}
	tod := func(s string) attendance.TimeOfDay { v, _ := attendance.ParseTimeOfDay(s); return v }
	cal, err := calendar.New(calendar.Options{Schedules: []attendance.Schedule{{Name: "all-year",
		From: attendance.MonthDay{Month: 1, Day: 1}, To: attendance.MonthDay{Month: 12, Day: 31},
		AmIn: tod("08:45"), AmOut: tod("12:00"), PmIn: tod("14:30"), PmOut: tod("18:00")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.eng.Reconfigure(t.Context(), Config{Site: "jinbi", Prefix: "punchd/jinbi", Params: rules.DefaultParams(),
		EventsSince: d, Clocks: []string{"dangzhengban"}}, cal); err != nil {
		t.Fatal(err)
	}
	if day, _, err := f.db.Day("A1023", d); err != nil || day.Slots[attendance.AmIn].Result != attendance.ResultOK {
		t.Errorf("am_in after the reload = %+v (%v), want ok under the 08:45 schedule", day.Slots[attendance.AmIn], err)
	}
}

// TestReconfigureMovesClockSeries: every configured clock's paths and rejection reasons exist at
// zero; a clock a reload adds gets them, a clock it removes loses them (no alert on a clock punchd
// no longer reads).
func TestReconfigureMovesClockSeries(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	f.eng.met = NewMetrics(reg)
	f.eng.met.setClocks(f.eng.cfg.Clocks)
	series := func() string {
		var b strings.Builder
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, fam := range fams {
			for _, m := range fam.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "clock" {
						fmt.Fprintf(&b, "%s %s\n", fam.GetName(), l.GetValue())
					}
				}
			}
		}
		return b.String()
	}
	before := series()
	for _, want := range []string{"punchd_punches_rejected_total dangzhengban", "punchd_punches_ingested_total dangzhengban", "punchd_clock_log_shrunk_total dangzhengban"} {
		if !strings.Contains(before, want) {
			t.Errorf("at start: no %q in\n%s", want, before)
		}
	}
	if err := f.eng.Reconfigure(t.Context(), Config{Site: "jinbi", Prefix: "punchd/jinbi", Params: rules.DefaultParams(),
		EventsSince: f.eng.cfg.EventsSince, Clocks: []string{"station"}}, f.eng.cal); err != nil {
		t.Fatal(err)
	}
	after := series()
	if strings.Contains(after, "dangzhengban") || strings.Count(after, "station") != strings.Count(before, "dangzhengban") {
		t.Errorf("after the reload replaced the clock:\n%s\nwant the station's series where the office's were:\n%s", after, before)
	}
}
