package report

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// townUnits are the township's 12 units of the acceptance: the office, four stations (农技中心 with
// its own clock) and seven villages.
func townUnits() []attendance.Unit {
	us := []attendance.Unit{
		{Name: "党政办", Kind: attendance.UnitOffice, HasClock: true},
		{Name: "农技中心", Kind: attendance.UnitStation, HasClock: true},
		{Name: "水务站", Kind: attendance.UnitStation},
		{Name: "财政所", Kind: attendance.UnitStation, Signatures: []string{"所长审核签字", "经办人签字"}},
		{Name: "兽医站", Kind: attendance.UnitStation},
	}
	for i, v := range []string{"金碧村", "东山村", "西坪村", "南河村", "北岭村", "新街社区", "石桥村"} {
		us = append(us, attendance.Unit{Name: v, Kind: attendance.UnitVillage, Leader: fmt.Sprintf("挂点领导%d", i+1), Secretary: fmt.Sprintf("书记%d", i+1)})
	}
	return us
}

// townMonth is a month of the whole township: n people over the 12 units, 95 of them judged from
// punches (80 in the office, 15 in 农技中心) and the rest kept by their unit's marks, a seeded mix of
// √ × 假 差 (休 on rest days), two conflicts and three findings.
type town struct {
	units     []attendance.Unit
	table     TableInput
	marks     []attendance.DayMark
	conflicts []attendance.Conflict
	findings  []attendance.Finding
}

func townMonth(m Month, n int, seed uint64) town {
	const clockPeople = 95
	roster, days, regs := synthMonth(m, clockPeople, seed)
	for i := range roster {
		roster[i].Unit = "党政办"
		if i >= 80 {
			roster[i].Unit = "农技中心"
		}
	}
	units := townUnits()
	rng := rand.New(rand.NewPCG(seed, 11))
	cal := weekCal(nil, nil)
	var marks []attendance.DayMark
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
	given := []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红")
	for i := clockPeople; i < n; i++ {
		u := units[2+(i-clockPeople)%(len(units)-2)]
		p := attendance.Person{UserID: fmt.Sprintf("%04d", i+1), Name: string(surnames[rng.IntN(len(surnames))]) + string(given[rng.IntN(len(given))]) + string(given[rng.IntN(len(given))]),
			Post: []string{"组长", "组员", "站长", "工作人员"}[rng.IntN(4)], Unit: u.Name, Tracking: u.Tracking()}
		roster = append(roster, p)
		for day := 1; day <= m.Len(); day++ {
			d := attendance.Date{Year: m.Year, Month: m.Month, Day: day}
			mk := attendance.MarkPresent
			switch x := rng.IntN(100); {
			case !cal(d).IsWorking():
				mk = attendance.MarkRest
			case x < 4:
				mk = attendance.MarkAbsent
			case x < 7:
				mk = attendance.MarkLeave
			case x < 9:
				mk = attendance.MarkTrip
			case x < 11:
				continue // not recorded
			}
			marks = append(marks, attendance.DayMark{Unit: u.Name, UserID: p.UserID, Date: d, Mark: mk, RecordedBy: u.Secretary})
		}
	}
	var conflicts []attendance.Conflict
	for _, dm := range marks {
		if len(conflicts) < 2 && dm.Mark == attendance.MarkPresent && strings.HasSuffix(dm.Unit, "村") && dm.Date.Day > 5 {
			conflicts = append(conflicts, attendance.Conflict{UserID: dm.UserID, Unit: dm.Unit, Date: dm.Date,
				Punch: dm.Date.At(9*3600+12*60, shanghai), Clock: "CKJB000001"})
		}
	}
	findings := []attendance.Finding{
		{ID: "F00000001", Date: attendance.Date{Year: m.Year, Month: m.Month, Day: 9}, Unit: "水务站", Kind: attendance.FindingNegative, Text: "上午10时督查，站内无人值班", RecordedBy: "督查室"},
		{ID: "F00000002", Date: attendance.Date{Year: m.Year, Month: m.Month, Day: 12}, Unit: "党政办", UserID: roster[0].UserID, Kind: attendance.FindingNegative, Text: "上班时间玩手机游戏", RecordedBy: "督查室"},
		{ID: "F00000003", Date: attendance.Date{Year: m.Year, Month: m.Month, Day: 16}, Unit: "金碧村", Kind: attendance.FindingPositive, Text: "挂点工作组坚持每日到村，入户走访台账完整", RecordedBy: "督查室"},
	}
	return town{units: units, marks: marks, conflicts: conflicts, findings: findings,
		table: TableInput{Month: m, Days: days, Roster: roster, DayType: cal, Registrations: regs, Options: Options{Site: "金碧镇"}}}
}

func (tw town) tables(t testing.TB, blank bool) []Table {
	var out []Table
	for _, u := range tw.units {
		in := tw.table
		in.Options.Blank = blank
		tb, err := BuildUnitTable(UnitInput{Table: in, Unit: u, Marks: tw.marks, Conflicts: tw.conflicts})
		if err != nil {
			t.Fatalf("unit %s: %v", u.Name, err)
		}
		out = append(out, tb)
	}
	return out
}

func (tw town) notice(t testing.TB) Notice {
	b, err := BuildBulletin(BulletinInput{Month: tw.table.Month, Days: tw.table.Days, Roster: tw.table.Roster, DayType: tw.table.DayType,
		Registrations: tw.table.Registrations, Options: tw.table.Options})
	if err != nil {
		t.Fatal(err)
	}
	n, err := BuildNotice(NoticeInput{Bulletin: b, Month: tw.table.Month, Site: "金碧镇", Issue: 4, Date: date("2021-04-26"),
		Units: tw.units, Roster: tw.table.Roster, Marks: tw.marks, Conflicts: tw.conflicts, Findings: tw.findings,
		Problems: []string{"个别村（社区）考勤表填写不规范，签字不全。", "建议各站所每月1日前按时报送考勤表。"}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVillageForm(t *testing.T) {
	m := Month{2021, 4}
	u := attendance.Unit{Name: "金碧村", Kind: attendance.UnitVillage, Leader: "李书记", Secretary: "王支书"}
	roster := []attendance.Person{
		{UserID: "12", Name: "赵六", Post: "组员", Unit: "金碧村", Tracking: attendance.TrackVillage},
		{UserID: "2", Name: "张三", Post: "组长", Unit: "金碧村", Tracking: attendance.TrackVillage},
		{UserID: "3", Name: "王五", Post: "站长", Unit: "水务站", Tracking: attendance.TrackStation},
	}
	d := func(day int) attendance.Date { return attendance.Date{Year: 2021, Month: 4, Day: day} }
	marks := []attendance.DayMark{
		{Unit: "金碧村", UserID: "2", Date: d(1), Mark: attendance.MarkPresent},
		{Unit: "金碧村", UserID: "2", Date: d(2), Mark: attendance.MarkAbsent},
		{Unit: "金碧村", UserID: "2", Date: d(3), Mark: attendance.MarkRest},
		{Unit: "金碧村", UserID: "12", Date: d(6), Mark: attendance.MarkPresent},
		{Unit: "东山村", UserID: "2", Date: d(7), Mark: attendance.MarkAbsent}, // another unit's: ignored
	}
	conflicts := []attendance.Conflict{{UserID: "12", Unit: "金碧村", Date: d(6), Punch: d(6).At(9*3600+12*60, shanghai), Clock: "CKJB000001"}}
	in := UnitInput{Table: TableInput{Month: m, Roster: roster, DayType: weekCal(nil, nil), Options: Options{Site: "金碧镇"}},
		Unit: u, Marks: marks, Conflicts: conflicts}
	tb, err := BuildUnitTable(in)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Title != "金碧镇包村挂点工作组4月考勤表" || tb.Unit != "金碧村（居）委会" {
		t.Errorf("title %q unit line %q", tb.Title, tb.Unit)
	}
	if !slices.Equal(tb.Signatures, []string{"党组织书记签字", "包村挂点领导签字"}) {
		t.Errorf("signatures %q", tb.Signatures)
	}
	if !strings.HasPrefix(tb.Legend, "备注：1. “√”表示在村开展工作，“×”表示未在村开展工作。") {
		t.Errorf("legend %q", tb.Legend)
	}
	if len(tb.Rows) != 2 || tb.Rows[0].Name != "张三" || tb.Rows[1].Name != "赵六" {
		t.Fatalf("rows %+v", tb.Rows)
	}
	if got := marksString(tb.Rows[0].Marks); !strings.HasPrefix(got, "√×休") {
		t.Errorf("张三's marks %q", got)
	}
	if got := tb.RowTotals(tb.Rows[0]); !slices.Equal(got, []int{1, 1, 0, 0}) || !slices.Equal(tb.TotalHeads(), []string{"在村", "未在村", "请假", "出差"}) {
		t.Errorf("totals %v %v", got, tb.TotalHeads())
	}
	if len(tb.Notes) != 1 || !strings.Contains(tb.Notes[0], "赵六 4月6日（村记“√”，09:12 在考勤机 CKJB000001 打卡）") || tb.Conflicts != 1 {
		t.Errorf("notes %q", tb.Notes)
	}
	recs := TableRecords(tb)
	if recs[0][0] != tb.Title || recs[len(recs)-1][0] != "包村挂点领导签字：" || recs[len(recs)-2][0] != "党组织书记签字：" {
		t.Errorf("csv head %q foot %q", recs[0][0], recs[len(recs)-2:])
	}

	in.Table.Options.Blank = true
	blank, err := BuildUnitTable(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(blank.Rows) != 2 || marksString(blank.Rows[0].Marks) != strings.Repeat("·", 31) || len(blank.Notes) != 0 {
		t.Errorf("blank form rows %+v notes %q", blank.Rows, blank.Notes)
	}
	for _, r := range TableRecords(blank)[4:6] {
		if strings.Join(r[2:], "") != "" {
			t.Errorf("blank form row %q has marks or totals", r)
		}
	}
}

func TestStationAndOfficeForms(t *testing.T) {
	tw := townMonth(Month{2021, 3}, 200, 3)
	tables := tw.tables(t, false)
	byName := map[string]Table{}
	for _, tb := range tables {
		byName[tb.UnitName] = tb
	}
	if s := byName["农技中心"]; !slices.Equal(s.Signatures, []string{"站所长审核签字"}) || s.ByMarks || len(s.Rows) != 15 {
		t.Errorf("农技中心 (clock): signatures %q by marks %v rows %d", s.Signatures, s.ByMarks, len(s.Rows))
	}
	if s := byName["水务站"]; !slices.Equal(s.Signatures, []string{"站所长审核签字"}) || !s.ByMarks || s.Title != "金碧镇水务站2021年3月考勤表" {
		t.Errorf("水务站 (marks): %q %v %q", s.Signatures, s.ByMarks, s.Title)
	}
	if s := byName["财政所"]; !slices.Equal(s.Signatures, []string{"所长审核签字", "经办人签字"}) {
		t.Errorf("财政所: %q", s.Signatures)
	}
	if o := byName["党政办"]; len(o.Rows) != 80 || o.Unit != "单位：党政办" {
		t.Errorf("office rows %d line %q", len(o.Rows), o.Unit)
	}
	total := 0
	for _, tb := range tables {
		total += len(tb.Rows)
	}
	if total != 200 {
		t.Errorf("%d people over the 12 forms, want 200", total)
	}
	set, err := BuildTableSet("金碧镇", Month{2021, 3}, tables)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Summary) != 12 || set.Summary[0].Unit != "党政办" || set.Title != "金碧镇2021年3月各单位考勤汇总" {
		t.Fatalf("summary %+v", set.Summary)
	}
	conflicts := 0
	for _, r := range set.Summary {
		conflicts += r.Conflicts
	}
	if conflicts != 2 {
		t.Errorf("conflicts in the summary: %d, want 2", conflicts)
	}
	var buf bytes.Buffer
	if err := WriteTableSetXLSX(&buf, set); err != nil {
		t.Fatal(err)
	}
	checkDimensions(t, buf.Bytes(), 13)
}

func TestNotice(t *testing.T) {
	tw := townMonth(Month{2021, 3}, 200, 3)
	n := tw.notice(t)
	if n.Masthead != "金碧政务督查" || n.Issuer != "镇督查室" || n.Issue != 4 {
		t.Errorf("masthead %q issuer %q issue %d", n.Masthead, n.Issuer, n.Issue)
	}
	var heads []string
	for _, s := range n.Sections {
		heads = append(heads, s.Heading)
	}
	if !slices.Equal(heads, []string{"机关", "站所", "村（社区）"}) {
		t.Fatalf("sections %q", heads)
	}
	// Each person is named once, with all their facts.
	seen := map[string]bool{}
	for _, s := range n.Sections {
		for _, e := range s.Entries {
			key := e.UserID
			if key == "" {
				key = "unit " + e.Unit
			}
			if seen[key] {
				t.Errorf("%s named twice", key)
			}
			seen[key] = true
		}
	}
	first := tw.table.Roster[0]
	var md bytes.Buffer
	if err := WriteNoticeMarkdown(&md, n); err != nil {
		t.Fatal(err)
	}
	text := md.String()
	for _, want := range []string{"# 金碧政务督查", "第4期", "镇督查室　　　　2021年4月26日", "## 关于2021年3月干部职工工作纪律督查情况的通报",
		"### 一、机关", "### 二、站所", "### 三、村（社区）", "### 四、正面典型", "### 五、存在问题及意见建议",
		"水务站：3月9日督查发现：上午10时督查，站内无人值班。", "3月12日督查发现：上班时间玩手机游戏",
		"金碧村：3月16日督查发现：挂点工作组坚持每日到村", "个别村（社区）考勤表填写不规范", "未在村开展工作", "无挂点领导同意的返岗登记"} {
		if !strings.Contains(text, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Count(text, first.Name+"（党政办") != 1 {
		t.Errorf("%s (with a finding and clock facts) is named %d times", first.Name, strings.Count(text, first.Name+"（党政办"))
	}

	var docx bytes.Buffer
	if err := WriteNoticeDOCX(&docx, n, time.Date(2021, 4, 26, 9, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(docx.Bytes()), int64(docx.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var docText strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		// Every part is well-formed XML.
		dec := xml.NewDecoder(bytes.NewReader(data))
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			if cd, ok := tok.(xml.CharData); ok && f.Name == "word/document.xml" {
				docText.Write(cd)
			}
		}
	}
	for _, want := range []string{"金碧政务督查", "第4期", "关于2021年3月干部职工工作纪律督查情况的通报", "五、存在问题及意见建议", "建议各站所每月1日前按时报送考勤表。"} {
		if !strings.Contains(docText.String(), want) {
			t.Errorf("docx lacks %q", want)
		}
	}
	var xl bytes.Buffer
	if err := WriteNoticeXLSX(&xl, n); err != nil {
		t.Fatal(err)
	}
	checkDimensions(t, xl.Bytes(), 6)
}

// TestWriteUnitsSample writes the township's forms and 通报 for rendering (scripts/render-forms.sh).
func TestWriteUnitsSample(t *testing.T) {
	if *sampleDir == "" {
		t.Skip("no -sample directory given")
	}
	tw := townMonth(Month{2021, 3}, 200, 3)
	set, err := BuildTableSet("金碧镇", Month{2021, 3}, tw.tables(t, false))
	if err != nil {
		t.Fatal(err)
	}
	blank, err := BuildTableSet("金碧镇", Month{2021, 3}, tw.tables(t, true))
	if err != nil {
		t.Fatal(err)
	}
	n := tw.notice(t)
	for name, write := range map[string]func(io.Writer) error{
		"forms.xlsx":       func(w io.Writer) error { return WriteTableSetXLSX(w, set) },
		"forms-blank.xlsx": func(w io.Writer) error { return WriteTableSetXLSX(w, blank) },
		"notice.md":        func(w io.Writer) error { return WriteNoticeMarkdown(w, n) },
		"notice.docx":      func(w io.Writer) error { return WriteNoticeDOCX(w, n, time.Date(2021, 4, 26, 9, 0, 0, 0, shanghai)) },
		"notice.xlsx":      func(w io.Writer) error { return WriteNoticeXLSX(w, n) },
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

// BenchmarkTownship200 is the acceptance's month: 200 people in 12 units. Every unit's form (built
// and written as one XLSX with the summary), the 通报 (built and written as Markdown, DOCX and XLSX)
// and the points (built and written as XLSX).
func BenchmarkTownship200(b *testing.B) {
	tw := townMonth(Month{2021, 3}, 200, 3)
	for b.Loop() {
		set, err := BuildTableSet("金碧镇", Month{2021, 3}, tw.tables(b, false))
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteTableSetXLSX(io.Discard, set); err != nil {
			b.Fatal(err)
		}
		n := tw.notice(b)
		if err := WriteNoticeMarkdown(io.Discard, n); err != nil {
			b.Fatal(err)
		}
		if err := WriteNoticeDOCX(io.Discard, n, time.Time{}); err != nil {
			b.Fatal(err)
		}
		if err := WriteNoticeXLSX(io.Discard, n); err != nil {
			b.Fatal(err)
		}
		in := tw.points(b)
		if err := WritePointsXLSX(io.Discard, BuildPoints(in)); err != nil {
			b.Fatal(err)
		}
	}
}

var testValues = attendance.PointValues{Late: -0.5, SeriousLate: -1, Early: -0.5, Missing: -0.5, AbsentHalfDay: -2,
	VillageAbsent: -1, Conflict: -2, NegativeFinding: -3, PositiveFinding: 2}

func (tw town) points(t testing.TB) PointsInput {
	n := tw.notice(t)
	return PointsInput{Title: "金碧镇2021年3月考核加减分", Bulletin: n.Bulletin, Roster: tw.table.Roster, Marks: tw.marks,
		Conflicts: tw.conflicts, Findings: tw.findings, Values: testValues}
}

func TestPoints(t *testing.T) {
	tw := townMonth(Month{2021, 3}, 200, 3)
	p := BuildPoints(tw.points(t))
	if len(p.Rows) != 200 {
		t.Fatalf("%d rows, want 200", len(p.Rows))
	}
	byID := map[string]PersonPoints{}
	for _, r := range p.Rows {
		byID[r.UserID] = r
		sum := 0.0
		for _, x := range r.Reasons {
			if x.Sum != x.Each*float64(x.Count) {
				t.Errorf("%s %s: %v × %d = %v", r.UserID, x.Kind, x.Each, x.Count, x.Sum)
			}
			sum += x.Sum
		}
		if sum != r.Total {
			t.Errorf("%s: total %v, reasons add to %v", r.UserID, r.Total, sum)
		}
	}
	first := byID[tw.table.Roster[0].UserID]
	if !slices.ContainsFunc(first.Reasons, func(x PointReason) bool { return x.Kind == "negative_finding" && x.Count == 1 && x.Sum == -3 }) {
		t.Errorf("the person with a negative finding: %+v", first.Reasons)
	}
	c := byID[tw.conflicts[0].UserID]
	if !slices.ContainsFunc(c.Reasons, func(x PointReason) bool { return x.Kind == "conflict" && x.Sum == -2*float64(x.Count) }) {
		t.Errorf("the person with a conflict: %+v", c.Reasons)
	}
	away := 0
	for _, m := range tw.marks {
		if m.Mark == attendance.MarkAbsent {
			away++
		}
	}
	got := 0
	for _, r := range p.Rows {
		for _, x := range r.Reasons {
			if x.Kind == "village_absent" {
				got += x.Count
			}
		}
	}
	if got != away {
		t.Errorf("village_absent counted %d times, %d × marks", got, away)
	}
	recs := PointsRecords(p)
	if recs[1][4] != "得分" || len(recs) != 202 {
		t.Errorf("records head %q, %d records", recs[1], len(recs))
	}

	// The year: March twice over is twice March's points.
	in := tw.points(t)
	y := BuildYear(2021, "金碧镇", []PointsInput{in, in})
	if len(y.Rows) != 200 {
		t.Fatalf("year rows %d", len(y.Rows))
	}
	for _, r := range y.Rows {
		if r.Points[2] != 2*byID[r.UserID].Total || r.Total != r.Points[2] {
			t.Errorf("%s: March %v total %v, want %v", r.UserID, r.Points[2], r.Total, 2*byID[r.UserID].Total)
			break
		}
	}
	var buf bytes.Buffer
	if err := WriteYearXLSX(&buf, y); err != nil {
		t.Fatal(err)
	}
	checkDimensions(t, buf.Bytes(), 1)
}
