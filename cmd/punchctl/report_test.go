package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/punchio"
	"github.com/jinbi/punchd/internal/report"
	"github.com/jinbi/punchd/internal/roster"
	"github.com/jinbi/punchd/internal/rules"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/pull"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// reportNow is "today" for the report tests: after May 2026 is over.
var reportNow = time.Date(2026, 6, 2, 10, 0, 0, 0, shanghai)

// runAt runs one punchctl command with the clock set to now.
func runAt(t *testing.T, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, ConfigPath: config.DefaultPath,
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
	c, rest, ok := lookup(args)
	if !ok {
		t.Fatalf("no command %q", args)
	}
	err := e.runCommand(context.Background(), c, rest)
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	default:
		fmt.Fprintf(&errb, "punchctl %s: %s\n", c.Name, oneLine(err))
		return 1, out.String(), errb.String()
	}
}

const reportRosterCSV = "工号,姓名,职务,单位,考勤方式\n" +
	"1001,张三,主任,党政办,打卡\n" +
	"1002,李四,干事,党政办,打卡\n" +
	"1003,王五,会计,财政所,打卡\n" +
	"1004,赵六,包村干部,党政办,包村挂点\n"

// Registered in time (registered_at before the days they excuse), so that the store, which keeps
// registered_at, and the files judge them alike.
const reportRegs = `{"user_id":"1003","kind":"trip","from":"2026-05-11","to":"2026-05-11","reason":"县财政局","registered_by":"党政办","registered_at":"2026-05-08 17:00"}
{"user_id":"1001","kind":"makeup","from":"2026-05-13T12:01:00+08:00","reason":"忘打卡","registered_by":"党政办","registered_at":"2026-05-13 17:00"}
{"user_id":"1002","kind":"offsite","from":"2026-05-14T14:00:00+08:00","to":"2026-05-14T18:30:00+08:00","reason":"到村","registered_by":"党政办","registered_at":"2026-05-14 13:50"}
`

// reportMonth writes May 2026 for the test office: four punches every working day (the 2026 calendar:
// 1–5 May is Labour Day, Saturday 9 May a make-up workday), with known anomalies.
func reportMonth(t *testing.T, dir string) (cfg, punches, rosterFile, regs string) {
	t.Helper()
	cfg = writeFile(t, dir, "punchd.toml", "[site]\nname = \"金碧镇\"\ntimezone = \"Asia/Shanghai\"\n")
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := c.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	punch := func(user string, d attendance.Date, hm string) {
		fmt.Fprintf(&sb, `{"user_id":%q,"time":"%sT%s:00+08:00","state":0,"verify":1,"workcode":0}`+"\n", user, d, hm)
	}
	for d := (attendance.Date{Year: 2026, Month: 5, Day: 1}); d.Month == 5; d = d.AddDays(1) {
		dt, err := cal.DayType(d)
		if err != nil {
			t.Fatal(err)
		}
		if !dt.IsWorking() {
			if d.Day == 16 {
				punch("1001", d, "09:00") // a Saturday punch: recorded, never an anomaly
			}
			continue
		}
		for _, u := range []string{"1001", "1002", "1003", "1004"} {
			times := []string{"08:25", "12:03", "14:26", "18:02"}
			switch {
			case u == "1001" && d.Day == 6:
				times[0] = "08:45" // late 15
			case u == "1002" && d.Day == 7:
				times = nil // absent
			case u == "1002" && d.Day == 8:
				times = []string{"08:20", "14:20", "18:10"} // noon missing
			case u == "1003" && d.Day == 11:
				times = nil // on a registered trip
			case u == "1003" && d.Day == 12:
				times[3] = "17:30" // early 30
			case u == "1001" && d.Day == 13:
				times = []string{"08:20", "14:20", "18:10"} // noon made up by registration
			case u == "1002" && d.Day == 14:
				times = []string{"08:20", "12:05"} // afternoon off-site, registered
			}
			for _, hm := range times {
				punch(u, d, hm)
			}
		}
		if d.Day == 20 {
			punch("9999", d, "08:00") // not on the roster
		}
	}
	punches = writeFile(t, dir, "punches.jsonl", sb.String())
	rosterFile = writeFile(t, dir, "roster.csv", reportRosterCSV)
	regs = writeFile(t, dir, "regs.jsonl", reportRegs)
	return cfg, punches, rosterFile, regs
}

// fillStore does what the daemon does with the same files: the roster imported, the registrations
// registered, and the punches pulled from a clock through the ingest engine, which judges them.
func fillStore(t *testing.T, dir, cfgPath, punchesPath, rosterPath, regsPath string) string {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	loc := cfg.Location()
	cal, err := cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "punchd.db")
	db, err := store.Open(path, store.Options{Location: loc, Now: func() time.Time { return reportNow }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	people, err := roster.ParseFile(rosterPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutRoster(people, nil); err != nil {
		t.Fatal(err)
	}
	rf, err := os.Open(regsPath)
	if err != nil {
		t.Fatal(err)
	}
	regs, err := punchio.ReadRegistrations(rf, regsPath, loc)
	rf.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		r.ID = ""
		if _, err := db.AddRegistration(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	pf, err := os.Open(punchesPath)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := punchio.ReadJSONLines(pf, punchesPath, loc)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		ps[i].Clock = "SN1"
	}
	eng := ingest.New(ingest.Config{Site: cfg.Site.Name, Prefix: "punchd", Location: loc, Params: cfg.RulesParams(),
		EventsSince: attendance.Date{Year: 2026, Month: 5, Day: 1}, Clocks: []string{"main"}},
		db, cal, func() time.Time { return reportNow }, nil, nil, nil)
	ctx := context.Background()
	if err := eng.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.Pulled(ctx, pull.Pull{Clock: "main", Info: device.Info{Serial: "SN1", Records: len(ps)}, Punches: ps, At: reportNow}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReportSameFromStoreAndJudge: the table and the bulletin are the same whether read from a store
// the daemon's ingest filled, or judged on the spot from judge's input files.
func TestReportSameFromStoreAndJudge(t *testing.T) {
	dir := t.TempDir()
	cfg, punches, rosterFile, regs := reportMonth(t, dir)
	dbPath := fillStore(t, dir, cfg, punches, rosterFile, regs)

	fromFiles := []string{"--config", cfg, "--punches", punches, "--roster", rosterFile, "--registrations", regs}
	fromStore := []string{"--config", cfg, "--store", dbPath}
	out := func(name string) string { return filepath.Join(dir, name) }

	for _, args := range [][]string{
		append([]string{"report", "table", "--month", "2026-05", "-o", out("files.json")}, fromFiles...),
		append([]string{"report", "table", "--month", "2026-05", "-o", out("store.json")}, fromStore...),
		append([]string{"report", "bulletin", "--month", "2026-05", "-o", out("files.md")}, fromFiles...),
		append([]string{"report", "bulletin", "--month", "2026-05", "-o", out("store.md")}, fromStore...),
		append([]string{"report", "table", "--month", "2026-05", "-o", out("store.xlsx")}, fromStore...),
		append([]string{"report", "table", "--month", "2026-05", "--format", "csv", "-o", out("store.txt")}, fromStore...),
		append([]string{"report", "bulletin", "--month", "2026-05", "--period-end-day", "25", "-o", out("p25.xlsx")}, fromStore...),
	} {
		if code, _, errs := runAt(t, reportNow, args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errs)
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(out(name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Names and attendance: the files are the owner's only.
	for _, name := range []string{"files.json", "store.md", "store.xlsx", "store.txt"} {
		if fi, err := os.Stat(out(name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", name, fi.Mode().Perm(), err)
		}
	}
	if a, b := read("files.json"), read("store.json"); !bytes.Equal(a, b) {
		t.Errorf("table from files and from the store differ:\n%s\n---\n%s", a, b)
	}
	if a, b := read("files.md"), read("store.md"); !bytes.Equal(a, b) {
		t.Errorf("bulletin from files and from the store differ:\n%s\n---\n%s", a, b)
	}

	// And through the daemon's API: a daemon serving the same store on its socket.
	sockDir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "api.sock")
	apiCfg := writeFile(t, dir, "api.toml", fmt.Sprintf("[site]\nname = \"金碧镇\"\ntimezone = \"Asia/Shanghai\"\n[store]\npath = %q\n[api]\nsocket = %q\n", dbPath, sock))
	c, err := config.Load(apiCfg)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := openStoreBackend(context.Background(), c, backendOptions{Now: func() time.Time { return reportNow }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.Handler(sb, slog.New(slog.DiscardHandler))}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	code, _, errs := runAt(t, reportNow, "report", "table", "--month", "2026-05", "--config", apiCfg, "-o", out("api.json"))
	if code == 0 {
		code, _, errs = runAt(t, reportNow, "report", "bulletin", "--month", "2026-05", "--config", apiCfg, "-o", out("api.md"))
	}
	srv.Close()
	<-done
	sb.Close()
	if code != 0 || !strings.Contains(errs, "via daemon socket") {
		t.Fatalf("via the API: exit %d, %s", code, errs)
	}
	if a, b := read("files.json"), read("api.json"); !bytes.Equal(a, b) {
		t.Errorf("table from files and through the daemon's API differ:\n%s\n---\n%s", a, b)
	}
	if a, b := read("files.md"), read("api.md"); !bytes.Equal(a, b) {
		t.Errorf("bulletin from files and through the daemon's API differ:\n%s\n---\n%s", a, b)
	}

	var tb report.Table
	if err := json.Unmarshal(read("store.json"), &tb); err != nil {
		t.Fatal(err)
	}
	if tb.Title != "金碧镇 2026年5月考勤表" || len(tb.Rows) != 3 {
		t.Fatalf("title %q, %d rows", tb.Title, len(tb.Rows))
	}
	want := map[string]string{ // day 1…31 of May 2026
		"1001": "休休休休休✓✓✓✓休✓✓✓✓✓休休✓✓✓✓✓休休✓✓✓✓✓休休",
		"1002": "休休休休休✓旷缺✓休✓✓✓外✓休休✓✓✓✓✓休休✓✓✓✓✓休休",
		"1003": "休休休休休✓✓✓✓休差早✓✓✓休休✓✓✓✓✓休休✓✓✓✓✓休休",
	}
	want["1001"] = "休休休休休迟" + want["1001"][len("休休休休休✓"):]
	for _, r := range tb.Rows {
		var got strings.Builder
		for _, m := range r.Marks {
			got.WriteString(string(m))
		}
		if got.String() != want[r.UserID] {
			t.Errorf("%s %s\n got %s\nwant %s", r.UserID, r.Name, got.String(), want[r.UserID])
		}
	}

	f, err := excelize.OpenFile(out("store.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(report.TableSheet)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rows[report.TableFirstDataRow-1][0] != "张三" || rows[report.TableFirstDataRow-1][2+5] != "迟" {
		t.Errorf("xlsx first row %q", rows[report.TableFirstDataRow-1])
	}
	if csv := read("store.txt"); !bytes.HasPrefix(csv, []byte("\uFEFF金碧镇 2026年5月考勤表")) {
		t.Errorf("csv starts %q", csv[:40])
	}
	md := string(read("store.md"))
	// The bulletin is the 通报: its masthead and title, not the table's ([reports] title).
	if !strings.HasPrefix(md, "# 金碧政务督查\n") || !strings.Contains(md, "## 关于2026年5月干部职工工作纪律督查情况的通报\n") || strings.Contains(md, "月考勤表") {
		t.Errorf("bulletin heading: %q", strings.SplitN(md, "\n", 2)[0])
	}
	bx, err := excelize.OpenFile(out("p25.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	sheets := bx.GetSheetList()
	a1, err := bx.GetCellValue(sheets[0], "A1")
	bx.Close()
	if err != nil || a1 != "金碧政务督查" || sheets[0] != report.NoticeSheet {
		t.Errorf("bulletin xlsx A1 = %q, %v", a1, err)
	}
	for _, s := range []string{"5月6日 上午上班 迟到15分钟（08:45）", "5月7日 旷工（全天）", "5月8日 上午下班 缺卡", "5月12日 下午下班 早退30分钟（17:30）"} {
		if !strings.Contains(md, s) {
			t.Errorf("bulletin lacks %q", s)
		}
	}
	for _, s := range []string{"5月11日", "5月13日", "5月14日", "9999"} {
		if strings.Contains(md, s) {
			t.Errorf("bulletin names an excused day or an unknown person: %q", s)
		}
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg, punches, rosterFile, _ := reportMonth(t, dir)
	base := []string{"--config", cfg, "--punches", punches, "--roster", rosterFile, "-o", filepath.Join(dir, "x.json")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "table", "--month", "2026-5"}, `--month: "2026-5" is not a month YYYY-MM`},
		{[]string{"report", "table", "--month", "2026-07"}, "--month: 2026-07 is in the future (today is 2026-06-02)"},
		{[]string{"report", "table", "--month", "2026-05", "--unit", "水务站"}, `--unit: report: unit "水务站" is not on the roster`},
		{[]string{"report", "table", "--month", "2026-05", "--format", "pdf"}, `--format: "pdf" is not one of xlsx, csv, json`},
		{[]string{"report", "bulletin", "--month", "2026-05", "--period-end-day", "30"}, "--period-end-day: 30 is not between 1 and 28"},
		{[]string{"report", "bulletin", "--month", "2026-07", "--period-end-day", "25"}, "--month: 2026-07: the period 2026-06-26 to 2026-07-25 has not started"},
		{[]string{"report", "bulletin", "--month", "2026-08"}, "--month: 2026-08: the period 2026-08-01 to 2026-08-31 has not started (today is 2026-06-02)"},
	} {
		code, _, errs := runAt(t, reportNow, append(tc.args, base...)...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.args, code, errs, tc.want)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
			if !strings.Contains(l, ": warning: ") {
				lines = append(lines, l)
			}
		}
		if n := len(lines); n != 1 {
			t.Errorf("%q: %d-line error: %q", tc.args, n, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err == nil {
		t.Errorf("a failed run left an output file")
	}
	// Through the real dispatcher: a missing -o is a usage error (exit 2).
	if code, _, errs := runCmd(t, "", "report", "table", "--month", "2026-05"); code != 2 || !strings.Contains(errs, "-o FILE is required") {
		t.Errorf("missing -o: exit %d %q", code, errs)
	}
}

// TestNotJudgedStatusAgrees: internal/report keeps rules.StatusNotJudged as a literal (to not import
// rules); a day of it must be blank in the table.
func TestNotJudgedStatusAgrees(t *testing.T) {
	p := attendance.Person{UserID: "1", Name: "甲", Tracking: attendance.TrackClock}
	d := attendance.Date{Year: 2026, Month: 5, Day: 6}
	tb, err := report.BuildTable(report.TableInput{Month: report.Month{Year: 2026, Month: 5},
		Days:    []attendance.Day{{UserID: "1", Date: d, DayType: attendance.Workday, Status: rules.StatusNotJudged, Final: true}},
		Roster:  []attendance.Person{p},
		DayType: func(attendance.Date) attendance.DayType { return attendance.Workday },
		Options: report.Options{Today: d}})
	if err != nil {
		t.Fatal(err)
	}
	if m := tb.Rows[0].Marks[5]; m != report.MarkNone {
		t.Errorf("a %s day shows %q", rules.StatusNotJudged, m)
	}
}

func TestRosterImportAndList(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "punchd.toml", "[site]\nname = \"jinbi\"\ntimezone = \"Asia/Shanghai\"\n")
	dbPath := filepath.Join(dir, "punchd.db")
	db, err := store.Open(dbPath, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutClockUsers("main", []device.User{{UserID: "2", Name: "李四"}, {UserID: "9999", Name: "临时工"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// An XLSX roster with a title row; 李四's name is empty and comes from the clock.
	f := excelize.NewFile()
	for i, row := range [][]any{{"金碧镇花名册"}, {"工号", "姓名", "职务", "单位", "考勤方式"}, {10, "张三", "主任", "党政办", "打卡"}, {2, "", "干事", "党政办", ""}, {3, "王五", "", "农技中心", "外围站所"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	xlsx := filepath.Join(dir, "花名册.xlsx")
	if err := f.SaveAs(xlsx); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runAt(t, reportNow, "roster", "import", xlsx, "--config", cfg, "--store", dbPath)
	if code != 0 {
		t.Fatalf("import: %s", errs)
	}
	for _, s := range []string{"imported 3 people (clock 2, village 0, station 1, exempt 0)", "9999  临时工"} {
		if !strings.Contains(out, s) {
			t.Errorf("import output lacks %q:\n%s", s, out)
		}
	}
	code, out, errs = runAt(t, reportNow, "roster", "list", "--config", cfg, "--store", dbPath)
	if code != 0 {
		t.Fatalf("list: %s", errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[1], "2     李四") || !strings.HasPrefix(lines[3], "10    张三") || !strings.Contains(lines[6], "临时工") {
		t.Errorf("list:\n%s", out)
	}
	code, out, _ = runAt(t, reportNow, "roster", "list", "--config", cfg, "--store", dbPath, "--json")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, `"unknown":true`) {
		t.Errorf("list --json:\n%s", out)
	}
	code, _, errs = runAt(t, reportNow, "roster", "list", "--config", cfg, "--store", dbPath, "--unit", "水务站")
	if code == 0 || !strings.Contains(errs, `--unit: "水务站" is not on the roster`) {
		t.Errorf("unknown unit: %d %q", code, errs)
	}

	// Bad rosters: one line naming the file and the row; the stored roster is untouched.
	bad := writeFile(t, dir, "bad.csv", "工号,姓名,职务,单位,考勤方式\n1,甲,,,打卡\n1,乙,,,打卡\n")
	code, _, errs = runAt(t, reportNow, "roster", "import", bad, "--config", cfg, "--store", dbPath)
	if code == 0 || !strings.Contains(errs, "bad.csv:3") || !strings.Contains(errs, "duplicate user_id") {
		t.Errorf("duplicate: %d %q", code, errs)
	}
	missing := writeFile(t, dir, "missing.csv", "工号,姓名,单位\n1,甲,党政办\n")
	code, _, errs = runAt(t, reportNow, "roster", "import", missing, "--config", cfg, "--store", dbPath)
	if code == 0 || !strings.Contains(errs, "missing.csv:1") || !strings.Contains(errs, "missing column post") {
		t.Errorf("missing column: %d %q", code, errs)
	}
	code, out, _ = runAt(t, reportNow, "roster", "list", "--config", cfg, "--store", dbPath, "--json")
	if code != 0 || strings.Count(out, "\n") != 4 {
		t.Errorf("a failed import changed the roster:\n%s", out)
	}
	code, out, _ = runAt(t, reportNow, "roster", "import", "--dry-run", writeFile(t, dir, "ok.csv", reportRosterCSV), "--config", cfg, "--store", dbPath)
	if code != 0 || !strings.Contains(out, "dry run") {
		t.Errorf("dry run: %d %q", code, out)
	}
}

// BenchmarkReportCommands200 is the whole `report table` and `report bulletin` for 200 people over
// March 2026 from judge's input files (read, judge, build, write XLSX and Markdown).
func BenchmarkReportCommands200(b *testing.B) {
	punches, cfg := monthOfPunches(b)
	dir := filepath.Dir(punches)
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, shanghai)
	for b.Loop() {
		for _, args := range [][]string{
			{"report", "table", "--month", "2026-03", "--config", cfg, "--punches", punches, "-o", filepath.Join(dir, "t.xlsx")},
			{"report", "bulletin", "--month", "2026-03", "--config", cfg, "--punches", punches, "-o", filepath.Join(dir, "b.md")},
		} {
			var out, errb bytes.Buffer
			e := &env{Stdout: &out, Stderr: &errb, ConfigPath: cfg, ConfigSet: true, Now: func() time.Time { return now },
				Logger: slog.New(slog.DiscardHandler)}
			c, rest, _ := lookup(args)
			if err := e.runCommand(context.Background(), c, rest); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestReportBinaryToTerminal: -o - refuses to write XLSX onto a terminal (exit 2, with the way out),
// writes it to a pipe or a file, and writes text formats to a terminal.
func TestReportBinaryToTerminal(t *testing.T) {
	dir := t.TempDir()
	cfg, punches, rosterFile, _ := reportMonth(t, dir)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go io.Copy(io.Discard, ptmx) // what reaches the terminal
	args := []string{"report", "table", "--month", "2026-05", "--config", cfg, "--punches", punches, "--roster", rosterFile, "-o", "-"}
	var errb bytes.Buffer
	code := run(context.Background(), append(args, "--format", "xlsx"), strings.NewReader(""), tty, &errb)
	if want := "-o -: XLSX is a binary file and stdout is a terminal; write it to a file (-o report.xlsx) or redirect stdout (-o - > report.xlsx)"; code != 2 || !strings.Contains(errb.String(), want) {
		t.Errorf("xlsx to a terminal: exit %d, stderr %q; want exit 2 and %q", code, errb.String(), want)
	}
	errb.Reset()
	if code := run(context.Background(), append(args, "--format", "csv"), strings.NewReader(""), tty, &errb); code != 0 {
		t.Errorf("csv to a terminal: exit %d, stderr %q", code, errb.String())
	}
	code, out, errs := runAt(t, reportNow, append(args, "--format", "xlsx")...)
	if code != 0 || !strings.HasPrefix(out, "PK\x03\x04") {
		t.Errorf("xlsx to a pipe: exit %d, stderr %q, %d bytes starting %q", code, errs, len(out), out[:min(len(out), 4)])
	}
}
