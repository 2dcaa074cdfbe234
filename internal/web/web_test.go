package web_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/xuri/excelize/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/report"
	"github.com/jinbi/punchd/internal/service"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/internal/web"
	"github.com/jinbi/punchd/sync/ingest"
)

var cst = time.FixedZone("CST", 8*3600)

// now is a Tuesday morning, a working day.
var now = time.Date(2026, 3, 10, 10, 0, 0, 0, cst)

type fixture struct {
	svc  *service.Service
	db   *store.DB
	srv  *httptest.Server
	web  *web.Server
	reg  *prometheus.Registry
	opts web.Options // what the console was built with
}

// newFixture serves the console over a real store-backed service (the one behind punchctl's
// socket) with three people on the roster and a clerk and a viewer account.
func newFixture(t testing.TB, anonymousRead bool) *fixture {
	t.Helper()
	cfg := config.Default()
	cfg.Site.Name, cfg.Site.Timezone = "jinbi", "Asia/Shanghai"
	cfg.Store.Path = filepath.Join(t.TempDir(), "punchd.db")
	cfg.Unit = []config.Unit{{Name: "党政办", Kind: attendance.UnitOffice}, {Name: "金碧村", Kind: attendance.UnitVillage}}
	cal, err := cfg.NewCalendar()
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	db, err := store.Open(cfg.Store.Path, store.Options{Location: cfg.Location(), Now: clock, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutRoster([]attendance.Person{
		{UserID: "1001", Name: "张三", Unit: "党政办", Post: "主任", Tracking: attendance.TrackClock},
		{UserID: "1002", Name: "李四", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "1003", Name: "王五", Unit: "金碧村", Tracking: attendance.TrackVillage},
	}, nil); err != nil {
		t.Fatal(err)
	}
	since := attendance.Date{Year: 2026, Month: 3, Day: 1}
	eng := ingest.New(ingest.Config{Site: cfg.Site.Name, Prefix: cfg.MQTT.TopicPrefix, Location: cfg.Location(),
		Params: cfg.RulesParams(), EventsSince: since}, db, cal, clock, nil, nil, nil)
	if err := eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := eng.Finalise(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := service.New(cfg, db, cal, eng, since, clock)
	ctx := adminCtx()
	fast := account.New(db, svc.AuditLog(), clock).WithCost(bcrypt.MinCost) // the same store, cheap hashes
	for _, a := range [][3]string{{"clerk1", "clerk", "correct horse"}, {"viewer1", "viewer", "battery staple"}, {"du1", "supervisor", "check on site"}} {
		if _, err := fast.AddAccount(ctx, a[0], a[1], a[2]); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	opts := web.Options{Site: "金碧镇", Location: cfg.Location(), Now: clock, Calendar: cal,
		Prefix: cfg.MQTT.TopicPrefix, Logger: slog.New(slog.DiscardHandler), Metrics: reg, AnonymousRead: anonymousRead, Units: cfg.Units(),
		Sessions: db}
	w, err := web.New(svc, svc, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{svc: svc, db: db, srv: srv, web: w, reg: reg, opts: opts}
}

// adminCtx is the context of a change made by the administrator with punchctl.
func adminCtx() context.Context {
	return audit.WithActor(context.Background(), audit.Actor{Name: "root", From: "local", Via: audit.ViaCLI})
}

// browser is a cookie-keeping client that does not follow redirects and sends this site's Origin.
type browser struct {
	t      *testing.T
	c      *http.Client
	base   string
	origin string
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.srv.URL, origin: f.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the form token of the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body := b.get(path)
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no csrf token on %s", path)
	}
	return m[1]
}

func (b *browser) login(name, password string) int {
	b.t.Helper()
	code, _, _ := b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "name": {name}, "password": {password}, "next": {"/"}})
	return code
}

func leaveForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "user": {"1002"}, "kind": {"leave"}, "from": {"2026-03-10"}, "to": {"2026-03-10"}, "reason": {"病假"},
		"via": {"phone"}, "approved_by": {"李镇长"}}
}

func (f *fixture) registrations(t *testing.T) []attendance.Registration {
	regs, err := f.svc.Registrations(context.Background(), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return regs
}

func TestBoardAndRegistration(t *testing.T) {
	f := newFixture(t, true)
	b := f.browser(t)
	code, page := b.get("/")
	if code != 200 || !strings.Contains(page, "张三") || !strings.Contains(page, "包村（村里记录）") {
		t.Fatalf("GET / = %d\n%s", code, page)
	}
	notIn := regexp.MustCompile(`<p id="notin">(.*?)</p>`)
	if m := notIn.FindStringSubmatch(page); m == nil || !strings.Contains(m[1], "张三") || !strings.Contains(m[1], "李四") || strings.Contains(m[1], "王五") {
		t.Errorf("not in yet: %q (want 张三 and 李四, not the village's 王五)", m)
	}
	if b.login("clerk1", "correct horse") != http.StatusSeeOther {
		t.Fatal("clerk login refused")
	}
	code, _, hdr := b.post("/registrations", leaveForm(b.csrf("/registrations")))
	if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/registrations?done=") {
		t.Fatalf("add registration = %d %v", code, hdr)
	}
	regs := f.registrations(t)
	if len(regs) != 1 || regs[0].RegisteredBy != "clerk1" || regs[0].Kind != attendance.KindLeave || regs[0].Via != attendance.ViaPhone || regs[0].ApprovedBy != "李镇长" {
		t.Fatalf("stored %+v", regs)
	}
	// The board shows the leave and 李四 is no longer missed.
	_, page = b.get("/")
	m := notIn.FindStringSubmatch(page)
	if m == nil || strings.Contains(m[1], "李四") || !strings.Contains(page, `id="today-regs"`) || !strings.Contains(page, "病假") {
		t.Errorf("board after the leave: not in %q", m)
	}
	// The change is in the audit log with who, how and from where.
	entries, err := f.svc.Audit(context.Background(), time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Action != audit.RegistrationAdd || last.Who != "clerk1" || last.Role != "clerk" || last.Via != audit.ViaWeb || last.From != "127.0.0.1" || last.Target != regs[0].ID {
		t.Errorf("audit entry %+v", last)
	}
	// Revoking from the list.
	code, _, _ = b.post("/registrations/"+regs[0].ID+"/revoke", url.Values{"csrf": {b.csrf("/registrations")}, "reason": {"登记错了"}})
	if regs = f.registrations(t); code != http.StatusSeeOther || !regs[0].Revoked() || regs[0].RevokedBy != "clerk1" {
		t.Errorf("revoke = %d, %+v", code, regs)
	}
	code, page, _ = b.post("/registrations/"+regs[0].ID+"/revoke", url.Values{"csrf": {b.csrf("/registrations")}, "reason": {"再撤"}})
	if code != http.StatusBadRequest || !strings.Contains(page, "was already revoked by clerk1") {
		t.Errorf("second revoke = %d", code)
	}
}

// The form refuses what `punchctl register add` refuses, with its words.
func TestRegistrationErrorsAreTheCLIs(t *testing.T) {
	f := newFixture(t, true)
	b := f.browser(t)
	b.login("clerk1", "correct horse")
	for _, c := range []struct {
		change func(url.Values)
		want   string
	}{
		{func(v url.Values) { v.Del("reason") }, "--reason is required: every registration says why"},
		{func(v url.Values) { v.Set("user", "9999") }, `--user "9999" is not on the roster (3 people; see punchctl roster list)`},
		{func(v url.Values) { v.Set("to", "2026-03-09") }, "--to 2026-03-09 23:59 is before --from 2026-03-10 00:00"},
		{func(v url.Values) { v.Set("kind", "holiday") }, `--kind "holiday" is not one of offsite, trip, leave, meeting, makeup`},
		{func(v url.Values) { v.Set("kind", "makeup") }, `a makeup (补卡) is one punch at a time of day`},
		{func(v url.Values) { v.Set("via", "fax") }, `--via "fax" is not written (书面) or phone (电话)`},
	} {
		form := leaveForm(b.csrf("/registrations"))
		c.change(form)
		code, page, _ := b.post("/registrations", form)
		if code != http.StatusBadRequest || !strings.Contains(page, html.EscapeString(c.want)) {
			t.Errorf("%v: %d, want 400 with %q", form, code, c.want)
		}
	}
	if n := len(f.registrations(t)); n != 0 {
		t.Errorf("%d registrations stored from refused forms", n)
	}
}

func TestChangesRefused(t *testing.T) {
	f := newFixture(t, true)
	anon := f.browser(t)
	clerk := f.browser(t)
	clerk.login("clerk1", "correct horse")
	viewer := f.browser(t)
	viewer.login("viewer1", "battery staple")
	otherSite := f.browser(t)
	otherSite.c.Jar = clerk.c.Jar

	for _, c := range []struct {
		name string
		do   func() int
		want int
	}{
		{"no session", func() int { code, _, _ := anon.post("/registrations", leaveForm("x")); return code }, http.StatusUnauthorized},
		{"wrong csrf", func() int { code, _, _ := clerk.post("/registrations", leaveForm("not-the-token")); return code }, http.StatusForbidden},
		{"no csrf", func() int {
			v := leaveForm("")
			v.Del("csrf")
			code, _, _ := clerk.post("/registrations", v)
			return code
		}, http.StatusForbidden},
		{"another origin", func() int {
			tok := clerk.csrf("/registrations")
			otherSite.origin = "http://evil.example"
			code, _, _ := otherSite.post("/registrations", leaveForm(tok))
			return code
		}, http.StatusForbidden},
		{"no origin", func() int {
			tok := clerk.csrf("/registrations")
			otherSite.origin = ""
			code, _, _ := otherSite.post("/registrations", leaveForm(tok))
			return code
		}, http.StatusForbidden},
		{"viewer", func() int {
			code, _, _ := viewer.post("/registrations", leaveForm(viewer.csrf("/registrations")))
			return code
		}, http.StatusForbidden},
		{"viewer revoke", func() int {
			code, _, _ := viewer.post("/registrations/R00000001/revoke", url.Values{"csrf": {viewer.csrf("/registrations")}, "reason": {"x"}})
			return code
		}, http.StatusForbidden},
	} {
		if got := c.do(); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
		if n := len(f.registrations(t)); n != 0 {
			t.Fatalf("%s: %d registrations stored", c.name, n)
		}
	}
	entries, _ := f.svc.Audit(context.Background(), time.Time{}, time.Time{}, 0)
	for _, e := range entries {
		if e.Action != audit.AccountAdd {
			t.Errorf("a refused change reached the audit log: %+v", e)
		}
	}
	if got := counter(t, f.reg, "punchd_web_changes_refused_total", "reason", "csrf"); got != 2 {
		t.Errorf("refused for csrf = %v, want 2", got)
	}
}

// counter is the value of the counter name{label=value} in reg.
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == name && l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

func TestLoginThrottled(t *testing.T) {
	f := newFixture(t, true)
	b := f.browser(t)
	codes := map[int]int{}
	for range 20 {
		codes[b.login("clerk1", "wrong password")]++
	}
	if codes[http.StatusUnauthorized] != 5 || codes[http.StatusTooManyRequests] != 15 {
		t.Errorf("20 bad logins: %v, want 5×401 then 15×429", codes)
	}
	// Throttled, the right password is not even looked at.
	if code := b.login("clerk1", "correct horse"); code != http.StatusTooManyRequests {
		t.Errorf("right password while throttled = %d, want 429", code)
	}
	for result, want := range map[string]float64{"bad": 5, "throttled": 16, "ok": 0} {
		if got := counter(t, f.reg, "punchd_web_logins_total", "result", result); got != want {
			t.Errorf("punchd_web_logins_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	// The address is throttled whatever the name.
	if code := f.browser(t).login("viewer1", "battery staple"); code != http.StatusTooManyRequests {
		t.Errorf("another account from the same address = %d, want 429", code)
	}
}

func TestReadLoginAndLogout(t *testing.T) {
	f := newFixture(t, false)
	b := f.browser(t)
	resp, err := b.c.Get(f.srv.URL + "/month")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fmonth" {
		t.Errorf("GET /month without login = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.login("viewer1", "battery staple")
	if code, _ := b.get("/month"); code != 200 {
		t.Errorf("GET /month as viewer = %d", code)
	}
	code, _, _ := b.post("/logout", url.Values{"csrf": {b.csrf("/")}})
	if code != http.StatusSeeOther {
		t.Errorf("logout = %d", code)
	}
	if code, _ := b.get("/month"); code != http.StatusSeeOther {
		t.Errorf("GET /month after logout = %d", code)
	}
	// A session ends when its password changes.
	b.login("viewer1", "battery staple")
	ctx := audit.WithActor(context.Background(), audit.Actor{Name: "root", Via: audit.ViaCLI, From: "local"})
	now = now.Add(time.Second)
	defer func() { now = now.Add(-time.Second) }()
	if err := f.svc.SetPassword(ctx, "viewer1", "a new secret"); err != nil {
		t.Fatal(err)
	}
	if code, _ := b.get("/month"); code != http.StatusSeeOther {
		t.Errorf("GET /month after the password changed = %d", code)
	}
}

func TestDownloadsAreTheReports(t *testing.T) {
	f := newFixture(t, true)
	b := f.browser(t)
	resp, err := b.c.Get(f.srv.URL + "/month.xlsx?month=2026-03")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "filename*=UTF-8''%E9%87%91%E7%A2%A7%E9%95%87-2026-03-attendance.xlsx") {
		t.Fatalf("month.xlsx = %d %v", resp.StatusCode, resp.Header)
	}
	x, err := excelize.OpenReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		for _, c := range r {
			if c == "张三" || c == "李四" {
				names = append(names, c)
			}
		}
	}
	if strings.Join(names, ",") != "张三,李四" {
		t.Errorf("the month's XLSX names %v, want 张三,李四", names)
	}
	for _, p := range []string{"/month.csv?month=2026-03", "/bulletin.xlsx?month=2026-03", "/bulletin.md?month=2026-03", "/month?month=2026-03", "/bulletin?month=2026-03", "/clocks", "/events", "/registrations"} {
		if code, body := b.get(p); code != 200 {
			t.Errorf("GET %s = %d\n%s", p, code, body)
		}
	}
	// The 通报 as the CLI writes it: a DOCX whose document names the month and the issuer.
	code, body := b.get("/bulletin.docx?month=2026-03")
	if code != 200 {
		t.Fatalf("GET /bulletin.docx = %d\n%s", code, body)
	}
	zr, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if err != nil {
		t.Fatalf("the 通报 download is not a DOCX (zip): %v", err)
	}
	var doc string
	for _, zf := range zr.File {
		if zf.Name == "word/document.xml" {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			x, _ := io.ReadAll(rc)
			rc.Close()
			doc = string(x)
		}
	}
	for _, want := range []string{"2026年3月", report.DefaultIssuer} {
		if !strings.Contains(doc, want) {
			t.Errorf("the 通报 DOCX does not say %q", want)
		}
	}
	for _, p := range []string{"/month?month=2026-13", "/month?month=2026-04", "/month?unit=nowhere", "/bulletin?end=30", "/bulletin.docx?end=30"} {
		if code, _ := b.get(p); code != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want 400", p, code)
		}
	}
}

func TestLiveFeed(t *testing.T) {
	f := newFixture(t, true)
	resp, err := http.Get(f.srv.URL + "/events/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	for { // the greeting comment ends with a blank line: from then on the stream is subscribed
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\n" {
			break
		}
	}
	payload := `{"id":"e1","rev":2,"kind":"late","site":"jinbi","user_id":"1001","name":"张三","date":"2026-03-10","slot":"am_in","minutes":7,"severity":"minor"}`
	f.web.Publish("punchd/jinbi/status", []byte(`{"online":true}`)) // not an event: not shown
	f.web.Publish("punchd/jinbi/events/late", []byte(payload))
	f.web.Publish("punchd/jinbi/events/late", []byte(payload)) // sent again after a reconnect: shown once
	var got []string
	for len(got) < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line != "\n" {
			got = append(got, strings.TrimSpace(line))
		}
	}
	want := []string{"event: event", "id: e1/2", "data: " + payload}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if code, page := f.browser(t).get("/events"); code != 200 || strings.Count(page, `data-key="e1/2"`) != 1 {
		t.Errorf("the events page does not list the recent event once")
	}
}

func TestCheckListen(t *testing.T) {
	f := newFixture(t, true)
	for listen, loop := range map[string]bool{"127.0.0.1:9810": true, "[::1]:9810": true, "localhost:0": true, "10.0.0.5:9810": false, ":9810": false} {
		got, err := web.CheckListen(context.Background(), listen, f.svc)
		if err != nil || got != loop {
			t.Errorf("CheckListen(%s) = %v %v, want %v", listen, got, err, loop)
		}
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{Name: "root", Via: audit.ViaCLI, From: "local"})
	for _, n := range []string{"clerk1", "viewer1", "du1"} {
		if err := f.svc.RemoveAccount(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := web.CheckListen(context.Background(), "0.0.0.0:9810", f.svc); !errors.Is(err, web.ErrNoAccount) {
		t.Errorf("beyond loopback without an account: %v, want ErrNoAccount", err)
	}
	if _, err := web.CheckListen(context.Background(), "127.0.0.1:9810", f.svc); err != nil {
		t.Errorf("loopback without an account: %v", err)
	}
}

func TestMarksGrid(t *testing.T) {
	f := newFixture(t, true)
	clerk, viewer := f.browser(t), f.browser(t)
	clerk.login("clerk1", "correct horse")
	viewer.login("viewer1", "battery staple")
	code, page := clerk.get("/marks")
	if code != 200 || !strings.Contains(page, `name="m|1003|9"`) || strings.Contains(page, `name="m|1003|11"`) || strings.Contains(page, "张三") {
		t.Fatalf("GET /marks = %d: want 王五's cells up to today (the 10th), nobody of the office", code)
	}
	form := func(csrf string, cells map[string]string) url.Values {
		v := url.Values{"csrf": {csrf}, "unit": {"金碧村"}, "month": {"2026-03"}}
		for k, x := range cells {
			v.Set(k, x)
		}
		return v
	}
	if code, _, _ := viewer.post("/marks", form(viewer.csrf("/marks"), map[string]string{"m|1003|9": "×"})); code != http.StatusForbidden {
		t.Errorf("a viewer setting a mark = %d, want 403", code)
	}
	if code, page, _ := clerk.post("/marks", form(clerk.csrf("/marks"), map[string]string{"m|1003|9": "?"})); code != http.StatusBadRequest || !strings.Contains(page, "is not one of √ × 假 差 休") {
		t.Errorf("a bad mark = %d", code)
	}
	ms, err := f.svc.Marks(context.Background(), "金碧村", attendance.Date{Year: 2026, Month: 3, Day: 1}, attendance.Date{Year: 2026, Month: 3, Day: 31})
	if err != nil || len(ms) != 0 {
		t.Fatalf("marks after refusals: %v %v", ms, err)
	}
	code, _, hdr := clerk.post("/marks", form(clerk.csrf("/marks"), map[string]string{"m|1003|9": "×", "m|1003|10": "√", "m|1003|2": ""}))
	if code != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "done=") {
		t.Fatalf("setting marks = %d %v", code, hdr)
	}
	ms, _ = f.svc.Marks(context.Background(), "金碧村", attendance.Date{Year: 2026, Month: 3, Day: 1}, attendance.Date{Year: 2026, Month: 3, Day: 31})
	if len(ms) != 2 || ms[0].RecordedBy != "clerk1" {
		t.Fatalf("stored marks %+v", ms)
	}
	_, page = clerk.get("/marks")
	if !strings.Contains(page, "<option selected>×</option>") {
		t.Error("the grid does not show the stored ×")
	}
	entries, _ := f.svc.Audit(context.Background(), time.Time{}, time.Time{}, 0)
	var set []string
	for _, e := range entries {
		if e.Action == audit.MarkSet {
			set = append(set, e.Target+" "+e.Detail+" "+e.Who+" "+e.Via)
		}
	}
	if len(set) != 2 || !strings.Contains(strings.Join(set, ";"), "金碧村 1003 2026-03-09 × clerk1 web") {
		t.Errorf("audit of the marks: %v", set)
	}
}

func TestFindings(t *testing.T) {
	f := newFixture(t, true)
	clerk, sup := f.browser(t), f.browser(t)
	clerk.login("clerk1", "correct horse")
	sup.login("du1", "check on site")
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "date": {"2026-03-09"}, "unit": {"金碧村"}, "user": {"1003"}, "kind": {"negative"}, "text": {"上午不在村"}}
	}
	if code, _, _ := clerk.post("/findings", form(clerk.csrf("/registrations"))); code != http.StatusForbidden {
		t.Errorf("a clerk adding a finding = %d, want 403", code)
	}
	bad := form(sup.csrf("/findings"))
	bad.Set("kind", "so-so")
	if code, page, _ := sup.post("/findings", bad); code != http.StatusBadRequest || !strings.Contains(page, html.EscapeString(`--kind "so-so" is not positive or negative`)) {
		t.Errorf("a bad kind = %d", code)
	}
	code, _, hdr := sup.post("/findings", form(sup.csrf("/findings")))
	if code != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "done=") {
		t.Fatalf("a finding = %d %v", code, hdr)
	}
	list, err := f.svc.Findings(context.Background(), attendance.Date{Year: 2026, Month: 3, Day: 1}, attendance.Date{Year: 2026, Month: 3, Day: 31})
	if err != nil || len(list) != 1 || list[0].RecordedBy != "du1" || list[0].Text != "上午不在村" {
		t.Fatalf("stored findings %+v %v", list, err)
	}
	if _, page := sup.get("/findings?month=2026-03"); !strings.Contains(page, "上午不在村") {
		t.Error("the findings page does not list it")
	}
}

// TestReload: after Reload the next request sees the new site, units, topic prefix and read access,
// through the new backend; a clerk logged in before stays logged in.
func TestReload(t *testing.T) {
	f := newFixture(t, true)
	clerk := f.browser(t)
	if code := clerk.login("clerk1", "correct horse"); code != http.StatusSeeOther {
		t.Fatalf("login = %d", code)
	}
	if code, page := f.browser(t).get("/marks"); code != 200 || !strings.Contains(page, "金碧村") || strings.Contains(page, "石桥村") {
		t.Fatalf("GET /marks before the reload = %d", code)
	}
	o := f.opts
	o.Site, o.Prefix, o.AnonymousRead = "金碧镇人民政府", "punchd/other", false
	o.Units = append(append([]attendance.Unit(nil), o.Units...), attendance.Unit{Name: "石桥村", Kind: attendance.UnitVillage})
	o.Logger, o.Metrics = nil, nil // ignored: the console keeps its own
	var calls countingBackend
	calls.Backend = f.svc
	f.web.Reload(&calls, f.svc, o)

	if code, _ := f.browser(t).get("/"); code == http.StatusOK {
		t.Error("anonymous read still allowed after a reload that turned it off")
	}
	code, page := clerk.get("/marks?unit=石桥村")
	if code != 200 || !strings.Contains(page, "石桥村") || !strings.Contains(page, "金碧镇人民政府") {
		t.Errorf("GET /marks?unit=石桥村 after the reload = %d, want the new unit and site:\n%s", code, page)
	}
	if calls.n.Load() == 0 {
		t.Error("the page was not read through the reloaded backend")
	}
	payload := `{"id":"e9","rev":1,"kind":"late","site":"jinbi","user_id":"1001","name":"张三","date":"2026-03-10","slot":"am_in","minutes":7,"severity":"minor"}`
	f.web.Publish("punchd/jinbi/events/late", []byte(strings.Replace(payload, "e9", "e8", 1))) // the old prefix: not ours now
	f.web.Publish("punchd/other/events/late", []byte(payload))
	_, page = clerk.get("/events")
	if !strings.Contains(page, `data-key="e9/1"`) || strings.Contains(page, `data-key="e8/1"`) {
		t.Error("the live feed does not follow the reloaded topic prefix")
	}
	if v := counter(t, f.reg, "punchd_web_logins_total", "result", "ok"); v != 1 {
		t.Errorf("punchd_web_logins_total{result=ok} %v after the reload, want the 1 from before", v)
	}
}

// countingBackend counts the calls that reach it.
type countingBackend struct {
	web.Backend
	n atomic.Int64
}

func (b *countingBackend) Roster(ctx context.Context) ([]attendance.Person, error) {
	b.n.Add(1)
	return b.Backend.Roster(ctx)
}
