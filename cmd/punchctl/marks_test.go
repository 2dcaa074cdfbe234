package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/report"
)

// newUnitsFixture is a township with units, the daemon stopped: 1001 张三 of 党政办 punches the
// clock; 2001 王五 and 2002 赵六 are posted to 金碧村 (leader 李书记); 3001 孙七 is in 水务站, which
// has no clock. 王五 punched the compound's clock at 09:12 on Monday 2026-03-09.
func newUnitsFixture(t *testing.T) *bkFixture {
	t.Helper()
	f := newFixtureDirs(t)
	var err error
	f.cfgPath = writeFile(t, f.dir, "punchd.toml", fmt.Sprintf(`
[site]
name = "jinbi"
display_name = "金碧镇"
timezone = "Asia/Shanghai"
events_since = "2026-03-01"
[store]
path = %q
[api]
socket = %q
[[clock]]
name = "main"
url = "zk+tcp://127.0.0.1:4370"
[[unit]]
name = "党政办"
kind = "office"
[[unit]]
name = "水务站"
kind = "station"
[[unit]]
name = "金碧村"
kind = "village"
leader = "李书记"
secretary = "王支书"
`, f.dbPath, f.sock))
	if f.cfg, err = config.Load(f.cfgPath); err != nil {
		t.Fatal(err)
	}
	people, err := f.cfg.ApplyUnits([]attendance.Person{
		{UserID: "1001", Name: "张三", Post: "科员", Unit: "党政办"},
		{UserID: "2001", Name: "王五", Post: "组长", Unit: "金碧村"},
		{UserID: "2002", Name: "赵六", Post: "组员", Unit: "金碧村"},
		{UserID: "3001", Name: "孙七", Post: "站长", Unit: "水务站"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.seed(t, people, []device.Punch{{Clock: "SN1", UserID: "2001", Time: time.Date(2026, 3, 9, 9, 12, 0, 0, bkZone), Verify: 1}})
	return f
}

// sheet is 金碧村's 附件1 for March 2026 as the village fills it in.
func sheet(village string, rows ...string) string {
	days := make([]string, 31)
	for i := range days {
		days[i] = fmt.Sprint(i + 1)
	}
	return "金碧镇包村挂点工作组3月考勤表\n" + village + "\n姓名,职务,考勤情况记录\n,," + strings.Join(days, ",") + "\n" +
		strings.Join(rows, "\n") + "\n备注：1. “√”表示在村开展工作，“×”表示未在村开展工作。\n党组织书记签字：\n包村挂点领导签字：\n"
}

func TestMarksImportBadSheets(t *testing.T) {
	f := newUnitsFixture(t)
	tests := []struct{ name, text, want string }{
		{"unknown name", sheet("金碧村（居）委会", "王五,组长,√", "钱八,组员,√"), `row 6, column A (姓名): bad marks sheet: "钱八" is not on the roster of 金碧村`},
		{"day 32", "金碧村（居）委会\n姓名,职务,1,2,32\n王五,组长,√,√,√\n", "row 2, column E (day 32): bad marks sheet: 32 is not a day 1..31"},
		{"bad mark", sheet("金碧村（居）委会", "王五,组长,√,O"), `row 5, column D (day 2): bad marks sheet: mark "O" is not one of √ × 假 差 休`},
		{"unit not in config", sheet("西山村（居）委会", "王五,组长,√"), `row 2, column A: bad marks sheet: unit "西山" is not a [[unit]] of the config (known: 党政办, 水务站, 金碧村)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, t.TempDir(), "金碧村.csv", tc.text)
			code, _, errs := f.ctl(t, bkNow, "marks", "import", "--unit", "金碧村", "--month", "2026-03", "--by", "王支书", file)
			want := "marks " + file + ": " + tc.want
			if code == 0 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(lastLine(errs)), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q\nwant %q", code, errs, want)
			}
			db := f.open(t)
			ms, err := db.Marks("", attendance.Date{Year: 2026, Month: 3, Day: 1}, attendance.Date{Year: 2026, Month: 3, Day: 31})
			db.Close()
			if err != nil || len(ms) != 0 {
				t.Fatalf("stored from a refused sheet: %+v %v", ms, err)
			}
		})
	}
	code, _, errs := f.ctl(t, bkNow, "marks", "import", "--unit", "西山村", "--month", "2026-03", writeFile(t, t.TempDir(), "x.csv", sheet("")))
	if code == 0 || !strings.Contains(errs, `--unit: "西山村" is not a [[unit]] of the config`) {
		t.Fatalf("--unit not configured: %d %q", code, errs)
	}
	code, _, errs = f.ctl(t, bkNow, "marks", "set", "--unit", "党政办", "--user", "1001", "--date", "2026-03-09", "--mark", "√")
	if code == 0 || !strings.Contains(errs, "its people punch a clock") {
		t.Fatalf("marks for the office: %d %q", code, errs)
	}
}

// TestUnitsEndToEnd: the village files its 附件1, the station its marks, the 督查室 a finding; the
// village's form names the conflict until the leader's return registration clears it, and the
// 通报 and the points name each person once.
func TestUnitsEndToEnd(t *testing.T) {
	f := newUnitsFixture(t)
	// 王五 √ on 2 (Mon) … 9 (the day he punched at 09:12), × on the 10th; 赵六 √ on the 2nd.
	row := "王五,组长,√,√,√,√,√,休,休,√,√" // days 1..9
	xl := excelize.NewFile()
	for i, r := range [][]any{{"金碧镇包村挂点工作组3月考勤表"}, {"金碧村（居）委会"}, {"姓名", "职务", "考勤情况记录"}} {
		if err := xl.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	days := []any{nil, nil}
	for d := 1; d <= 31; d++ {
		days = append(days, d)
	}
	cells := []any{}
	for _, c := range strings.Split(row, ",") {
		cells = append(cells, c)
	}
	cells = append(cells, "×")
	for i, r := range [][]any{days, cells, {"赵六", "组员", nil, "√"}} {
		if err := xl.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+4), &r); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "金碧村2026年3月.xlsx")
	if err := xl.SaveAs(file); err != nil {
		t.Fatal(err)
	}
	code, out, errs := f.ctl(t, bkNow, "marks", "import", "--unit", "金碧村", "--month", "2026-03", "--by", "王支书", file)
	if code != 0 || !strings.Contains(out, "11 mark(s) of 2 people stored (by 王支书)") {
		t.Fatalf("import = %d\n%s%s", code, out, errs)
	}
	// The village's × and the conflict are events, queued with the marks.
	absentID := event.ID("jinbi", "2001", attendance.Date{Year: 2026, Month: 3, Day: 10}, "", attendance.EventVillageAbsent)
	conflictID := event.ID("jinbi", "2001", bkDay, "", attendance.EventConflict)
	{
		db := f.open(t)
		revs, evs := eventRevs(t, db, absentID)
		if len(revs) != 1 || evs[0].Kind != "village_absent" || evs[0].Slot != "" || evs[0].Severity != "serious" || evs[0].Name != "王五" || evs[0].Unit != "金碧村" {
			t.Errorf("village_absent events %v %+v", revs, evs)
		}
		if err := evs[0].Validate(); err != nil {
			t.Error(err)
		}
		revs, evs = eventRevs(t, db, conflictID)
		if len(revs) != 1 || evs[0].Kind != "conflict" || evs[0].Actual == nil || *evs[0].Actual != "2026-03-09T09:12:00+08:00" || evs[0].Clock != "main" {
			t.Errorf("conflict events %v %+v", revs, evs)
		}
		db.Close()
	}
	if code, out, errs = f.ctl(t, bkNow, "marks", "set", "--unit", "水务站", "--user", "3001", "--date", "2026-03-09", "--mark", "×", "--by", "督查室"); code != 0 {
		t.Fatalf("marks set = %d\n%s%s", code, out, errs)
	}
	code, out, _ = f.ctl(t, bkNow, "marks", "list", "--month", "2026-03")
	if code != 0 || !strings.Contains(out, "金碧村\t2001\t王五\t√√√√√休休√√×") || !strings.Contains(out, "水务站\t3001\t孙七\t········×") {
		t.Fatalf("marks list = %d\n%s", code, out)
	}
	code, out, errs = f.ctl(t, bkNow, "finding", "add", "--date", "2026-03-09", "--unit", "水务站", "--user", "3001", "--kind", "negative", "--text", "上班时间不在岗", "--by", "督查室")
	if code != 0 || !strings.HasPrefix(out, "F00000001 2026-03-09 negative 水务站 3001: 上班时间不在岗") {
		t.Fatalf("finding add = %d\n%s%s", code, out, errs)
	}

	dir := t.TempDir()
	form := filepath.Join(dir, "金碧村.json")
	if code, _, errs = f.ctl(t, bkNow, "report", "table", "--month", "2026-03", "--unit", "金碧村", "--format", "json", "-o", form); code != 0 {
		t.Fatalf("report table = %d %s", code, errs)
	}
	data, _ := os.ReadFile(form)
	for _, want := range []string{`"title": "金碧镇包村挂点工作组3月考勤表"`, `"unit": "金碧村（居）委会"`, `"党组织书记签字"`, `"包村挂点领导签字"`,
		`王五 3月9日（村记“√”，09:12 在考勤机 SN1 打卡）`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("village form lacks %s:\n%s", want, data)
		}
	}
	if code, _, errs = f.ctl(t, bkNow, "report", "table", "--month", "2026-03", "--unit", "东山村", "-o", filepath.Join(dir, "x.xlsx")); code == 0 || !strings.Contains(errs, `--unit: "东山村" is not a [[unit]] of the config`) {
		t.Errorf("unknown unit: %d %q", code, errs)
	}
	all := filepath.Join(dir, "all.xlsx")
	if code, _, errs = f.ctl(t, bkNow, "report", "table", "--month", "2026-03", "--unit", "all", "-o", all); code != 0 {
		t.Fatalf("report table --unit all = %d %s", code, errs)
	}
	xf, err := excelize.OpenFile(all)
	if err != nil {
		t.Fatal(err)
	}
	sheets := xf.GetSheetList()
	xf.Close()
	if strings.Join(sheets, ",") != report.SummarySheet+",党政办,水务站,金碧村" {
		t.Errorf("sheets %q", sheets)
	}

	md := filepath.Join(dir, "bulletin.md")
	notes := writeFile(t, dir, "notes.txt", "1. 个别村考勤表签字不全。\n\n2. 建议按时报送。\n")
	if code, _, errs = f.ctl(t, bkNow, "report", "bulletin", "--month", "2026-03", "--issue", "3", "--notes", notes, "-o", md); code != 0 {
		t.Fatalf("report bulletin = %d %s", code, errs)
	}
	data, _ = os.ReadFile(md)
	for _, want := range []string{"第3期", "镇督查室", "### 二、站所", "孙七（水务站 站长）：缺勤1天（3月9日）；3月9日督查发现：上班时间不在岗。",
		"王五（金碧村 组长）：未在村开展工作1天（3月10日）；村记在村，但1次工作时间在镇上打卡", "个别村考勤表签字不全。", "建议按时报送。"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("bulletin lacks %q:\n%s", want, data)
		}
	}
	for _, format := range []string{"docx", "xlsx"} {
		if code, _, errs = f.ctl(t, bkNow, "report", "bulletin", "--month", "2026-03", "-o", filepath.Join(dir, "b."+format)); code != 0 {
			t.Fatalf("report bulletin %s = %d %s", format, code, errs)
		}
	}

	// The leader agreed to the return: no conflict any more.
	code, out, errs = f.ctl(t, bkNow, "register", "add", "--user", "2001", "--kind", "return", "--from", "2026-03-09 08:30", "--to", "2026-03-09 12:00",
		"--reason", "回站所办理业务", "--by", "党政办", "--approved-by", "张三")
	if code == 0 || !strings.Contains(errs, "approved by its 挂点领导 李书记") {
		t.Fatalf("a return approved by someone else: %d %s%s", code, out, errs)
	}
	code, out, errs = f.ctl(t, bkNow, "register", "add", "--user", "2001", "--kind", "return", "--from", "2026-03-09 08:30", "--to", "2026-03-09 12:00",
		"--reason", "回站所办理业务", "--by", "党政办", "--approved-by", "李书记")
	if code != 0 {
		t.Fatalf("register return = %d %s%s", code, out, errs)
	}
	if code, _, errs = f.ctl(t, bkNow, "register", "add", "--user", "2002", "--kind", "leave", "--from", "2026-03-09", "--to", "2026-03-09", "--reason", "病假", "--by", "党政办"); code == 0 || !strings.Contains(errs, "kept by the marks of 金碧村") {
		t.Errorf("a leave registration for a village person: %d %q", code, errs)
	}
	if code, _, errs = f.ctl(t, bkNow, "report", "table", "--month", "2026-03", "--unit", "金碧村", "--format", "json", "-o", form); code != 0 {
		t.Fatalf("report table = %d %s", code, errs)
	}
	if data, _ = os.ReadFile(form); strings.Contains(string(data), "核对") {
		t.Errorf("the conflict stays after the leader's return registration:\n%s", data)
	}
	// The village corrects the 9th to 假: the conflict event is retracted.
	if code, out, errs = f.ctl(t, bkNow, "marks", "set", "--unit", "金碧村", "--user", "2001", "--date", "2026-03-09", "--mark", "假", "--by", "王支书"); code != 0 {
		t.Fatalf("marks set = %d\n%s%s", code, out, errs)
	}
	{
		db := f.open(t)
		revs, evs := eventRevs(t, db, conflictID)
		db.Close()
		if len(revs) != 2 || revs[1] != 2 || !evs[1].Retracted {
			t.Errorf("conflict after the mark changed: %v %+v", revs, evs)
		}
	}

	// Who recorded what, in the audit log.
	code, out, errs = f.ctl(t, bkNow, "audit", "--json")
	for _, want := range []string{`"action":"mark.set","target":"金碧村 2001 2026-03-10","detail":"× (金碧村2026年3月.xlsx)"`,
		`"action":"mark.set","target":"水务站 3001 2026-03-09","detail":"×"`, `"action":"finding.add","target":"F00000001"`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("audit lacks %s:\n%s%s", want, out, errs)
		}
	}

	pts := filepath.Join(dir, "points.csv")
	if code, _, errs = f.ctl(t, bkNow, "report", "points", "--month", "2026-03", "-o", pts); code != 0 {
		t.Fatalf("report points = %d %s", code, errs)
	}
	data, _ = os.ReadFile(pts)
	if !strings.Contains(string(data), "3001,孙七,水务站,站长,-4,未在村/缺勤（天）1次×-1=-1；督查发现问题1次×-3=-3") {
		t.Errorf("points:\n%s", data)
	}
	if code, _, errs = f.ctl(t, bkNow, "report", "year", "--year", "2026", "-o", filepath.Join(dir, "year.xlsx")); code != 0 {
		t.Fatalf("report year = %d %s", code, errs)
	}
}

// TestBadFlagValuesExit2: a flag value that cannot be what it names is a usage error, exit 2 with
// the command's usage, whichever command took it (a bad --kind of finding add exited 1).
func TestBadFlagValuesExit2(t *testing.T) {
	f := newUnitsFixture(t)
	for _, args := range [][]string{
		{"finding", "add", "--date", "2026-03-09", "--unit", "金碧村", "--kind", "bogus", "--text", "x", "--by", "督查室"},
		{"finding", "add", "--date", "2026-03-32", "--unit", "金碧村", "--kind", "positive", "--text", "x", "--by", "督查室"},
		{"register", "add", "--user", "1001", "--kind", "bogus", "--from", "2026-03-09 09:00", "--reason", "x", "--by", "x"},
		{"marks", "set", "--unit", "金碧村", "--user", "2001", "--date", "2026-3-9", "--mark", "√"},
		{"marks", "set", "--unit", "金碧村", "--user", "2001", "--date", "2026-03-09", "--mark", "?"},
		{"marks", "list", "--unit", "金碧村", "--month", "March"},
		{"report", "table", "--month", "2026-13", "-o", filepath.Join(f.dir, "t.xlsx")},
		{"report", "table", "--month", "2026-03", "--format", "pdf", "-o", filepath.Join(f.dir, "t.pdf")},
		{"report", "bulletin", "--month", "2026-03", "--issue", "-1", "-o", filepath.Join(f.dir, "b.md")},
		{"audit", "--since", "yesterday"},
	} {
		code, _, errs := runCmd(t, "", append(args, "--config", f.cfgPath)...)
		if code != 2 || !strings.Contains(errs, "usage: punchctl "+args[0]) {
			t.Errorf("punchctl %s = %d, want 2 with the usage:\n%s", strings.Join(args, " "), code, errs)
		}
	}
}
