package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
		if d.cfg.Reports.Dir != "" {
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
	loc := d.cfg.Location()
	now := d.now().In(loc)
	today := attendance.DateOf(now)
	day := int(d.cfg.Reports.FileDay)
	if day < 1 {
		day = 1
	}
	due := attendance.Date{Year: today.Year, Month: today.Month, Day: day}.At(d.cfg.Reports.FileTime, loc)
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
	files, counts, people, workdays, err := d.FileMonth(ctx, month)
	if err != nil {
		return err
	}
	n := event.ReportNotice{Site: d.cfg.Site.Name, Month: month.String(), GeneratedAt: now.Format(time.RFC3339),
		People: people, Workdays: workdays, Files: files, Counts: counts}
	payload, err := json.Marshal(n)
	if err != nil {
		return err
	}
	first := month.First()
	if _, err := d.db.Commit(ctx, store.Batch{Outbox: []store.OutboxEntry{{Topic: event.ReportTopic(d.cfg.MQTT.TopicPrefix, first.Year, first.Month),
		Payload: payload, QoS: 1, Retained: true, Key: "report/" + month.String()}}}); err != nil {
		return fmt.Errorf("queue report notice: %w", err)
	}
	d.pub.Notify()
	d.log.Info("filed monthly attendance table", "month", month.String(), "files", files, "people", people)
	return d.db.PutMeta(key, []byte(now.Format(time.RFC3339)))
}

// FileMonth builds a month's table from the store and writes it as XLSX and CSV into [reports] dir.
func (d *daemon) FileMonth(ctx context.Context, month report.Month) (files []string, c event.ReportCounts, people, workdays int, err error) {
	t, err := report.TableFrom(ctx, d.svc, d.cal, month, report.Options{Site: d.cfg.SiteTitle(), Title: d.cfg.Reports.Title,
		Signatures: d.cfg.Reports.Signatures, Today: attendance.DateOf(d.now().In(d.cfg.Location()))}, d.cfg.Location())
	if err != nil {
		return nil, c, 0, 0, fmt.Errorf("build table %s: %w", month, err)
	}
	if err := os.MkdirAll(d.cfg.Reports.Dir, 0o750); err != nil {
		return nil, c, 0, 0, fmt.Errorf("reports dir: %w", err)
	}
	base := filepath.Join(d.cfg.Reports.Dir, fmt.Sprintf("%s-%s-attendance", d.cfg.Site.Name, month))
	for _, f := range []struct {
		ext   string
		write func(*bytes.Buffer) error
	}{
		{".xlsx", func(b *bytes.Buffer) error { return report.WriteTableXLSX(b, t) }},
		{".csv", func(b *bytes.Buffer) error { return report.WriteTableCSV(b, t) }},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return nil, c, 0, 0, fmt.Errorf("write table %s%s: %w", month, f.ext, err)
		}
		if err := writeFileAtomic(base+f.ext, buf.Bytes()); err != nil {
			return nil, c, 0, 0, err
		}
		files = append(files, base+f.ext)
	}
	for _, r := range t.Rows {
		c.Late += r.Totals.Late
		c.Early += r.Totals.Early
		c.Missing += r.Totals.Missing
		c.Absent += r.Totals.Absent
		c.Excused += r.Totals.Offsite + r.Totals.Trip + r.Totals.Leave
	}
	for i := 0; i < t.DaysInMonth; i++ {
		if t.DayTypes[i].IsWorking() {
			workdays++
		}
	}
	return files, c, len(t.Rows), workdays, nil
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
