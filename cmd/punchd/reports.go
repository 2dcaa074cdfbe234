package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/report"
	"github.com/jinbi/punchd/internal/store"
)

// fileReports writes last month's attendance table (XLSX and CSV) to [reports] dir at the configured
// day and time of each month — or at the first chance after it, when the daemon was down then — and
// publishes a retained notice on {prefix}/reports/{yyyy-mm}. Each month is filed once.
func (d *daemon) fileReports(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		d.live.Beat("reports")
		if d.settings().cfg.Reports.Dir != "" {
			if err := d.fileDue(ctx); err != nil {
				d.log.Error("file monthly attendance table", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *daemon) fileDue(ctx context.Context) error {
	s := d.settings() // one snapshot: a reload does not change it halfway
	loc := s.cfg.Location()
	now := d.now().In(loc)
	today := attendance.DateOf(now)
	day := int(s.cfg.Reports.FileDay)
	if day < 1 {
		day = 1
	}
	due := attendance.Date{Year: today.Year, Month: today.Month, Day: day}.At(s.cfg.Reports.FileTime, loc)
	if now.Before(due) {
		return nil
	}
	month := report.MonthOf(today).Prev()
	key := "reports.filed." + month.String()
	if v, err := d.db.GetMeta(key); err != nil || v != nil {
		return err
	}
	if days, err := d.db.Days(month.First(), month.Last()); err != nil {
		return err
	} else if len(days) == 0 {
		return nil // nothing of that month is stored (yet): nothing to file
	}
	f, err := d.FileMonth(ctx, month)
	if err != nil {
		return err
	}
	first := month.First()
	n := event.ReportNotice{Site: s.cfg.Site.Name, Month: month.String(), GeneratedAt: now.Format(time.RFC3339),
		People: f.people, Workdays: f.workdays, Files: f.paths, Counts: f.counts, Units: f.units, Documents: []event.ReportDocument{}}
	// The documents themselves, retained, so that the office's other computers need no share of
	// this one: each on its own topic, the notice saying what they are.
	var out []store.OutboxEntry
	for i, p := range f.paths {
		name := filepath.Base(p)
		topic := event.ReportFileTopic(s.cfg.MQTT.TopicPrefix, first.Year, first.Month, name)
		sum := sha256.Sum256(f.data[i])
		n.Documents = append(n.Documents, event.ReportDocument{Name: name, Topic: topic, Size: len(f.data[i]), SHA256: hex.EncodeToString(sum[:])})
		out = append(out, store.OutboxEntry{Topic: topic, Payload: f.data[i], Retained: true, Key: "report/" + month.String() + "/files/" + name})
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return err
	}
	out = append(out, store.OutboxEntry{Topic: event.ReportTopic(s.cfg.MQTT.TopicPrefix, first.Year, first.Month),
		Payload: payload, Retained: true, Key: "report/" + month.String()})
	if _, err := d.db.Commit(ctx, store.Batch{Outbox: out}); err != nil {
		return fmt.Errorf("queue report notice: %w", err)
	}
	files, people := f.paths, f.people
	d.notify()
	d.log.Info("filed monthly attendance table", "month", month.String(), "files", files, "people", people)
	// Building the workbooks took tens of megabytes once a month: hand them back now rather than
	// carry them until the scavenger gets round to it.
	go debug.FreeOSMemory()
	return d.db.PutMeta(key, []byte(now.Format(time.RFC3339)))
}

// filed is what a month's filing wrote.
type filed struct {
	paths    []string // the files in [reports] dir
	data     [][]byte // their contents, in the same order
	counts   event.ReportCounts
	units    []event.ReportUnit
	people   int
	workdays int
}

// FileMonth builds a month's table from the store and writes it as XLSX and CSV into [reports] dir;
// with [[unit]] configured also every unit's own form with the summary by unit, as one XLSX.
func (d *daemon) FileMonth(ctx context.Context, month report.Month) (filed, error) {
	s := d.settings() // one snapshot: a reload does not change it halfway
	var f filed
	today := attendance.DateOf(d.now().In(s.cfg.Location()))
	opts := report.Options{Site: s.cfg.SiteTitle(), Title: s.cfg.Reports.Title, Signatures: s.cfg.Reports.Signatures, Today: today}
	t, err := report.TableFrom(ctx, s.svc, s.cal, month, opts, s.cfg.Location())
	if err != nil {
		return f, fmt.Errorf("build table %s: %w", month, err)
	}
	if err := os.MkdirAll(s.cfg.Reports.Dir, 0o750); err != nil {
		return f, fmt.Errorf("reports dir: %w", err)
	}
	base := filepath.Join(s.cfg.Reports.Dir, fmt.Sprintf("%s-%s-", s.cfg.Site.Name, month))
	docs := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"attendance.xlsx", func(b *bytes.Buffer) error { return report.WriteTableXLSX(b, t) }},
		{"attendance.csv", func(b *bytes.Buffer) error { return report.WriteTableCSV(b, t) }},
	}
	if len(s.cfg.Unit) > 0 {
		set, err := d.unitForms(ctx, month, opts)
		if err != nil {
			return f, fmt.Errorf("build unit forms %s: %w", month, err)
		}
		docs = append(docs, struct {
			name  string
			write func(*bytes.Buffer) error
		}{"forms.xlsx", func(b *bytes.Buffer) error { return report.WriteTableSetXLSX(b, set) }})
		for _, r := range set.Summary {
			f.units = append(f.units, event.ReportUnit{Unit: r.Unit, Kind: string(r.Kind), People: r.People, PresentDays: r.Present,
				AbsentDays: r.Absent, LateDays: r.Late, EarlyDays: r.Early, MissingDays: r.Missing, AbsentClock: r.AbsentCk,
				OffsiteDays: r.Offsite, TripDays: r.Trip, LeaveDays: r.Leave, Conflicts: r.Conflicts})
		}
	}
	for _, doc := range docs {
		var buf bytes.Buffer
		if err := doc.write(&buf); err != nil {
			return f, fmt.Errorf("write %s %s: %w", doc.name, month, err)
		}
		if err := writeFileAtomic(base+doc.name, buf.Bytes()); err != nil {
			return f, err
		}
		f.paths = append(f.paths, base+doc.name)
		f.data = append(f.data, buf.Bytes())
	}
	for _, r := range t.Rows {
		f.counts.Late += r.Totals.Late
		f.counts.Early += r.Totals.Early
		f.counts.Missing += r.Totals.Missing
		f.counts.Absent += r.Totals.Absent
		f.counts.Excused += r.Totals.Offsite + r.Totals.Trip + r.Totals.Leave
	}
	for i := 0; i < t.DaysInMonth; i++ {
		if t.DayTypes[i].IsWorking() {
			f.workdays++
		}
	}
	f.people = len(t.Rows)
	return f, nil
}

// unitForms builds every unit's form of the month from the service (judged days, marks, the
// cross-check's conflicts).
func (d *daemon) unitForms(ctx context.Context, month report.Month, opts report.Options) (report.TableSet, error) {
	s := d.settings() // one snapshot: a reload does not change it halfway
	from, to := month.First(), month.Last()
	in, err := report.InputFrom(ctx, s.svc, s.cal, month, opts, s.cfg.Location())
	if err != nil {
		return report.TableSet{}, err
	}
	marks, err := s.svc.Marks(ctx, "", from, to)
	if err != nil {
		return report.TableSet{}, err
	}
	conflicts, err := s.svc.Conflicts(ctx, from, to)
	if err != nil {
		return report.TableSet{}, err
	}
	return report.UnitForms(in, s.cfg.Units(), marks, conflicts, s.cfg.SiteTitle())
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
