package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
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
	"github.com/jinbi/punchd/internal/health"
	"github.com/jinbi/punchd/internal/rules"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/pull"
)

// TestMonthlyFilingOnTheFirst: on the 1st at the configured time the daemon writes last month's
// table as XLSX and CSV and, with [[unit]], every unit's form; it queues each file retained on
// {prefix}/reports/{yyyy-mm}/files/{name} and a retained notice with the counts, the units and the
// files' sizes — once.
func TestMonthlyFilingOnTheFirst(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 2, 2, 7, 0, 0, 0, cst)
	clock := func() time.Time { return now }
	db, err := store.Open(filepath.Join(dir, "punchd.db"), store.Options{Location: cst, Now: clock, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutRoster([]attendance.Person{{UserID: "1", Name: "王芳", Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "2", Name: "李强", Post: "组员", Unit: "金碧村", Tracking: attendance.TrackVillage}}, nil); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Site.DisplayName = "金碧镇"
	cfg.Unit = []config.Unit{{Name: "党政办", Kind: attendance.UnitOffice}, {Name: "金碧村", Kind: attendance.UnitVillage, Leader: "李书记"}}
	cfg.Site.Name, cfg.Site.Timezone = "jinbi", "Asia/Shanghai"
	cfg.Reports.Dir = filepath.Join(dir, "reports")
	cfg.MQTT.TopicPrefix = "punchd/jinbi"
	cal, err := cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	// February 2026: late on the 2nd, on time on the 3rd, nothing after (absent days).
	eng := ingest.New(ingest.Config{Site: "jinbi", Prefix: "punchd/jinbi", Location: cst, Params: rules.DefaultParams(),
		EventsSince: attendance.Date{Year: 2026, Month: 2, Day: 2}, Clocks: []string{"c1"}}, db, cal, clock, nil, nil, nil)
	if err := eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ps []device.Punch
	for _, hm := range []string{"2026-02-02 08:41", "2026-02-02 12:01", "2026-02-02 14:20", "2026-02-02 18:03",
		"2026-02-03 08:20", "2026-02-03 12:01", "2026-02-03 14:20", "2026-02-03 18:03"} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", hm, cst)
		ps = append(ps, device.Punch{Clock: "SN1", UserID: "1", Time: at, Verify: 1})
	}
	now = time.Date(2026, 3, 1, 7, 59, 0, 0, cst)
	if err := eng.Pulled(context.Background(), pull.Pull{Clock: "c1", Info: device.Info{Serial: "SN1", Time: now}, Punches: ps, At: now}); err != nil {
		t.Fatal(err)
	}
	d := &daemon{db: db, eng: eng, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: clock, live: health.NewLiveness(time.Now, time.Minute)}
	d.set.Store(d.newSettings(cfg, cal, attendance.Date{Year: 2026, Month: 2, Day: 2}))

	if err := d.settings().svc.SetMarks(context.Background(), []attendance.DayMark{
		{Unit: "金碧村", UserID: "2", Date: attendance.Date{Year: 2026, Month: 2, Day: 2}, Mark: attendance.MarkPresent, RecordedBy: "村"},
		{Unit: "金碧村", UserID: "2", Date: attendance.Date{Year: 2026, Month: 2, Day: 3}, Mark: attendance.MarkAbsent, RecordedBy: "村"},
	}); err != nil {
		t.Fatal(err)
	}
	// 07:59 on the 1st: not yet.
	if err := d.fileDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Reports.Dir); err == nil {
		t.Fatal("filed before the configured time")
	}
	now = time.Date(2026, 3, 1, 8, 0, 30, 0, cst)
	if err := d.fileDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	xlsx := filepath.Join(cfg.Reports.Dir, "jinbi-2026-02-attendance.xlsx")
	csv, err := os.ReadFile(filepath.Join(cfg.Reports.Dir, "jinbi-2026-02-attendance.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csv), "王芳") || !strings.Contains(string(csv), "迟") {
		t.Fatalf("CSV table lacks the person or the late mark:\n%s", csv)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	title, _ := f.GetCellValue(f.GetSheetName(0), "A1")
	f.Close()
	if !strings.Contains(title, "2026年2月考勤表") {
		t.Fatalf("XLSX title %q", title)
	}
	entries, err := db.OutboxPeek(1000)
	if err != nil {
		t.Fatal(err)
	}
	var notice *store.OutboxEntry
	for i, e := range entries {
		if e.Topic == "punchd/jinbi/reports/2026-02" {
			notice = &entries[i]
		}
	}
	if notice == nil || !notice.Retained {
		t.Fatalf("no retained notice on punchd/jinbi/reports/2026-02 in %d entries", len(entries))
	}
	var n event.ReportNotice
	if err := json.Unmarshal(notice.Payload, &n); err != nil {
		t.Fatal(err)
	}
	if n.Month != "2026-02" || n.People != 1 || n.Counts.Late != 1 || n.Counts.Absent == 0 || len(n.Files) != 3 || len(n.Documents) != 3 {
		t.Fatalf("notice = %+v", n)
	}
	if len(n.Units) != 2 || n.Units[1].Unit != "金碧村" || n.Units[1].Kind != "village" || n.Units[1].AbsentDays != 1 || n.Units[1].PresentDays != 1 || n.Units[0].LateDays != 1 {
		t.Errorf("notice units = %+v", n.Units)
	}
	for i, doc := range n.Documents {
		want, err := os.ReadFile(n.Files[i])
		if err != nil {
			t.Fatal(err)
		}
		if doc.Topic != "punchd/jinbi/reports/2026-02/files/"+doc.Name || doc.Name != filepath.Base(n.Files[i]) || doc.Size != len(want) {
			t.Errorf("document %d = %+v (file %s, %d bytes)", i, doc, n.Files[i], len(want))
		}
		var got *store.OutboxEntry
		for j, e := range entries {
			if e.Topic == doc.Topic {
				got = &entries[j]
			}
		}
		if got == nil || !got.Retained || !bytes.Equal(got.Payload, want) {
			t.Errorf("document %s: queued %v", doc.Name, got != nil)
		}
	}
	if n.Documents[2].Name != "jinbi-2026-02-forms.xlsx" {
		t.Errorf("the unit forms: %+v", n.Documents[2])
	}
	// Once only.
	if err := d.fileDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, _ := db.OutboxPeek(1000)
	if len(again) != len(entries) {
		t.Fatalf("filed twice: %d entries, then %d", len(entries), len(again))
	}
}
