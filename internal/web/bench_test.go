package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/web"
)

// BenchmarkBoard200 is today's board for a township of 200 people in 12 units, built from the
// judged days and rendered: the server's share of a page load (goal: well under 50 ms).
func BenchmarkBoard200(b *testing.B) {
	f := newFixture(b, true)
	today := attendance.DateOf(now)
	var people []attendance.Person
	var days []attendance.Day
	for i := range 200 {
		p := attendance.Person{UserID: fmt.Sprintf("%04d", 2000+i), Name: fmt.Sprintf("干部%03d", i), Unit: fmt.Sprintf("单位%02d", i%12),
			Post: "干部", Tracking: attendance.TrackClock}
		if i%10 == 9 {
			p.Tracking = attendance.TrackVillage
		}
		people = append(people, p)
		d := attendance.Day{UserID: p.UserID, Date: today, DayType: attendance.Workday, Status: attendance.StatusPending, Slots: map[attendance.SlotName]attendance.Slot{}}
		for si, s := range attendance.Slots {
			sl := attendance.Slot{Expected: today.At(attendance.TimeOfDay(8*3600+si*3*3600), cst), Result: attendance.ResultPending}
			if si == 0 && i%7 != 0 {
				t := today.At(attendance.TimeOfDay(8*3600+20*60+i%15*60), cst)
				sl.Time, sl.Result = &t, attendance.ResultOK
				if i%5 == 0 {
					sl.Result, sl.Minutes = attendance.ResultLate, 6
				}
			}
			d.Slots[s] = sl
		}
		days = append(days, d)
	}
	if err := f.svc.PutRoster(adminCtx(), people); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	f.web.Register(mux)

	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			web.BuildBoard(people, days, nil, today, attendance.Workday, now, cst)
		}
	})
	b.Run("page", func(b *testing.B) { // the store read, the layout and the template, as served
		req := httptest.NewRequest("GET", "/", nil)
		for b.Loop() {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("GET / = %d", w.Code)
			}
			io.Copy(io.Discard, w.Body)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
	})

}
