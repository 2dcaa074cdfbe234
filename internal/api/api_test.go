package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
)

// memBackend is an in-memory Backend.
type memBackend struct {
	mu       sync.Mutex
	regs     []attendance.Registration
	roster   []attendance.Person
	marks    []attendance.DayMark
	findings []attendance.Finding
}

func (m *memBackend) Status(ctx context.Context) (Status, error) {
	return Status{Version: "test", Site: "jinbi", Clocks: []ClockStatus{{Name: "c1", Up: true, Records: 3}}}, nil
}
func (m *memBackend) Roster(ctx context.Context) ([]attendance.Person, error) { return m.roster, nil }
func (m *memBackend) PutRoster(ctx context.Context, p []attendance.Person) error {
	m.roster = p
	return nil
}
func (m *memBackend) ClockUsers(ctx context.Context) ([]device.User, error) { return nil, nil }
func (m *memBackend) Registrations(ctx context.Context, from, to time.Time) ([]attendance.Registration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regs, nil
}
func (m *memBackend) AddRegistration(ctx context.Context, r attendance.Registration) (attendance.Registration, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r.ID = fmt.Sprintf("R%06d", len(m.regs)+1)
	m.regs = append(m.regs, r)
	return r, nil
}
func (m *memBackend) RevokeRegistration(ctx context.Context, id, by, reason string) (attendance.Registration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range m.regs {
		if r.ID == id {
			m.regs[i].RevokedBy, m.regs[i].RevokeReason, m.regs[i].RevokedAt = by, reason, time.Unix(1, 0)
			return m.regs[i], nil
		}
	}
	return attendance.Registration{}, errors.New("no registration " + id)
}
func (m *memBackend) Days(ctx context.Context, from, to attendance.Date) ([]attendance.Day, error) {
	return []attendance.Day{{UserID: "A1023", Date: from, Status: attendance.StatusNormal}}, nil
}

func (m *memBackend) SetMarks(ctx context.Context, ms []attendance.DayMark) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range ms {
		if _, err := attendance.ParseUnitMark(string(x.Mark)); err != nil {
			return err
		}
	}
	m.marks = append(m.marks, ms...)
	return nil
}
func (m *memBackend) Marks(ctx context.Context, unit string, from, to attendance.Date) ([]attendance.DayMark, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []attendance.DayMark
	for _, x := range m.marks {
		if (unit == "" || x.Unit == unit) && !x.Date.Before(from) && !x.Date.After(to) {
			out = append(out, x)
		}
	}
	return out, nil
}
func (m *memBackend) AddFinding(ctx context.Context, f attendance.Finding) (attendance.Finding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f.ID = fmt.Sprintf("F%08d", len(m.findings)+1)
	m.findings = append(m.findings, f)
	return f, nil
}
func (m *memBackend) Findings(ctx context.Context, from, to attendance.Date) ([]attendance.Finding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.findings), nil
}
func (m *memBackend) RevokeFinding(ctx context.Context, id, by, reason string) (attendance.Finding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, f := range m.findings {
		if f.ID == id {
			m.findings[i].RevokedBy, m.findings[i].RevokedAt, m.findings[i].RevokeReason = by, time.Now(), reason
			return m.findings[i], nil
		}
	}
	return attendance.Finding{}, fmt.Errorf("no finding %s", id)
}
func (m *memBackend) Conflicts(ctx context.Context, from, to attendance.Date) ([]attendance.Conflict, error) {
	return []attendance.Conflict{{UserID: "A1023", Unit: "金碧村", Date: from, Clock: "CKJB000001"}}, nil
}

func TestClientServerRoundTrip(t *testing.T) {
	sock := testSocket(t)
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	checkOwnerOnly(t, sock)
	srv := &http.Server{Handler: Handler(&memBackend{}, slog.New(slog.DiscardHandler))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	if _, err := Listen(sock); err == nil {
		t.Fatal("a second Listen on a live socket succeeded")
	}

	ctx := t.Context()
	c, err := Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Site != "jinbi" || len(st.Clocks) != 1 || st.Clocks[0].Records != 3 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	loc := time.FixedZone("CST", 8*3600)
	reg := attendance.Registration{UserID: "A1023", Kind: attendance.KindOffsite, From: time.Date(2026, 3, 2, 8, 0, 0, 0, loc),
		To: time.Date(2026, 3, 2, 18, 0, 0, 0, loc), Reason: "村里开会", RegisteredBy: "党政办"}
	got, err := c.AddRegistration(ctx, reg)
	if err != nil || got.ID != "R000001" || !got.From.Equal(reg.From) {
		t.Fatalf("add = %+v, %v", got, err)
	}
	bad := reg
	bad.To = reg.From.Add(-time.Hour)
	if _, err := c.AddRegistration(ctx, bad); !errors.Is(err, ErrRemote) {
		t.Fatalf("a registration ending before it starts: err = %v, want ErrRemote", err)
	}
	rv, err := c.RevokeRegistration(ctx, "R000001", "张三", "登记错误")
	if err != nil || !rv.Revoked() || rv.RevokedBy != "张三" {
		t.Fatalf("revoke = %+v, %v", rv, err)
	}
	regs, err := c.Registrations(ctx, reg.From, reg.To)
	if err != nil || len(regs) != 1 || !regs[0].Revoked() {
		t.Fatalf("registrations = %+v, %v", regs, err)
	}
	days, err := c.Days(ctx, attendance.Date{Year: 2026, Month: 3, Day: 2}, attendance.Date{Year: 2026, Month: 3, Day: 31})
	if err != nil || len(days) != 1 || days[0].UserID != "A1023" || days[0].Date.Day != 2 {
		t.Fatalf("days = %+v, %v", days, err)
	}

	mar := attendance.Date{Year: 2026, Month: 3, Day: 2}
	if err := c.SetMarks(ctx, []attendance.DayMark{{Unit: "金碧村", UserID: "A1023", Date: mar, Mark: attendance.MarkPresent, RecordedBy: "王"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetMarks(ctx, []attendance.DayMark{{Unit: "金碧村", UserID: "A1023", Date: mar, Mark: "O"}}); !errors.Is(err, ErrRemote) {
		t.Fatalf("a bad mark: %v", err)
	}
	ms, err := c.Marks(ctx, "金碧村", mar, mar)
	if err != nil || len(ms) != 1 || ms[0].Mark != attendance.MarkPresent {
		t.Fatalf("marks = %+v, %v", ms, err)
	}
	f, err := c.AddFinding(ctx, attendance.Finding{Date: mar, Unit: "水务站", Kind: attendance.FindingNegative, Text: "无人值班", RecordedBy: "督查室"})
	if err != nil || f.ID != "F00000001" {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	if f, err = c.RevokeFinding(ctx, f.ID, "督查室", "误记"); err != nil || !f.Revoked() {
		t.Fatalf("revoke finding = %+v, %v", f, err)
	}
	if fs, err := c.Findings(ctx, mar, mar); err != nil || len(fs) != 1 || fs[0].Text != "无人值班" {
		t.Fatalf("findings = %+v, %v", fs, err)
	}
	if cs, err := c.Conflicts(ctx, mar, mar); err != nil || len(cs) != 1 || cs[0].Date != mar {
		t.Fatalf("conflicts = %+v, %v", cs, err)
	}
}

func TestDialNoDaemon(t *testing.T) {
	_, err := Dial(t.Context(), testSocket(t))
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("err = %v, want ErrNotRunning", err)
	}
}
