package report_test

import (
	"fmt"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/report"
)

// A person late on Tuesday the 2nd and absent on Friday the 5th, as of Monday the 8th.
func ExampleBuildTable() {
	loc := time.FixedZone("CST", 8*3600)
	day := func(d int, late bool, absent bool) attendance.Day {
		date := attendance.Date{Year: 2021, Month: 3, Day: d}
		jd := attendance.Day{UserID: "1001", Date: date, DayType: attendance.Workday, Status: attendance.StatusNormal,
			Slots: map[attendance.SlotName]attendance.Slot{}, Final: true}
		for _, n := range attendance.Slots {
			s := attendance.Slot{Result: attendance.ResultOK}
			if absent {
				s.Result = attendance.ResultAbsent
			}
			jd.Slots[n] = s
		}
		if late {
			jd.Slots[attendance.AmIn] = attendance.Slot{Result: attendance.ResultLate, Minutes: 12,
				Time: new(date.At(8*3600+42*60, loc))}
		}
		return jd
	}
	days := []attendance.Day{day(1, false, false), day(2, true, false), day(3, false, false), day(4, false, false),
		day(5, false, true), day(8, false, false)}
	cal := func(d attendance.Date) attendance.DayType {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return attendance.RestDay
		}
		return attendance.Workday
	}
	tb, err := report.BuildTable(report.TableInput{
		Month:   report.Month{Year: 2021, Month: 3},
		Days:    days,
		Roster:  []attendance.Person{{UserID: "1001", Name: "张三", Post: "主任", Unit: "党政办", Tracking: attendance.TrackClock}},
		DayType: cal,
		Options: report.Options{Site: "金碧镇", Today: attendance.Date{Year: 2021, Month: 3, Day: 8}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := tb.Rows[0]
	fmt.Println(tb.Title)
	fmt.Println(r.Name, r.Marks[:8], "迟到", r.Totals.Late, "旷工", r.Totals.Absent)
	// Output:
	// 金碧镇 2021年3月考勤表
	// 张三 [✓ 迟 ✓ ✓ 旷 休 休 ✓] 迟到 1 旷工 1
}
