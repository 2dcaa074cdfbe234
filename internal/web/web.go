// Package web is punchd's console for the people who use it every day — the 党政办 clerk who
// records registrations and prints the monthly forms, the 督查室 who reads who was late — served on
// [http] listen beside /metrics. Plain server-rendered HTML in Chinese (html/template), a few lines
// of JavaScript (the live feed), every asset embedded: it works offline.
//
// It owns the pages, the sessions, the CSRF and origin checks and the login throttle. It judges
// nothing and formats no report itself: the board comes from the judged days, the tables and
// bulletins from internal/report, the registration checks from internal/regform, every change goes
// through the same service as punchctl's socket (which writes the audit log). Accounts are checked
// by internal/account.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/report"
)

// Backend is the service the console reads and changes through: the one behind punchctl's socket.
type Backend interface {
	Status(ctx context.Context) (api.Status, error)
	Roster(ctx context.Context) ([]attendance.Person, error)
	Registrations(ctx context.Context, from, to time.Time) ([]attendance.Registration, error)
	AddRegistration(ctx context.Context, r attendance.Registration) (attendance.Registration, error)
	RevokeRegistration(ctx context.Context, id, by, reason string) (attendance.Registration, error)
	Days(ctx context.Context, from, to attendance.Date) ([]attendance.Day, error)
	SetMarks(ctx context.Context, marks []attendance.DayMark) error
	Marks(ctx context.Context, unit string, from, to attendance.Date) ([]attendance.DayMark, error)
	AddFinding(ctx context.Context, f attendance.Finding) (attendance.Finding, error)
	Findings(ctx context.Context, from, to attendance.Date) ([]attendance.Finding, error)
	RevokeFinding(ctx context.Context, id, by, reason string) (attendance.Finding, error)
	Conflicts(ctx context.Context, from, to attendance.Date) ([]attendance.Conflict, error)
}

// Accounts checks logins and lists the audit log (*account.Service).
type Accounts interface {
	Login(ctx context.Context, name, password string) (account.Info, error)
	Get(ctx context.Context, name string) (account.Info, bool, error)
	Accounts(ctx context.Context) ([]account.Info, error)
	Audit(ctx context.Context, from, to time.Time, limit int) ([]audit.Entry, error)
}

// Options configure the console.
type Options struct {
	Site     string            // [site] name (or display name) shown in titles
	Location *time.Location    // the site's zone
	Now      func() time.Time  // nil: time.Now
	Calendar report.DayTyper   // classes dates for the month's table and bulletin
	Report   report.Options    // Title and Signatures of the table, as [reports] sets them
	Units    []attendance.Unit // the [[unit]]s: those without a clock keep their people by marks
	Issuer   string            // [reports] bulletin_issuer: who issues the 通报 ("" = report.DefaultIssuer)
	Prefix   string            // [mqtt] topic_prefix: the live feed shows {prefix}/events/… and {prefix}/audit
	Logger   *slog.Logger      // nil: discard
	Metrics  prometheus.Registerer
	// AnonymousRead lets a visitor without a session read the pages (loopback listen only; the
	// daemon decides). Every change needs a login whatever this says.
	AnonymousRead bool
	SessionTTL    time.Duration // absolute session lifetime; default 12h
	SessionIdle   time.Duration // lifetime without a request; default 2h
	Sessions      SessionStore  // keeps the sessions across restarts (the daemon's store); nil: memory only
	LoginBurst    int           // failed logins allowed per address and per name before throttling; default 5
	LoginRefill   time.Duration // one more failed login allowed per this; default 1 minute
	Refresh       time.Duration // the board reloads itself this often; default 60s
}

// ErrNoAccount: the console would listen beyond loopback with no account to log in with.
var ErrNoAccount = errors.New("web console: no account")

// CheckListen refuses a listen address beyond loopback while no account exists: anyone on the
// network could otherwise read the board, and nobody could log in to change anything. It reports
// whether the address is loopback.
func CheckListen(ctx context.Context, listen string, a Accounts) (loopback bool, err error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false, fmt.Errorf("web console: listen %q: %w", listen, err)
	}
	if IsLoopback(host) {
		return true, nil
	}
	list, err := a.Accounts(ctx)
	if err != nil {
		return false, fmt.Errorf("web console: read accounts: %w", err)
	}
	if len(list) == 0 {
		return false, fmt.Errorf("%w: [http] listen %q is not loopback, and the console needs an account there: add one with `punchctl account add NAME --role clerk` (or listen on 127.0.0.1, or set [http] console = false)", ErrNoAccount, listen)
	}
	return false, nil
}

// IsLoopback reports whether host (from host:port) is a loopback name or address. An empty host
// (":9810") listens on every interface.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server is the console. Register its routes on the daemon's mux with Register.
type Server struct {
	b        Backend
	accounts Accounts
	o        Options
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	limit    *limiter
	feed     *feed
	pages    map[string]*template.Template
	metrics  webMetrics
	// live is the console of the current settings, shared by every copy Reload makes; handlers are
	// this copy's routes.
	live     *atomic.Pointer[Server]
	handlers []http.Handler
}

type webMetrics struct {
	logins  *prometheus.CounterVec
	refused *prometheus.CounterVec
}

// New builds the console. Its metrics are registered on o.Metrics when set.
func New(b Backend, a Accounts, o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 2 * time.Hour
	}
	if o.LoginBurst <= 0 {
		o.LoginBurst = 5
	}
	if o.LoginRefill <= 0 {
		o.LoginRefill = time.Minute
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Minute
	}
	s := &Server{b: b, accounts: a, o: o, log: o.Logger, now: o.Now,
		sessions: newSessions(o.SessionTTL, o.SessionIdle, o.Sessions, o.Logger), limit: newLimiter(o.LoginBurst, o.LoginRefill),
		feed: newFeed(o.Prefix, 100)}
	s.metrics = webMetrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "punchd_web_logins_total",
			Help: "Login attempts on the web console by result: ok, bad (wrong name or password), throttled (refused unchecked after too many failures), refused (bad origin or form token)."},
			[]string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "punchd_web_changes_refused_total",
			Help: "Changes refused by the web console by reason: origin, session, csrf, role."}, []string{"reason"}),
	}
	for _, r := range []string{"ok", "bad", "throttled", "refused"} {
		s.metrics.logins.WithLabelValues(r)
	}
	for _, r := range []string{"origin", "session", "csrf", "role"} {
		s.metrics.refused.WithLabelValues(r)
	}
	if o.Metrics != nil {
		for _, c := range []prometheus.Collector{s.metrics.logins, s.metrics.refused} {
			if err := o.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("web console metrics: %w", err)
			}
		}
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.handlers = handlersOf(s)
	s.live = new(atomic.Pointer[Server])
	s.live.Store(s)
	return s, nil
}

// Register adds the console's routes to mux (which serves /metrics, /healthz and /readyz too). Each
// route serves from the console of the current settings: after Reload, the next request sees them.
func (s *Server) Register(mux *http.ServeMux) {
	for i, rt := range s.routes() {
		mux.Handle(rt.pattern, s.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.live.Load().handlers[i].ServeHTTP(w, r)
		})))
	}
}

// route is one pattern and its handler over one console's settings.
type route struct {
	pattern string
	h       http.Handler
}

// routes are the console's pages, in a fixed order: Register and Reload index them alike.
func (s *Server) routes() []route {
	static, _ := fs.Sub(staticFS, "static")
	return []route{
		{"GET /static/", http.StripPrefix("/static/", http.FileServerFS(static))},
		{"GET /{$}", s.read(s.today)},
		{"GET /clocks", s.read(s.clocks)},
		{"GET /registrations", s.read(s.registrations)},
		{"POST /registrations", s.change(account.Register, s.addRegistration)},
		{"POST /registrations/{id}/revoke", s.change(account.Register, s.revokeRegistration)},
		{"GET /month", s.read(s.month)},
		{"GET /month.xlsx", s.read(s.monthFile("xlsx"))},
		{"GET /month.csv", s.read(s.monthFile("csv"))},
		{"GET /bulletin", s.read(s.bulletin)},
		{"GET /bulletin.xlsx", s.read(s.bulletinFile("xlsx"))},
		{"GET /bulletin.md", s.read(s.bulletinFile("md"))},
		{"GET /bulletin.docx", s.read(s.noticeDOCX)},
		{"GET /marks", s.read(s.marksPage)},
		{"POST /marks", s.change(account.Mark, s.setMarks)},
		{"POST /marks/import", s.change(account.Mark, s.importMarks)},
		{"GET /findings", s.read(s.findings)},
		{"POST /findings", s.change(account.Finding, s.addFinding)},
		{"POST /findings/{id}/revoke", s.change(account.Finding, s.revokeFinding)},
		{"GET /events", s.read(s.events)},
		{"GET /events/stream", s.read(s.eventStream)},
		{"GET /audit", s.read(s.auditPage)},
		{"GET /login", http.HandlerFunc(s.loginPage)},
		{"POST /login", http.HandlerFunc(s.login)},
		{"POST /logout", s.change("", s.logout)},
	}
}

// Reload makes the console serve through b and a, with o's Site, Calendar, Report, Units, Issuer,
// Prefix and AnonymousRead: what a configuration reload changes. The next request sees them; one
// under way finishes with the old. The sessions, the login throttle, the live feed and the metrics
// carry over, and o's other fields are ignored (the zone, the clock, the logger and the session and
// throttle settings are the daemon's for its life). Not safe for concurrent use with itself.
func (s *Server) Reload(b Backend, a Accounts, o Options) {
	c := *s.live.Load()
	c.b, c.accounts = b, a
	c.o.Site, c.o.Calendar, c.o.Report, c.o.Units = o.Site, o.Calendar, o.Report, o.Units
	c.o.Issuer, c.o.Prefix, c.o.AnonymousRead = o.Issuer, o.Prefix, o.AnonymousRead
	c.feed.setPrefix(o.Prefix)
	c.handlers = handlersOf(&c)
	s.live.Store(&c)
}

// handlersOf are c's route handlers, in the order of routes.
func handlersOf(c *Server) []http.Handler {
	rs := c.routes()
	hs := make([]http.Handler, len(rs))
	for i, rt := range rs {
		hs[i] = rt.h
	}
	return hs
}

// headers sets what every console response carries: no framing, no sniffing, scripts and styles
// from this server only.
func (s *Server) headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// Publish passes a message the publisher sent to the live feed (publish.Options.OnSend).
func (s *Server) Publish(topic string, payload []byte) { s.feed.publish(topic, payload) }
