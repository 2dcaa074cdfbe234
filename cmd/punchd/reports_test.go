package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/health"
	"github.com/jinbi/punchd/internal/mqtttest"
	"github.com/jinbi/punchd/internal/rules"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
	"github.com/jinbi/punchd/sync/publish"
	"github.com/jinbi/punchd/sync/pull"
)

// filing is a daemon (without its loops) over a store holding February 2026: 王芳 of 党政办 late
// on the 2nd, on time on the 3rd, absent after; 李强 of 金碧村 marked √ on the 2nd and × on the
// 3rd; and extra people of 党政办 who never punched (in the tables only: with them, the engine
// publishes no events of February's days). Its wall clock reads 1 March 2026 07:59.
type filing struct {
	d   *daemon
	db  *store.DB
	cfg config.Config
	now *time.Time
}

func newFiling(t *testing.T, extra int) filing {
	t.Helper()
	dir := t.TempDir()
	now := time.Date(2026, 2, 2, 7, 0, 0, 0, cst)
	clock := func() time.Time { return now }
	db, err := store.Open(filepath.Join(dir, "punchd.db"), store.Options{Location: cst, Now: clock, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	people := []attendance.Person{{UserID: "1", Name: "王芳", Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "2", Name: "李强", Post: "组员", Unit: "金碧村", Tracking: attendance.TrackVillage}}
	for i := range extra {
		people = append(people, attendance.Person{UserID: strconv.Itoa(1000 + i), Name: "职工" + strconv.Itoa(i), Post: "科员", Unit: "党政办", Tracking: attendance.TrackClock})
	}
	if err := db.PutRoster(people, nil); err != nil {
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
	since := attendance.Date{Year: 2026, Month: 2, Day: 2}
	if extra > 0 {
		since = attendance.Date{Year: 2026, Month: 3, Day: 1}
	}
	eng := ingest.New(ingest.Config{Site: "jinbi", Prefix: "punchd/jinbi", Location: cst, Params: rules.DefaultParams(),
		EventsSince: since, Clocks: []string{"c1"}}, db, cal, clock, nil, nil, nil)
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
	return filing{d: d, db: db, cfg: cfg, now: &now}
}

// TestMonthlyFilingOnTheFirst: on the 1st at the configured time the daemon writes last month's
// table as XLSX and CSV and, with [[unit]], every unit's form; it queues each file retained on
// {prefix}/reports/{yyyy-mm}/files/{name} and a retained notice with the counts, the units and the
// files' sizes — once.
func TestMonthlyFilingOnTheFirst(t *testing.T) {
	f := newFiling(t, 0)
	d, db, cfg := f.d, f.db, f.cfg
	// 07:59 on the 1st: not yet.
	if err := d.fileDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Reports.Dir); err == nil {
		t.Fatal("filed before the configured time")
	}
	*f.now = time.Date(2026, 3, 1, 8, 0, 30, 0, cst)
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
	xf, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	title, _ := xf.GetCellValue(xf.GetSheetName(0), "A1")
	xf.Close()
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

// TestReportFilesOnTheBroker: the monthly files, published by the publisher through a real
// Mosquitto (its defaults: no message_size_limit, no max_packet_size), reach a subscriber that
// comes later, retained, byte for byte what the notice's documents say (size, sha256) — the
// township's table among them, big enough to span many TCP segments.
func TestReportFilesOnTheBroker(t *testing.T) {
	broker := mqtttest.Start(t)
	f := newFiling(t, 600)
	*f.now = time.Date(2026, 3, 1, 8, 0, 30, 0, cst)
	if err := f.d.fileDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	cfg.MQTT.Broker, cfg.MQTT.ClientID = broker.URL(), "punchd-reports-test"
	o := publish.FromConfig(cfg.MQTT)
	o.Logger, o.Now = slog.New(slog.DiscardHandler), f.d.now // the outbox's age is the daemon's clock's
	p, err := publish.New(publish.FromStore(f.db), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// Acknowledged by the broker: gone from the outbox.
	waitFor(t, "the outbox to empty", 60*time.Second, func() bool {
		n, _, err := f.db.OutboxStats()
		return err == nil && n == 0
	})

	// A subscriber that was not there gets what is retained.
	sub := mqtttest.Subscribe(t, broker.URL(), "punchd/jinbi/reports/#")
	var n event.ReportNotice
	received := func() map[string]mqtttest.Message {
		got := map[string]mqtttest.Message{}
		for _, m := range sub.Messages() {
			got[m.Topic] = m
		}
		return got
	}
	waitFor(t, "the notice and its documents", 60*time.Second, func() bool {
		got := received()
		notice, ok := got["punchd/jinbi/reports/2026-02"]
		if !ok || json.Unmarshal(notice.Payload, &n) != nil {
			return false
		}
		for _, doc := range n.Documents {
			if _, ok := got[doc.Topic]; !ok {
				return false
			}
		}
		return true
	})
	got := received()
	if !got["punchd/jinbi/reports/2026-02"].Retained || len(n.Documents) != 3 || len(n.Files) != 3 {
		t.Fatalf("notice: retained %v, %+v", got["punchd/jinbi/reports/2026-02"].Retained, n)
	}
	largest := 0
	for i, doc := range n.Documents {
		m := got[doc.Topic]
		onDisk, err := os.ReadFile(n.Files[i])
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(m.Payload)
		if !m.Retained || len(m.Payload) != doc.Size || hex.EncodeToString(sum[:]) != doc.SHA256 || !bytes.Equal(m.Payload, onDisk) {
			t.Errorf("%s: retained %v, %d bytes (notice %d, file %d), sha256 %x (notice %s)", doc.Topic, m.Retained, len(m.Payload), doc.Size, len(onDisk), sum, doc.SHA256)
		}
		largest = max(largest, len(m.Payload))
		t.Logf("%s: %d bytes", doc.Name, len(m.Payload))
	}
	if largest < 64<<10 {
		t.Errorf("the largest file is %d bytes: the test is meant to carry one above 64 KiB", largest)
	}
}
