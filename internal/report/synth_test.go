package report

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Helpers that build judged days by hand, the way internal/rules would have judged them.

var shanghai = time.FixedZone("CST", 8*3600)

var schedule = attendance.Schedule{AmIn: 8*3600 + 30*60, AmOut: 12 * 3600, PmIn: 14*3600 + 30*60, PmOut: 18 * 3600}

func date(s string) attendance.Date {
	d, err := attendance.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// weekCal is Monday–Friday plus the given holidays and make-up workdays.
func weekCal(holidays, makeup map[attendance.Date]bool) func(attendance.Date) attendance.DayType {
	return func(d attendance.Date) attendance.DayType {
		switch {
		case holidays[d]:
			return attendance.Holiday
		case makeup[d]:
			return attendance.MakeupWorkday
		case d.Weekday() == time.Saturday || d.Weekday() == time.Sunday:
			return attendance.RestDay
		}
		return attendance.Workday
	}
}

// okDay is a day with all four punches on time.
func okDay(user string, d attendance.Date) attendance.Day {
	day := attendance.Day{UserID: user, Date: d, DayType: attendance.Workday, Status: attendance.StatusNormal,
		Slots: map[attendance.SlotName]attendance.Slot{}, Punches: 4, Final: true}
	exp := schedule.Expected()
	for i, n := range attendance.Slots {
		at := d.At(exp[i], shanghai)
		off := -3 * time.Minute
		if !n.IsIn() {
			off = 2 * time.Minute
		}
		pt := at.Add(off)
		day.Slots[n] = attendance.Slot{Name: n, Expected: at, Time: &pt, Result: attendance.ResultOK}
	}
	return day
}

// with changes one slot of a day: result, minutes, registration id ("" = none). The punch time follows
// the minutes; missing and absent-without-minutes slots have no punch.
func with(day attendance.Day, n attendance.SlotName, r attendance.Result, minutes int, reg string) attendance.Day {
	s := day.Slots[n]
	s.Result, s.Minutes = r, minutes
	switch {
	case r == attendance.ResultMissing || (r == attendance.ResultAbsent && minutes == 0) || r == attendance.ResultPending:
		s.Time = nil
	case minutes > 0:
		d := time.Duration(minutes) * time.Minute
		if !n.IsIn() {
			d = -d
		}
		t := s.Expected.Add(d)
		s.Time = &t
	}
	if reg != "" {
		id := reg
		s.Registration = &id
	}
	day.Slots[n] = s
	day.Status = attendance.StatusAbnormal
	day.Final = r != attendance.ResultPending
	return day
}

func status(day attendance.Day, st attendance.Status, excuse attendance.Kind) attendance.Day {
	day.Status, day.Excuse = st, excuse
	return day
}

func absentDay(user string, d attendance.Date) attendance.Day {
	day := okDay(user, d)
	for _, n := range attendance.Slots {
		day = with(day, n, attendance.ResultAbsent, 0, "")
	}
	day.Status, day.Punches = attendance.StatusAbsent, 0
	return day
}

func excusedDay(user string, d attendance.Date, reg string, k attendance.Kind) attendance.Day {
	day := okDay(user, d)
	for _, n := range attendance.Slots {
		day = with(day, n, attendance.ResultExcused, 0, reg)
		s := day.Slots[n]
		s.Time = nil
		day.Slots[n] = s
	}
	return status(day, attendance.StatusExcused, k)
}

func reg(id, user string, k attendance.Kind, from, to string) attendance.Registration {
	p := func(s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
		if err != nil {
			panic(err)
		}
		return t
	}
	return attendance.Registration{ID: id, UserID: user, Kind: k, From: p(from), To: p(to), Reason: "test", RegisteredBy: "党政办"}
}

// synthMonth makes a month of judged days for n clock-tracked people with a seeded mix of anomalies,
// excused days and registrations: the input of the benchmarks and of the rendered sample.
func synthMonth(m Month, n int, seed uint64) ([]attendance.Person, []attendance.Day, []attendance.Registration) {
	rng := rand.New(rand.NewPCG(seed, 7))
	units := []string{"党政办", "财政所", "农技中心", "水务站", "兽医站", "综治办", "社会事务办", "经发办"}
	posts := []string{"主任", "副主任", "科员", "干事", "站长", "所长", "会计", "工作人员"}
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
	given := []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红")
	cal := weekCal(nil, nil)
	var roster []attendance.Person
	var days []attendance.Day
	var regs []attendance.Registration
	for i := range n {
		name := string(surnames[rng.IntN(len(surnames))]) + string(given[rng.IntN(len(given))])
		if rng.IntN(2) == 0 {
			name += string(given[rng.IntN(len(given))])
		}
		p := attendance.Person{UserID: fmt.Sprintf("%04d", i+1), Name: name, Post: posts[rng.IntN(len(posts))],
			Unit: units[i%len(units)], Tracking: attendance.TrackClock}
		roster = append(roster, p)
		for day := 1; day <= m.Len(); day++ {
			d := attendance.Date{Year: m.Year, Month: m.Month, Day: day}
			if !cal(d).IsWorking() {
				continue
			}
			jd := okDay(p.UserID, d)
			switch x := rng.IntN(100); {
			case x < 6:
				jd = with(jd, attendance.AmIn, attendance.ResultLate, 1+rng.IntN(29), "")
			case x < 8:
				jd = with(jd, attendance.PmIn, attendance.ResultSeriousLate, 31+rng.IntN(60), "")
			case x < 12:
				jd = with(jd, attendance.PmOut, attendance.ResultEarly, 1+rng.IntN(40), "")
			case x < 15:
				jd = with(jd, attendance.AmOut, attendance.ResultMissing, 0, "")
			case x < 16:
				jd = absentDay(p.UserID, d)
			case x < 21:
				id := fmt.Sprintf("R%s-%02d", p.UserID, day)
				k := []attendance.Kind{attendance.KindOffsite, attendance.KindTrip, attendance.KindLeave, attendance.KindMeeting}[rng.IntN(4)]
				ds := d.String()
				regs = append(regs, reg(id, p.UserID, k, ds+" 08:00", ds+" 18:30"))
				jd = excusedDay(p.UserID, d, id, k)
			}
			days = append(days, jd)
		}
	}
	return roster, days, regs
}
