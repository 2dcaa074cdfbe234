package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
)

var sampleDir = flag.String("sample", "", "write a rendered 40-person sample month (table XLSX/CSV, bulletin MD/XLSX) to this directory")

const (
	userA   = "001"
	userB   = "002"
	userV   = "003"
	userD   = "004"
	userUnk = "099"
)

// goldenInput is March 2021 (the month the township's order took effect) as of the 25th:
// person A has one of everything, B joins on the 15th, D leaves on the 10th, V is village-tracked,
// and 099 punched but is not on the roster.
func goldenInput() TableInput {
	m := Month{2021, 3}
	roster := []attendance.Person{
		{UserID: userA, Name: "张三", Post: "党政办主任", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: userB, Name: "李四", Post: "技术员", Unit: "农技中心", Tracking: attendance.TrackClock, From: date("2021-03-15")},
		{UserID: userV, Name: "王五", Post: "包村干部", Unit: "党政办", Tracking: attendance.TrackVillage},
		{UserID: userD, Name: "赵六", Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock, To: date("2021-03-10")},
	}
	regs := []attendance.Registration{
		reg("R1", userA, attendance.KindOffsite, "2021-03-09 08:00", "2021-03-09 18:30"),
		reg("R2", userA, attendance.KindTrip, "2021-03-10 08:00", "2021-03-10 12:30"),
		reg("R3", userA, attendance.KindLeave, "2021-03-11 08:00", "2021-03-11 12:30"),
		reg("R4", userA, attendance.KindLeave, "2021-03-18 08:00", "2021-03-18 18:30"),
		reg("R5", userA, attendance.KindMakeup, "2021-03-19 08:25", "2021-03-19 08:25"),
		reg("R6", userA, attendance.KindMeeting, "2021-03-22 08:00", "2021-03-22 18:30"),
	}
	revoked := reg("R7", userA, attendance.KindLeave, "2021-03-17 08:00", "2021-03-17 18:30")
	revoked.RevokedAt, revoked.RevokedBy = revoked.To, "党政办"
	regs = append(regs, revoked)

	var days []attendance.Day
	cal := weekCal(nil, nil)
	special := map[string]attendance.Day{}
	a := func(ds string, day attendance.Day) { special[ds] = day }
	d := date
	a("2021-03-02", with(okDay(userA, d("2021-03-02")), attendance.AmIn, attendance.ResultLate, 12, ""))
	a("2021-03-03", with(okDay(userA, d("2021-03-03")), attendance.PmOut, attendance.ResultEarly, 5, ""))
	a("2021-03-04", with(okDay(userA, d("2021-03-04")), attendance.AmOut, attendance.ResultMissing, 0, ""))
	a("2021-03-05", absentDay(userA, d("2021-03-05")))
	a("2021-03-08", with(with(okDay(userA, d("2021-03-08")), attendance.AmIn, attendance.ResultLate, 10, ""), attendance.AmOut, attendance.ResultMissing, 0, ""))
	a("2021-03-09", excusedDay(userA, d("2021-03-09"), "R1", attendance.KindOffsite))
	a("2021-03-10", status(with(with(okDay(userA, d("2021-03-10")), attendance.AmIn, attendance.ResultExcused, 0, "R2"), attendance.AmOut, attendance.ResultExcused, 0, "R2"), attendance.StatusExcused, ""))
	a("2021-03-11", with(with(okDay(userA, d("2021-03-11")), attendance.AmIn, attendance.ResultExcused, 0, "R3"), attendance.PmIn, attendance.ResultLate, 3, ""))
	a("2021-03-12", with(okDay(userA, d("2021-03-12")), attendance.AmIn, attendance.ResultSeriousLate, 45, ""))
	a("2021-03-15", with(okDay(userA, d("2021-03-15")), attendance.AmIn, attendance.ResultAbsent, 150, ""))
	a("2021-03-16", status(with(okDay(userA, d("2021-03-16")), attendance.PmOut, attendance.ResultPending, 0, ""), attendance.StatusPending, ""))
	manual := okDay(userA, d("2021-03-19"))
	s := manual.Slots[attendance.AmIn]
	s.Manual, s.Registration = true, new("R5")
	manual.Slots[attendance.AmIn] = s
	a("2021-03-19", manual)
	sat := okDay(userA, d("2021-03-20"))
	sat.DayType, sat.Status = attendance.RestDay, attendance.StatusRest
	a("2021-03-20", sat)
	a("2021-03-22", excusedDay(userA, d("2021-03-22"), "R6", attendance.KindMeeting))
	for day := 1; day <= 25; day++ {
		dt := attendance.Date{Year: 2021, Month: 3, Day: day}
		if sp, ok := special[dt.String()]; ok {
			days = append(days, sp)
		} else if cal(dt).IsWorking() && day != 17 && day != 18 {
			days = append(days, okDay(userA, dt))
		}
		if cal(dt).IsWorking() && day >= 15 {
			days = append(days, okDay(userB, dt))
		}
		if cal(dt).IsWorking() && day <= 10 {
			days = append(days, okDay(userD, dt))
		}
		if cal(dt).IsWorking() && day <= 5 {
			days = append(days, okDay(userV, dt)) // judged by mistake: V is not clock-tracked and must not show
		}
	}
	days = append(days, with(okDay(userUnk, d("2021-03-03")), attendance.AmIn, attendance.ResultLate, 7, ""))
	return TableInput{Month: m, Days: days, Roster: roster, DayType: cal, Registrations: regs,
		Options: Options{Site: "金碧镇", Today: d("2021-03-25")}}
}

// The expected grid: one rune per day 1…31, "·" for blank.
var goldenRows = []struct {
	id, name string
	marks    string
	totals   Totals
}{
	{userA, "张三", "✓迟早缺旷休休缺外差迟迟休休旷待待假✓休休外✓✓✓······", Totals{Late: 4, Early: 1, Missing: 2, Absent: 2, Offsite: 2, Trip: 1, Leave: 2}},
	{userB, "李四", "··············✓✓✓✓✓休休✓✓✓✓······", Totals{}},
	{userD, "赵六", "✓✓✓✓✓休休✓✓✓·····················", Totals{}},
	{userUnk, "099（未在册）", "··迟····························", Totals{Late: 1}},
}

func marksOf(s string) [MaxDays]Mark {
	var out [MaxDays]Mark
	for i, r := range []rune(s) {
		if r != '·' {
			out[i] = Mark(string(r))
		}
	}
	return out
}

func TestTableGolden(t *testing.T) {
	tb, err := BuildTable(goldenInput())
	if err != nil {
		t.Fatal(err)
	}
	if tb.Title != "金碧镇 2021年3月考勤表" {
		t.Errorf("title %q", tb.Title)
	}
	if tb.Unit != "单位：党政办、农技中心" {
		t.Errorf("unit line %q", tb.Unit)
	}
	if tb.DaysInMonth != 31 || tb.Weekdays[0] != "一" || tb.Weekdays[6] != "日" || tb.Weekdays[30] != "三" {
		t.Errorf("days %d weekdays %v", tb.DaysInMonth, tb.Weekdays)
	}
	if !reflect.DeepEqual(tb.Signatures, DefaultSignatures) {
		t.Errorf("signatures %v", tb.Signatures)
	}
	if len(tb.Rows) != len(goldenRows) {
		t.Fatalf("%d rows, want %d: %+v", len(tb.Rows), len(goldenRows), tb.Rows)
	}
	for i, want := range goldenRows {
		got := tb.Rows[i]
		if got.UserID != want.id || got.DisplayName() != want.name {
			t.Errorf("row %d: %s %s, want %s %s", i, got.UserID, got.DisplayName(), want.id, want.name)
		}
		wm := marksOf(want.marks)
		for d := range MaxDays {
			if got.Marks[d] != wm[d] {
				t.Errorf("%s day %d: mark %q, want %q", want.name, d+1, got.Marks[d], wm[d])
			}
		}
		if got.Totals != want.totals {
			t.Errorf("%s totals %+v, want %+v", want.name, got.Totals, want.totals)
		}
	}
	if s := tb.Sum(); s != (Totals{Late: 5, Early: 1, Missing: 2, Absent: 2, Offsite: 2, Trip: 1, Leave: 2}) {
		t.Errorf("sum %+v", s)
	}
}

func TestTableXLSXReadBack(t *testing.T) {
	tb, err := BuildTable(goldenInput())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTableXLSX(&buf, tb); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(TableSheet)
	if err != nil {
		t.Fatal(err)
	}
	at := func(r, c int) string {
		if r < len(rows) && c < len(rows[r]) {
			return rows[r][c]
		}
		return ""
	}
	if at(0, 0) != tb.Title || at(1, 0) != tb.Unit {
		t.Errorf("title/unit %q %q", at(0, 0), at(1, 0))
	}
	if at(2, 0) != "姓名" || at(2, 1) != "职务" || at(3, 2) != "1" || at(3, 32) != "31" || at(4, 2) != "一" || at(3, 33) != "迟到" {
		t.Errorf("header rows %q / %q / %q", rows[2], rows[3], rows[4])
	}
	for i, want := range goldenRows {
		r := TableFirstDataRow - 1 + i
		if at(r, 0) != want.name {
			t.Errorf("row %d name %q, want %q", r+1, at(r, 0), want.name)
		}
		wm := marksOf(want.marks)
		for d := range MaxDays {
			if got := at(r, 2+d); got != string(wm[d]) {
				t.Errorf("%s day %d: cell %q, want %q", want.name, d+1, got, wm[d])
			}
		}
		for k, v := range want.totals.Values() {
			if got := at(r, 2+MaxDays+k); got != strconv.Itoa(v) {
				t.Errorf("%s total %s: cell %q, want %d", want.name, TotalHeaders[k], got, v)
			}
		}
	}
	foot := TableFirstDataRow - 1 + len(goldenRows)
	if at(foot, 0) != Legend || at(foot+1, 0) != "党组织书记签字：" || !strings.HasPrefix(at(foot+1, 20), "包村挂点领导签字") {
		t.Errorf("foot %q / %q", rows[foot], rows[foot+1])
	}
	// Page setup: A4 landscape fitted to one page.
	pl, err := f.GetPageLayout(TableSheet)
	if err != nil {
		t.Fatal(err)
	}
	if *pl.Size != 9 || *pl.Orientation != "landscape" || *pl.FitToWidth != 1 || *pl.FitToHeight != 1 {
		t.Errorf("page layout size %d orientation %s fit %dx%d", *pl.Size, *pl.Orientation, *pl.FitToWidth, *pl.FitToHeight)
	}
}

func TestTableCSVAndJSON(t *testing.T) {
	tb, err := BuildTable(goldenInput())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTableCSV(&buf, tb); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\xEF\xBB\xBF")) {
		t.Fatal("csv has no UTF-8 byte-order mark")
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs, TableRecords(tb)) {
		t.Errorf("csv read back differs")
	}
	if recs[2][0] != "姓名" || recs[2][2] != "1" || recs[3][2] != "一" || recs[4][0] != "张三" || recs[4][3] != "迟" || recs[4][2+MaxDays+3] != "2" {
		t.Errorf("csv grid: %q / %q / %q", recs[2], recs[3], recs[4])
	}
	buf.Reset()
	if err := WriteTableJSON(&buf, tb); err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, tb) {
		t.Errorf("json round trip differs:\n%+v\n%+v", back, tb)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"month": "2021-03"`)) {
		t.Errorf("json month not YYYY-MM: %s", buf.Bytes()[:200])
	}
}

func TestTableFiltersAndErrors(t *testing.T) {
	in := goldenInput()
	in.Options.Unit = "农技中心"
	tb, err := BuildTable(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) != 1 || tb.Rows[0].UserID != userB || tb.Unit != "单位：农技中心" {
		t.Errorf("unit filter: %+v", tb.Rows)
	}

	for _, tc := range []struct {
		name string
		edit func(*TableInput)
		want error
	}{
		{"unknown unit", func(in *TableInput) { in.Options.Unit = "不存在" }, ErrUnknownUnit},
		{"future month", func(in *TableInput) { in.Month = Month{2021, 4} }, ErrFutureMonth},
		{"bad month", func(in *TableInput) { in.Month = Month{2021, 13} }, ErrBadMonth},
		{"no calendar", func(in *TableInput) { in.DayType = nil }, ErrNoCalendar},
		{"bad title", func(in *TableInput) { in.Options.Title = "{site} {yr}" }, ErrBadTitle},
	} {
		in := goldenInput()
		tc.edit(&in)
		if _, err := BuildTable(in); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", tc.name, err)
		}
	}
}

func TestTableMonthShapes(t *testing.T) {
	// February 2021: 28 days, the Spring Festival holiday and two make-up Saturdays (2月7日, 2月20日).
	hol := map[attendance.Date]bool{}
	for d := 11; d <= 17; d++ {
		hol[attendance.Date{Year: 2021, Month: 2, Day: d}] = true
	}
	mk := map[attendance.Date]bool{date("2021-02-07"): true, date("2021-02-20"): true}
	p := attendance.Person{UserID: "1", Name: "甲", Tracking: attendance.TrackClock}
	var days []attendance.Day
	cal := weekCal(hol, mk)
	for d := date("2021-02-01"); d.Month == 2; d = d.AddDays(1) {
		if cal(d).IsWorking() {
			jd := okDay("1", d)
			jd.DayType = cal(d)
			days = append(days, jd)
		}
	}
	tb, err := BuildTable(TableInput{Month: Month{2021, 2}, Days: days, Roster: []attendance.Person{p}, DayType: cal})
	if err != nil {
		t.Fatal(err)
	}
	want := "✓✓✓✓✓休✓✓✓✓休休休休休休休✓✓✓休✓✓✓✓✓休休···"
	if got := marksString(tb.Rows[0].Marks); got != want {
		t.Errorf("February marks\n got %s\nwant %s", got, want)
	}
	if tb.DaysInMonth != 28 || tb.Weekdays[28] != "" || tb.DayTypes[6] != attendance.MakeupWorkday {
		t.Errorf("days %d weekday[28] %q daytype[6] %q", tb.DaysInMonth, tb.Weekdays[28], tb.DayTypes[6])
	}
}

func marksString(ms [MaxDays]Mark) string {
	var b strings.Builder
	for _, m := range ms {
		if m == MarkNone {
			b.WriteString("·")
		} else {
			b.WriteString(string(m))
		}
	}
	return b.String()
}

func TestParseMonthAndPeriod(t *testing.T) {
	for _, s := range []string{"2021-3", "2021-13", "21-03", "2021/03", "", "2021-00", "abcd-ef"} {
		if _, err := ParseMonth(s); !errors.Is(err, ErrBadMonth) {
			t.Errorf("ParseMonth(%q) err %v", s, err)
		}
	}
	m, err := ParseMonth("2021-01")
	if err != nil || m != (Month{2021, 1}) {
		t.Fatalf("%v %v", m, err)
	}
	from, to, err := Period(m, 25)
	if err != nil || from != date("2020-12-26") || to != date("2021-01-25") {
		t.Errorf("period %v %v %v", from, to, err)
	}
	from, to, err = Period(Month{2021, 3}, 28)
	if err != nil || from != date("2021-03-01") || to != date("2021-03-28") {
		t.Errorf("period after February %v %v %v", from, to, err)
	}
	from, to, _ = Period(Month{2021, 3}, 0)
	if from != date("2021-03-01") || to != date("2021-03-31") {
		t.Errorf("calendar period %v %v", from, to)
	}
	for _, d := range []int{-1, 29, 31} {
		if _, _, err := Period(m, d); !errors.Is(err, ErrBadPeriod) {
			t.Errorf("Period(%d) err %v", d, err)
		}
	}
}

func TestWriteSample(t *testing.T) {
	if *sampleDir == "" {
		t.Skip("no -sample directory given")
	}
	m := Month{2021, 3}
	roster, days, regs := synthMonth(m, 40, 2021)
	cal := weekCal(nil, nil)
	opts := Options{Site: "金碧镇", Today: date("2021-03-31")}
	tb, err := BuildTable(TableInput{Month: m, Days: days, Roster: roster, DayType: cal, Registrations: regs, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildBulletin(BulletinInput{Month: m, PeriodEndDay: 25, Days: days, Roster: roster, DayType: cal, Registrations: regs, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(*os.File) error{
		"table.xlsx":    func(f *os.File) error { return WriteTableXLSX(f, tb) },
		"table.csv":     func(f *os.File) error { return WriteTableCSV(f, tb) },
		"bulletin.md":   func(f *os.File) error { return WriteBulletinMarkdown(f, b) },
		"bulletin.xlsx": func(f *os.File) error { return WriteBulletinXLSX(f, b) },
	} {
		f, err := os.Create(filepath.Join(*sampleDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func goldenBulletin(t *testing.T, endDay int) Bulletin {
	t.Helper()
	in := goldenInput()
	b, err := BuildBulletin(BulletinInput{Month: in.Month, PeriodEndDay: endDay, Days: in.Days, Roster: in.Roster,
		DayType: in.DayType, Registrations: in.Registrations, Options: in.Options})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBulletinGolden(t *testing.T) {
	b := goldenBulletin(t, 0)
	if b.From != date("2021-03-01") || b.To != date("2021-03-31") || b.CheckedTo != date("2021-03-25") {
		t.Errorf("period %v – %v checked to %v", b.From, b.To, b.CheckedTo)
	}
	// 19 working days from the 1st to the 25th; A all 19, B 9 (from the 15th), D 8 (to the 10th), 099 one.
	if b.WorkingDays != 19 || b.People != 4 || b.PersonDays != 19+9+8+1 {
		t.Errorf("working days %d people %d person-days %d", b.WorkingDays, b.People, b.PersonDays)
	}
	want := map[string]Counts{
		userA:   {Late: 3, SeriousLate: 1, Early: 1, Missing: 2, AbsentHalves: 3, Excused: 5, Pending: 2, LateMinutes: 12 + 10 + 3 + 45, EarlyMinutes: 5},
		userB:   {},
		userD:   {},
		userUnk: {Late: 1, LateMinutes: 7},
	}
	for _, p := range b.Persons {
		if p.Counts != want[p.UserID] {
			t.Errorf("%s counts %+v, want %+v", p.UserID, p.Counts, want[p.UserID])
		}
	}
	var a PersonRecord
	for _, p := range b.Persons {
		if p.UserID == userA {
			a = p
		}
	}
	var got []string
	for _, an := range a.Anomalies {
		got = append(got, DateCN(an.Date)+" "+an.Describe())
	}
	wantA := []string{
		"3月2日 上午上班 迟到12分钟（08:42）",
		"3月3日 下午下班 早退5分钟（17:55）",
		"3月4日 上午下班 缺卡",
		"3月5日 旷工（全天）",
		"3月8日 上午上班 迟到10分钟（08:40）",
		"3月8日 上午下班 缺卡",
		"3月11日 下午上班 迟到3分钟（14:33）",
		"3月12日 上午上班 严重迟到45分钟（09:15）",
		"3月15日 上午上班 迟到150分钟，按旷工半天计（11:00）",
	}
	if !reflect.DeepEqual(got, wantA) {
		t.Errorf("A's anomalies\n got %q\nwant %q", got, wantA)
	}
	// Nothing excused is a violation: the registered days of A never appear.
	for _, an := range a.Anomalies {
		switch an.Date.Day {
		case 9, 10, 18, 19, 22:
			t.Errorf("excused or made-up day listed as a violation: %v", an)
		case 11:
			if an.Slot != attendance.PmIn {
				t.Errorf("excused morning of the 11th listed: %v", an)
			}
		}
	}
	if len(b.Clean) != 2 || b.Clean[0].UserID != userB || b.Clean[1].UserID != userD {
		t.Errorf("clean %+v", b.Clean)
	}
	if len(b.Worst) != 2 || b.Worst[0].UserID != userA || b.Worst[1].UserID != userUnk {
		t.Errorf("worst %+v", b.Worst)
	}
	if len(b.Units) != 3 || b.Units[0].Unit != "党政办" || b.Units[0].People != 2 || b.Units[0].Clean != 1 || b.Units[0].Offenders != 1 ||
		b.Units[1].Unit != "农技中心" || b.Units[1].Clean != 1 || b.Units[2].Unit != "" || b.Units[2].Offenders != 1 {
		t.Errorf("units %+v", b.Units)
	}
	if b.Totals.Late != 4 || b.Totals.AbsentHalves != 3 || b.Totals.Excused != 5 {
		t.Errorf("totals %+v", b.Totals)
	}
}

func TestBulletinPeriodEndDay(t *testing.T) {
	b := goldenBulletin(t, 25)
	// 2月26日 (a Friday) has no judged day for anyone: pending, not absent.
	if b.From != date("2021-02-26") || b.To != date("2021-03-25") || b.WorkingDays != 20 {
		t.Errorf("period %v – %v, %d working days", b.From, b.To, b.WorkingDays)
	}
	for _, p := range b.Persons {
		if p.UserID == userA && (p.Days != 20 || p.Counts.Pending != 3 || p.Counts.AbsentHalves != 3) {
			t.Errorf("A over the 25th-period: %d days %+v", p.Days, p.Counts)
		}
		if p.UserID == userD && (p.Days != 9 || p.Counts.Pending != 1) {
			t.Errorf("D over the 25th-period: %d days %+v", p.Days, p.Counts)
		}
	}
	if len(b.Clean) != 1 || b.Clean[0].UserID != userB {
		t.Errorf("clean %+v (a pending day is not a clean day)", b.Clean)
	}
}

func TestBulletinWriters(t *testing.T) {
	b := goldenBulletin(t, 0)
	var md bytes.Buffer
	if err := WriteBulletinMarkdown(&md, b); err != nil {
		t.Fatal(err)
	}
	s := md.String()
	for _, want := range []string{
		"# 金碧镇 2021年3月工作纪律督查通报（考勤）",
		"统计期间：2021年3月1日至2021年3月31日（统计截至2021年3月25日），共19个工作日",
		"应打卡4人，共37人·天",
		"## 一、各单位汇总", "| 党政办 | 2 | 27 | 3 | 1 | 1 | 2 | 1.5 | 5 | 1 | 1 |",
		"## 二、全勤人员（2人）", "李四（农技中心）、赵六（党政办）。",
		"## 三、违纪较重人员", "| 1 | 张三 | 党政办 | 党政办主任 | 1.5 | 2 | 70 | 1 | 5 | 10 |",
		"| 2 | 099（未在册） | （未填单位） |",
		"## 四、个人情况", "3月5日 旷工（全天）；3月8日 上午上班 迟到10分钟（08:40）",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	var x bytes.Buffer
	if err := WriteBulletinXLSX(&x, b); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&x)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{BulletinSheetSummary, BulletinSheetPersons, BulletinSheetDetails, BulletinSheetClean, BulletinSheetWorst}) {
		t.Errorf("sheets %q", got)
	}
	rows, err := f.GetRows(BulletinSheetDetails)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+9+1 { // header, A's nine, 099's one
		t.Fatalf("%d detail rows", len(rows))
	}
	if !reflect.DeepEqual(rows[1][:7], []string{"张三", "党政办", "2021-03-02", "上午上班", "迟到", "12", "08:42"}) {
		t.Errorf("first detail row %q", rows[1])
	}
	prs, _ := f.GetRows(BulletinSheetPersons)
	if prs[1][0] != "张三" || prs[1][4] != "3" || prs[1][5] != "1" || prs[1][8] != "1.5" || prs[1][9] != "5" {
		t.Errorf("person row %q", prs[1])
	}
}

func TestBulletinErrors(t *testing.T) {
	in := goldenInput()
	base := BulletinInput{Month: in.Month, Days: in.Days, Roster: in.Roster, DayType: in.DayType, Options: in.Options}
	for _, tc := range []struct {
		name string
		edit func(*BulletinInput)
		want error
	}{
		{"future month", func(b *BulletinInput) { b.Month = Month{2021, 5} }, ErrFutureMonth},
		{"period day", func(b *BulletinInput) { b.PeriodEndDay = 30 }, ErrBadPeriod},
		{"unknown unit", func(b *BulletinInput) { b.Options.Unit = "村委会" }, ErrUnknownUnit},
		{"no calendar", func(b *BulletinInput) { b.DayType = nil }, ErrNoCalendar},
	} {
		b := base
		tc.edit(&b)
		if _, err := BuildBulletin(b); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	// A period that has started (March 21st – April 20th, today March 25th) is not in the future.
	b := base
	b.Month, b.PeriodEndDay = Month{2021, 4}, 20
	if _, err := BuildBulletin(b); err != nil {
		t.Errorf("April bulletin with period from March 21st should build on March 25th: %v", err)
	}
}

func benchInputs(b *testing.B) (TableInput, BulletinInput) {
	m := Month{2021, 3}
	roster, days, regs := synthMonth(m, 200, 1)
	cal := weekCal(nil, nil)
	opts := Options{Site: "金碧镇"}
	return TableInput{Month: m, Days: days, Roster: roster, DayType: cal, Registrations: regs, Options: opts},
		BulletinInput{Month: m, Days: days, Roster: roster, DayType: cal, Registrations: regs, Options: opts}
}

// BenchmarkTable200 builds a month's table for 200 people and writes it as XLSX and CSV.
func BenchmarkTable200(b *testing.B) {
	tin, _ := benchInputs(b)
	for b.Loop() {
		tb, err := BuildTable(tin)
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteTableXLSX(io.Discard, tb); err != nil {
			b.Fatal(err)
		}
		if err := WriteTableCSV(io.Discard, tb); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBulletin200 builds a month's bulletin for 200 people and writes it as Markdown and XLSX.
func BenchmarkBulletin200(b *testing.B) {
	_, bin := benchInputs(b)
	for b.Loop() {
		bl, err := BuildBulletin(bin)
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteBulletinMarkdown(io.Discard, bl); err != nil {
			b.Fatal(err)
		}
		if err := WriteBulletinXLSX(io.Discard, bl); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildOnly200 is the grid and the bulletin without the file formats.
func BenchmarkBuildOnly200(b *testing.B) {
	tin, bin := benchInputs(b)
	for b.Loop() {
		if _, err := BuildTable(tin); err != nil {
			b.Fatal(err)
		}
		if _, err := BuildBulletin(bin); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNotJudgedAndEmptyTracking(t *testing.T) {
	// An empty tracking means clock (as in internal/rules); a day the rules did not judge is blank.
	p := attendance.Person{UserID: "5", Name: "钱七"}
	days := []attendance.Day{
		okDay("5", date("2021-03-01")),
		{UserID: "5", Date: date("2021-03-02"), DayType: attendance.Workday, Status: statusNotJudged, Final: true},
	}
	tb, err := BuildTable(TableInput{Month: Month{2021, 3}, Days: days, Roster: []attendance.Person{p}, DayType: weekCal(nil, nil),
		Options: Options{Today: date("2021-03-03")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) != 1 {
		t.Fatalf("rows %+v", tb.Rows)
	}
	if got := marksString(tb.Rows[0].Marks); got != "✓·待····························" {
		t.Errorf("marks %s", got)
	}
}

func TestRowOrderIgnoresRosterOrder(t *testing.T) {
	in := goldenInput()
	want, err := BuildTable(in)
	if err != nil {
		t.Fatal(err)
	}
	rev := append([]attendance.Person(nil), in.Roster...)
	slices.Reverse(rev)
	in.Roster = rev
	got, err := BuildTable(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("a reversed roster changes the table")
	}
	ids := []string{"10", "A2", "2", "007", "7", "A10", "0"}
	slices.SortFunc(ids, CompareUserIDs)
	if !reflect.DeepEqual(ids, []string{"0", "2", "007", "7", "10", "A10", "A2"}) {
		t.Errorf("order %q", ids)
	}
}

// TestSynthMonthConsistent checks a seeded month of 120 people: every violation the bulletin lists is
// an unexcused anomaly of the judged day, every unexcused anomaly is listed, and the table's day
// totals agree with the bulletin's occurrences.
func TestSynthMonthConsistent(t *testing.T) {
	m := Month{2021, 3}
	roster, days, regs := synthMonth(m, 120, 99)
	cal := weekCal(nil, nil)
	tb, err := BuildTable(TableInput{Month: m, Days: days, Roster: roster, DayType: cal, Registrations: regs})
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildBulletin(BulletinInput{Month: m, Days: days, Roster: roster, DayType: cal, Registrations: regs})
	if err != nil {
		t.Fatal(err)
	}
	ix := indexDays(days)
	listed := map[dayKey]int{}
	for _, p := range b.Persons {
		for _, a := range p.Anomalies {
			day := ix[dayKey{p.UserID, a.Date}]
			if day == nil {
				t.Fatalf("%s %v: listed without a judged day", p.UserID, a.Date)
			}
			if a.Slot != "" && day.Slots[a.Slot].Result != a.Result {
				t.Errorf("%s %v %s: listed %s, judged %s", p.UserID, a.Date, a.Slot, a.Result, day.Slots[a.Slot].Result)
			}
			listed[dayKey{p.UserID, a.Date}]++
		}
	}
	for _, d := range days {
		n := 0
		for _, s := range d.Slots {
			switch s.Result {
			case attendance.ResultLate, attendance.ResultSeriousLate, attendance.ResultEarly, attendance.ResultMissing, attendance.ResultAbsent:
				n++
			}
		}
		if d.Status == attendance.StatusAbsent {
			n = 1 // a whole absent day is listed once
		}
		if got := listed[dayKey{d.UserID, d.Date}]; got != n {
			t.Errorf("%s %v: %d anomalies listed, %d judged", d.UserID, d.Date, got, n)
		}
	}
	byID := map[string]PersonRecord{}
	for _, p := range b.Persons {
		byID[p.UserID] = p
	}
	for _, r := range tb.Rows {
		c := byID[r.UserID].Counts
		// The synthetic days have at most one anomaly, so days and occurrences coincide.
		if r.Totals.Late != c.Late+c.SeriousLate || r.Totals.Early != c.Early || r.Totals.Missing != c.Missing ||
			r.Totals.Absent*2 != c.AbsentHalves || r.Totals.Offsite+r.Totals.Trip+r.Totals.Leave != c.Excused {
			t.Errorf("%s: table totals %+v, bulletin counts %+v", r.UserID, r.Totals, c)
		}
	}
}

// A half-day without any punch is one absence in the bulletin and the 通报 ("下午 旷工半天", not
// once per slot); a day excused by a registration recorded weeks later shows "外△" with the legend
// saying what △ is, and the 通报 names the late registration.
func TestHalfDayOnceAndLateRegistration(t *testing.T) {
	m := Month{2021, 3}
	roster := []attendance.Person{{UserID: userA, Name: "张三", Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock}}
	half := with(with(okDay(userA, date("2021-03-02")), attendance.PmIn, attendance.ResultAbsent, 0, ""), attendance.PmOut, attendance.ResultAbsent, 0, "")
	half.Status = attendance.StatusAbnormal
	late := reg("R1", userA, attendance.KindOffsite, "2021-03-03 08:00", "2021-03-03 18:30")
	late.RegisteredAt = time.Date(2021, 3, 10, 9, 0, 0, 0, shanghai)
	excused := excusedDay(userA, date("2021-03-03"), "R1", attendance.KindOffsite)
	for _, n := range attendance.Slots {
		s := excused.Slots[n]
		s.Unexcused, s.LateRegistered = attendance.ResultAbsent, true
		excused.Slots[n] = s
	}
	in := TableInput{Month: m, Days: []attendance.Day{half, excused}, Roster: roster, DayType: weekCal(nil, nil),
		Registrations: []attendance.Registration{late}, Options: Options{Site: "金碧镇", Today: date("2021-03-03")}}
	tb, err := BuildTable(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := marksString(tb.Rows[0].Marks); !strings.HasPrefix(got, "待旷外△·") {
		t.Errorf("marks %s, want 待旷外△… (nothing judged on the 1st)", got)
	}
	if !strings.Contains(tb.Legend, "△ 事后补登") {
		t.Errorf("the legend does not say what △ is: %s", tb.Legend)
	}
	b, err := BuildBulletin(BulletinInput{Month: m, Days: in.Days, Roster: roster, DayType: in.DayType, Registrations: in.Registrations, Options: in.Options})
	if err != nil {
		t.Fatal(err)
	}
	p := b.Persons[0]
	if len(p.Anomalies) != 1 || p.Anomalies[0].Describe() != "下午 旷工半天" || p.Counts.AbsentHalves != 1 {
		t.Errorf("anomalies %+v (absent halves %d), want one 下午 旷工半天", p.Anomalies, p.Counts.AbsentHalves)
	}
	if len(p.LateRegistered) != 4 || p.Counts.LateRegistered != 1 || p.LateRegistered[0].Registration != "R1" {
		t.Errorf("late registrations %+v", p.LateRegistered)
	}
	n, err := BuildNotice(NoticeInput{Bulletin: b, Month: m, Site: "金碧镇", Date: date("2021-03-26"), Roster: roster})
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, s := range n.Sections {
		for _, e := range s.Entries {
			text += e.Text()
		}
	}
	if want := "张三（党政办 科员）：旷工0.5天（3月2日 下午 旷工半天）；外出等登记不及时1次（3月3日 外出，3月10日补登）。"; text != want {
		t.Errorf("通报 entry\n got %s\nwant %s", text, want)
	}
}
