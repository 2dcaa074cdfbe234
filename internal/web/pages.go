package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/regform"
	"github.com/jinbi/punchd/internal/report"
)

var funcs = template.FuncMap{
	"kindLabel": attendance.Kind.Label,
	"roleLabel": func(r account.Role) string { return r.Label() },
	"inc":       func(i int) int { return i + 1 },
	"dateCN":    report.DateCN,
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name())
		if err != nil {
			return nil, fmt.Errorf("web console: template %s: %w", n.Name(), err)
		}
		out[name] = t
	}
	return out, nil
}

// page is what the layout needs beside the page's own data.
type page struct {
	Title   string
	Site    string
	Nav     string
	User    *pageUser
	CSRF    string
	Print   bool
	Refresh int // seconds; 0: none
	Data    any
}

// pageUser is the logged-in account as the layout shows it.
type pageUser struct {
	Name string
	Role account.Role
}

// render executes a page into a buffer first, so a template error becomes a 500, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	p := page{Title: title, Site: s.o.Site, Nav: name, Data: data, Print: r.URL.Query().Get("print") == "1"}
	if u, ok := userFrom(r.Context()); ok {
		p.User, p.CSRF = &pageUser{Name: u.account, Role: u.role}, u.csrf
	}
	if name == "today" && !p.Print {
		p.Refresh = int(s.o.Refresh / time.Second)
	}
	var buf bytes.Buffer
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	if err := t.Execute(&buf, p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "页面生成失败: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// errorPage shows a refusal or a failure in words.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, err error) {
	s.render(w, r, status, "error", "出错了", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Error": err.Error()})
}

func (s *Server) today(w http.ResponseWriter, r *http.Request) {
	b, err := s.board(r)
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	s.render(w, r, http.StatusOK, "today", "今日考勤", b)
}

// board reads today's judged days, the roster and today's registrations and lays them out.
func (s *Server) board(r *http.Request) (Board, error) {
	ctx := r.Context()
	now := s.now().In(s.o.Location)
	today := attendance.DateOf(now)
	people, err := s.b.Roster(ctx)
	if err != nil {
		return Board{}, fmt.Errorf("花名册: %w", err)
	}
	days, err := s.b.Days(ctx, today, today)
	if err != nil {
		return Board{}, fmt.Errorf("今日考勤: %w", err)
	}
	regs, err := s.b.Registrations(ctx, today.Start(s.o.Location), today.AddDays(1).Start(s.o.Location))
	if err != nil {
		return Board{}, fmt.Errorf("登记: %w", err)
	}
	dt := attendance.Workday
	if s.o.Calendar != nil {
		dt, _ = s.o.Calendar.DayType(today) // a year without data: the Monday–Friday guess, as the daemon judges
	}
	return BuildBoard(people, days, regs, today, dt, now, s.o.Location), nil
}

// clockView is one clock on the clocks page.
type clockView struct {
	Name, Serial, Since, LastPull, LastError, Offset string
	Up, Realtime, NearFull                           bool
	Records, Capacity, Fill                          int
}

func (s *Server) clocks(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context())
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	loc := s.o.Location
	at := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(loc).Format("2006-01-02 15:04:05")
	}
	var cs []clockView
	for _, c := range st.Clocks {
		v := clockView{Name: c.Name, Serial: c.Serial, Up: c.Up, Realtime: c.Realtime, LastPull: at(c.LastPull),
			LastError: c.LastError, Records: c.Records, Capacity: c.Capacity, Since: at(c.Since),
			Offset: fmt.Sprintf("%+.0f 秒", c.OffsetSec)}
		if c.Capacity > 0 {
			v.Fill = c.Records * 100 / c.Capacity
			v.NearFull = v.Fill >= 90
		}
		cs = append(cs, v)
	}
	s.render(w, r, http.StatusOK, "clocks", "考勤机", map[string]any{
		"Clocks": cs, "Outbox": st.Outbox, "OutboxOldest": at(st.OutboxOldest), "MQTT": st.MQTT,
		"Version": st.Version, "Started": at(st.Started), "MissingYears": st.MissingYears,
	})
}

// regForm is the registration form's fields, echoed back when it is refused.
type regForm struct {
	User, Kind, From, To, Reason, Via, ApprovedBy string
}

func (s *Server) registrations(w http.ResponseWriter, r *http.Request) {
	s.renderRegistrations(w, r, http.StatusOK, regForm{Kind: string(attendance.KindLeave)}, "", r.URL.Query().Get("done"))
}

func (s *Server) renderRegistrations(w http.ResponseWriter, r *http.Request, status int, f regForm, formErr, done string) {
	ctx := r.Context()
	loc := s.o.Location
	m, err := s.monthParam(r)
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	regs, err := s.b.Registrations(ctx, m.First().Start(loc), m.Last().AddDays(1).Start(loc))
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	people, err := s.b.Roster(ctx)
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	names := map[string]string{}
	for _, p := range people {
		names[p.UserID] = p.Name
	}
	type row struct {
		attendance.Registration
		Name, Span, Registered, RevokedAt, How string
	}
	var rows []row
	for i := len(regs) - 1; i >= 0; i-- { // newest first
		reg := regs[i]
		rw := row{Registration: reg, Name: names[reg.UserID], Span: regform.Span(reg, loc), How: viaLabel(reg),
			Registered: reg.RegisteredAt.In(loc).Format(regform.TimeLayout)}
		if reg.Revoked() {
			rw.RevokedAt = reg.RevokedAt.In(loc).Format(regform.TimeLayout)
		}
		rows = append(rows, rw)
	}
	canEdit := false
	if u, ok := userFrom(ctx); ok {
		canEdit = u.role.Can(account.Register)
	}
	s.render(w, r, status, "registrations", "登记", map[string]any{
		"Month": m.String(), "Prev": m.Prev().String(), "Rows": rows, "People": people, "Kinds": regform.Kinds,
		"Form": f, "Error": formErr, "Done": done, "CanEdit": canEdit,
	})
}

// viaLabel says in Chinese how a registration was made and who agreed.
func viaLabel(r attendance.Registration) string {
	var parts []string
	if l := r.Via.Label(); l != "" {
		parts = append(parts, l)
	}
	if r.ApprovedBy != "" {
		parts = append(parts, r.ApprovedBy+"批准")
	}
	return strings.Join(parts, "，")
}

// addRegistration takes the form through the same checks as `punchctl register add` and hands it
// to the same service; the account logged in is who registered it.
func (s *Server) addRegistration(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, _ := userFrom(ctx)
	f := regForm{User: r.PostFormValue("user"), Kind: r.PostFormValue("kind"), From: r.PostFormValue("from"),
		To: r.PostFormValue("to"), Reason: r.PostFormValue("reason"), Via: r.PostFormValue("via"), ApprovedBy: r.PostFormValue("approved_by")}
	reg, err := regform.Parse(regform.Input{User: f.User, Kind: f.Kind, From: f.From, To: f.To, Reason: f.Reason,
		Via: f.Via, ApprovedBy: f.ApprovedBy, By: u.account}, s.o.Location)
	if err == nil {
		var people []attendance.Person
		if people, err = s.b.Roster(ctx); err == nil {
			_, _, err = regform.OnRoster(people, reg.UserID)
		}
	}
	if err != nil {
		s.renderRegistrations(w, r, http.StatusBadRequest, f, err.Error(), "")
		return
	}
	saved, err := s.b.AddRegistration(ctx, reg)
	if saved.ID == "" && err != nil {
		s.renderRegistrations(w, r, http.StatusBadRequest, f, err.Error(), "")
		return
	}
	if err != nil { // stored; re-judging will be retried
		s.log.Warn("registration stored with a warning", "id", saved.ID, "err", err)
	}
	http.Redirect(w, r, "/registrations?done="+url.QueryEscape("已登记 "+saved.ID), http.StatusSeeOther)
}

// revokeRegistration is `punchctl register revoke` from the list.
func (s *Server) revokeRegistration(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, _ := userFrom(ctx)
	id, by, reason, err := regform.CheckRevoke(r.PathValue("id"), u.account, r.PostFormValue("reason"))
	if err == nil {
		var all []attendance.Registration
		if all, err = s.b.Registrations(ctx, time.Time{}, time.Time{}); err == nil {
			_, err = regform.Revocable(all, id, s.o.Location)
		}
	}
	if err != nil {
		s.renderRegistrations(w, r, http.StatusBadRequest, regForm{Kind: string(attendance.KindLeave)}, err.Error(), "")
		return
	}
	rev, err := s.b.RevokeRegistration(ctx, id, by, reason)
	if rev.ID == "" && err != nil {
		s.renderRegistrations(w, r, http.StatusBadRequest, regForm{Kind: string(attendance.KindLeave)}, err.Error(), "")
		return
	}
	http.Redirect(w, r, "/registrations?done="+url.QueryEscape("已撤销 "+id), http.StatusSeeOther)
}

// monthParam is ?month=YYYY-MM, default this month; a future month is refused as the CLI does.
func (s *Server) monthParam(r *http.Request) (report.Month, error) {
	today := attendance.DateOf(s.now().In(s.o.Location))
	v := r.URL.Query().Get("month")
	if v == "" {
		return report.MonthOf(today), nil
	}
	m, err := report.ParseMonth(v)
	if err != nil {
		return m, fmt.Errorf("%w: month: %q is not a month YYYY-MM", errBadParam, v)
	}
	if m.After(report.MonthOf(today)) {
		return m, fmt.Errorf("%w: month: %s is in the future (today is %s)", errBadParam, m, today)
	}
	return m, nil
}

func (s *Server) reportOptions(r *http.Request) report.Options {
	o := s.o.Report
	o.Site = s.o.Site
	o.Unit = r.URL.Query().Get("unit")
	o.Today = attendance.DateOf(s.now().In(s.o.Location))
	return o
}

// table builds the month's table exactly as `punchctl report table` and the monthly filing do.
func (s *Server) table(r *http.Request) (report.Table, error) {
	m, err := s.monthParam(r)
	if err != nil {
		return report.Table{}, err
	}
	return report.TableFrom(r.Context(), s.b, s.o.Calendar, m, s.reportOptions(r), s.o.Location)
}

func (s *Server) bulletinOf(r *http.Request) (report.Bulletin, error) {
	m, err := s.monthParam(r)
	if err != nil {
		return report.Bulletin{}, err
	}
	end := 0
	if v := r.URL.Query().Get("end"); v != "" {
		if end, err = strconv.Atoi(v); err != nil || end < 0 || end > 28 {
			return report.Bulletin{}, fmt.Errorf("%w: end: %q is not between 1 and 28 (0 = the calendar month)", errBadParam, v)
		}
	}
	o := s.reportOptions(r)
	o.Title = report.DefaultBulletinTitle
	return report.BulletinFrom(r.Context(), s.b, s.o.Calendar, m, end, o, s.o.Location)
}

// errBadParam: a query parameter that is not what the page takes.
var errBadParam = errors.New("bad parameter")

// statusOf is 400 for what the visitor asked wrong, 500 for the rest.
func statusOf(err error) int {
	if errors.Is(err, report.ErrUnknownUnit) || errors.Is(err, errBadParam) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Server) month(w http.ResponseWriter, r *http.Request) {
	t, err := s.table(r)
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	people, _ := s.b.Roster(r.Context())
	days := make([]int, t.DaysInMonth)
	for i := range days {
		days[i] = i + 1
	}
	s.render(w, r, http.StatusOK, "month", "月考勤表", map[string]any{"T": t, "Days": days, "Headers": report.TotalHeaders,
		"Query": r.URL.RawQuery, "Units": sortedUnits(people), "Unit": r.URL.Query().Get("unit")})
}

func (s *Server) bulletin(w http.ResponseWriter, r *http.Request) {
	b, err := s.bulletinOf(r)
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	people, _ := s.b.Roster(r.Context())
	s.render(w, r, http.StatusOK, "bulletin", "考勤通报", map[string]any{"B": b, "Query": r.URL.RawQuery,
		"Units": sortedUnits(people), "Unit": r.URL.Query().Get("unit"), "Month": r.URL.Query().Get("month")})
}

// download sends a report file under the name the daemon files it with.
func download(w http.ResponseWriter, name string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	ctype := map[string]string{
		".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		".csv":  "text/csv; charset=utf-8",
		".md":   "text/markdown; charset=utf-8",
		".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	}[path.Ext(name)]
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`,
		asciiName(name), url.PathEscape(name)))
	_, err := buf.WriteTo(w)
	return err
}

// asciiName is name for browsers that ignore filename*: non-ASCII replaced.
func asciiName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
}

func (s *Server) monthFile(format string) http.HandlerFunc {
	write := map[string]func(io.Writer, report.Table) error{"xlsx": report.WriteTableXLSX, "csv": report.WriteTableCSV}[format]
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := s.table(r)
		if err != nil {
			s.errorPage(w, r, statusOf(err), err)
			return
		}
		name := fmt.Sprintf("%s-%s-attendance.%s", s.o.Site, t.Month, format)
		if err := download(w, name, func(w io.Writer) error { return write(w, t) }); err != nil {
			s.log.Error("month download", "format", format, "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}

func (s *Server) bulletinFile(format string) http.HandlerFunc {
	write := map[string]func(io.Writer, report.Bulletin) error{"xlsx": report.WriteBulletinXLSX, "md": report.WriteBulletinMarkdown}[format]
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := s.bulletinOf(r)
		if err != nil {
			s.errorPage(w, r, statusOf(err), err)
			return
		}
		m, _ := s.monthParam(r)
		name := fmt.Sprintf("%s-%s-bulletin.%s", s.o.Site, m, format)
		if err := download(w, name, func(w io.Writer) error { return write(w, b) }); err != nil {
			s.log.Error("bulletin download", "format", format, "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}

// noticeDOCX sends the month's 通报 as the DOCX `punchctl report bulletin --format docx` writes:
// the same report.BuildNotice over the same clock bulletin and the units' marks, conflicts and
// findings (no issue number and no problems section: the office adds those in WPS/Word).
func (s *Server) noticeDOCX(w http.ResponseWriter, r *http.Request) {
	b, err := s.bulletinOf(r)
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	m, _ := s.monthParam(r)
	n, err := s.notice(r, m, b)
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	name := fmt.Sprintf("%s-%s-bulletin.docx", s.o.Site, m)
	if err := download(w, name, func(w io.Writer) error { return report.WriteNoticeDOCX(w, n, s.now()) }); err != nil {
		s.log.Error("bulletin download", "format", "docx", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// notice builds the 通报 of month from its clock bulletin b and the units' own records.
func (s *Server) notice(r *http.Request, m report.Month, b report.Bulletin) (report.Notice, error) {
	ctx := r.Context()
	people, err := s.b.Roster(ctx)
	if err != nil {
		return report.Notice{}, fmt.Errorf("roster: %w", err)
	}
	marks, err := s.b.Marks(ctx, "", b.From, b.To)
	if err != nil {
		return report.Notice{}, fmt.Errorf("marks %s..%s: %w", b.From, b.To, err)
	}
	findings, err := s.b.Findings(ctx, b.From, b.To)
	if err != nil {
		return report.Notice{}, fmt.Errorf("findings %s..%s: %w", b.From, b.To, err)
	}
	conflicts, err := s.b.Conflicts(ctx, b.From, b.To)
	if err != nil {
		return report.Notice{}, fmt.Errorf("cross-check %s..%s: %w", b.From, b.To, err)
	}
	return report.BuildNotice(report.NoticeInput{Bulletin: b, Month: m, Site: s.o.Site, Issuer: s.o.Issuer,
		Date: attendance.DateOf(s.now().In(s.o.Location)), Units: s.o.Units, Roster: people, Marks: marks,
		Conflicts: conflicts, Findings: findings, Unit: r.URL.Query().Get("unit")})
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "events", "实时事件", map[string]any{"Recent": s.feed.latest(), "Prefix": s.o.Prefix})
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := userFrom(r.Context()); !ok {
		http.Redirect(w, r, "/login?next=/audit", http.StatusSeeOther)
		return
	}
	entries, err := s.accounts.Audit(r.Context(), time.Time{}, time.Time{}, 200)
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	type row struct {
		audit.Entry
		When string
	}
	rows := make([]row, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		rows = append(rows, row{entries[i], entries[i].At.In(s.o.Location).Format("2006-01-02 15:04:05")})
	}
	s.render(w, r, http.StatusOK, "audit", "操作记录", map[string]any{"Rows": rows})
}
