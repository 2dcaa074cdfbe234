package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/store"
)

// Cookie names.
const (
	sessionCookie = "punchd_session"
	loginCookie   = "punchd_login" // the login form's CSRF token (double submit), before any session
	csrfField     = "csrf"
)

// session is one logged-in browser. The cookie carries a random token; the server keeps only its
// hash, so a leaked memory dump, log line or store file does not hand out sessions.
type session struct {
	account string
	role    account.Role
	csrf    string
	from    string
	created time.Time
	seen    time.Time
	saved   time.Time // seen as last written to the store
}

// SessionStore keeps the console's sessions across restarts of the daemon (*store.DB), under the
// hash of their token. The store ends an account's sessions when its password changes or it is
// removed; identify checks that at every request anyway.
type SessionStore interface {
	PutSession(key string, s store.Session) error
	Session(key string) (store.Session, bool, error)
	DeleteSessions(drop func(key string, s store.Session) bool) (int, error)
}

// saveSeenEvery is how stale a stored session's last request may be: a session is written at
// login and then at most this often, not at every request. After a restart it may therefore
// time out this much earlier than it would have.
const saveSeenEvery = time.Minute

// sessions are kept in memory and, with a SessionStore, in the store too: a restart of punchd (or
// the night's power cut) does not log the office out.
type sessions struct {
	mu   sync.Mutex
	m    map[string]*session // sha256(token) hex -> session
	ttl  time.Duration       // absolute lifetime
	idle time.Duration       // lifetime without a request
	db   SessionStore        // nil: memory only
	log  *slog.Logger
}

func newSessions(ttl, idle time.Duration, db SessionStore, log *slog.Logger) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, idle: idle, db: db, log: log}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenKey(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func (ss *session) stored() store.Session {
	return store.Session{Account: ss.account, Role: string(ss.role), CSRF: ss.csrf, From: ss.from, Created: ss.created, Seen: ss.seen}
}

// open starts a session and returns its token; with a store, the session is stored before the
// browser gets its cookie.
func (s *sessions) open(a account.Info, from string, now time.Time) (string, error) {
	tok := randomToken()
	ss := &session{account: a.Name, role: account.Role(a.Role), csrf: randomToken(), from: from, created: now, seen: now, saved: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m { // sweep expired ones; there are a handful of users
		if s.expired(v.created, v.seen, now) {
			delete(s.m, k)
		}
	}
	if s.db != nil {
		if _, err := s.db.DeleteSessions(func(_ string, v store.Session) bool { return s.expired(v.Created, v.Seen, now) }); err != nil {
			return "", fmt.Errorf("web console: sessions: %w", err)
		}
		if err := s.db.PutSession(tokenKey(tok), ss.stored()); err != nil {
			return "", fmt.Errorf("web console: sessions: %w", err)
		}
	}
	s.m[tokenKey(tok)] = ss
	return tok, nil
}

func (s *sessions) expired(created, seen, now time.Time) bool {
	return now.Sub(created) > s.ttl || now.Sub(seen) > s.idle
}

// get returns the live session for tok: with a store, the one it holds (stored before a restart,
// or not any more: ended by a password change or the account's removal); else the one in memory.
func (s *sessions) get(tok string, now time.Time) (session, bool) {
	if tok == "" {
		return session{}, false
	}
	k := tokenKey(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[k]
	if s.db != nil { // the store is the truth: it ends an account's sessions with its password
		switch v, found, err := s.db.Session(k); {
		case err != nil:
			s.log.Error("read a stored session", "err", err) // the one in memory, if any, stands
		case !found:
			delete(s.m, k)
			return session{}, false
		case !ok:
			ss = &session{account: v.Account, role: account.Role(v.Role), csrf: v.CSRF, from: v.From, created: v.Created, seen: v.Seen, saved: v.Seen}
			s.m[k], ok = ss, true
		}
	}
	if !ok {
		return session{}, false
	}
	if s.expired(ss.created, ss.seen, now) {
		s.drop(k)
		return session{}, false
	}
	ss.seen = now
	if s.db != nil && now.Sub(ss.saved) >= saveSeenEvery {
		if err := s.db.PutSession(k, ss.stored()); err != nil {
			s.log.Error("store a session's last request", "err", err) // it lives on in memory
		} else {
			ss.saved = now
		}
	}
	return *ss, true
}

// close ends the session of tok.
func (s *sessions) close(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(tokenKey(tok))
}

// drop forgets the session under key, in memory and in the store. Called with mu held.
func (s *sessions) drop(k string) {
	delete(s.m, k)
	if s.db == nil {
		return
	}
	if _, err := s.db.DeleteSessions(func(key string, _ store.Session) bool { return key == k }); err != nil {
		s.log.Error("delete a stored session", "err", err)
	}
}

// limiter throttles failed logins per client address and per account name: a bucket of Burst
// failures refilled at one per Refill. A throttled attempt is refused before the password is
// looked at.
type limiter struct {
	mu     sync.Mutex
	burst  float64
	refill time.Duration
	b      map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(burst int, refill time.Duration) *limiter {
	return &limiter{burst: float64(burst), refill: refill, b: map[string]*bucket{}}
}

func (l *limiter) level(key string, now time.Time) *bucket {
	b, ok := l.b[key]
	if !ok {
		if len(l.b) > 10000 { // a flood of addresses: forget the full buckets
			for k, v := range l.b {
				if v.tokens >= l.burst {
					delete(l.b, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.b[key] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.refill))
		b.last = now
	}
	return b
}

// allow reports whether an attempt for all keys may go ahead.
func (l *limiter) allow(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if l.level(k, now).tokens < 1 {
			return false
		}
	}
	return true
}

// fail takes one token from each key.
func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.level(k, now).tokens--
	}
}

// clientAddr is the request's remote host (no port): what the audit log records as "from".
func clientAddr(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// sameOrigin checks that a state-changing request comes from a page of this console: its Origin
// (or, when a browser sends none, its Referer) must be this host. A request naming neither is
// refused: every browser that can submit the console's forms sends one.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && u.Host == r.Host
}

func equalToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// user is the request's logged-in account, if any.
type user struct {
	session
	token string
}

type userKey struct{}

func userFrom(ctx context.Context) (user, bool) {
	u, ok := ctx.Value(userKey{}).(user)
	return u, ok
}

// identify attaches the request's session (when its cookie names a live one whose account still
// exists with the same password) to the context.
func (s *Server) identify(r *http.Request) *http.Request {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return r
	}
	ss, ok := s.sessions.get(c.Value, s.now())
	if !ok {
		return r
	}
	a, exists, err := s.accounts.Get(r.Context(), ss.account)
	if err != nil || !exists || a.Changed.After(ss.created) || account.Role(a.Role) != ss.role {
		s.sessions.close(c.Value) // removed, password changed or role changed since the login
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), userKey{}, user{session: ss, token: c.Value}))
}

// errors a change can be refused with, each with its status.
var (
	errNoSession  = errors.New("请先登录：修改需要登录")
	errBadOrigin  = errors.New("请求来源不是本系统页面，已拒绝")
	errBadCSRF    = errors.New("表单已失效（CSRF 校验未通过），请刷新页面后重试")
	errNotAllowed = errors.New("当前账号的角色无权进行此操作")
)

// read wraps a page: with anonymous reading off, a visitor without a session is sent to log in.
func (s *Server) read(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r = s.identify(r)
		if _, ok := userFrom(r.Context()); !ok && !s.o.AnonymousRead {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r)
	}
}

// change wraps a state-changing POST: same origin (403), a session (401), the session's CSRF
// token (403) and a role with the permission (403), in that order; then the handler runs with the
// account as the audit log's actor.
func (s *Server) change(p account.Permission, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r = s.identify(r)
		u, ok := userFrom(r.Context())
		var refuse error
		status := http.StatusForbidden
		switch {
		case !sameOrigin(r):
			refuse = errBadOrigin
		case !ok:
			refuse, status = errNoSession, http.StatusUnauthorized
		case !equalToken(r.PostFormValue(csrfField), u.csrf):
			refuse = errBadCSRF
		case p != "" && !u.role.Can(p):
			refuse = errNotAllowed
		}
		if refuse != nil {
			s.log.Warn("change refused", "path", r.URL.Path, "from", clientAddr(r), "account", u.account, "status", status, "err", refuse)
			s.metrics.refused.WithLabelValues(refusalReason(refuse)).Inc()
			s.errorPage(w, r, status, refuse)
			return
		}
		ctx := audit.WithActor(r.Context(), audit.Actor{Name: u.account, Role: string(u.role), From: clientAddr(r), Via: audit.ViaWeb})
		h(w, r.WithContext(ctx))
	}
}

func refusalReason(err error) string {
	switch err {
	case errNoSession:
		return "session"
	case errBadOrigin:
		return "origin"
	case errBadCSRF:
		return "csrf"
	}
	return "role"
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// loginPage shows the form with a fresh double-submit token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken()
	s.setCookie(w, r, loginCookie, tok, 600)
	next := r.FormValue("next")
	if !localPath(next) {
		next = "/"
	}
	s.render(w, r, status, "login", "登录", map[string]any{"LoginCSRF": tok, "Next": next, "Error": msg})
}

// localPath accepts only a path on this site as the page to return to after login.
func localPath(p string) bool {
	return len(p) > 0 && p[0] == '/' && (len(p) == 1 || (p[1] != '/' && p[1] != '\\'))
}

// login checks the form; failures are throttled per address and per name and counted.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	if !sameOrigin(r) {
		s.metrics.logins.WithLabelValues("refused").Inc()
		s.errorPage(w, r, http.StatusForbidden, errBadOrigin)
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equalToken(r.PostFormValue(csrfField), c.Value) {
		s.metrics.logins.WithLabelValues("refused").Inc()
		s.renderLogin(w, r, http.StatusForbidden, errBadCSRF.Error())
		return
	}
	name := r.PostFormValue("name")
	keys := []string{"addr " + clientAddr(r), "name " + name}
	if !s.limit.allow(now, keys...) {
		s.metrics.logins.WithLabelValues("throttled").Inc()
		s.log.Warn("login throttled", "name", name, "from", clientAddr(r))
		w.Header().Set("Retry-After", "60")
		s.renderLogin(w, r, http.StatusTooManyRequests, "登录失败次数过多，请稍后再试")
		return
	}
	a, err := s.accounts.Login(r.Context(), name, r.PostFormValue("password"))
	if err != nil {
		if errors.Is(err, account.ErrBadLogin) {
			s.limit.fail(now, keys...)
			s.metrics.logins.WithLabelValues("bad").Inc()
			s.log.Warn("login failed", "name", name, "from", clientAddr(r))
			s.renderLogin(w, r, http.StatusUnauthorized, "用户名或密码错误")
			return
		}
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	tok, err := s.sessions.open(a, clientAddr(r), now)
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	s.setCookie(w, r, sessionCookie, tok, int(s.sessions.ttl/time.Second))
	s.setCookie(w, r, loginCookie, "", -1)
	s.log.Info("login", "account", a.Name, "role", a.Role, "from", clientAddr(r))
	next := r.PostFormValue("next")
	if !localPath(next) {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session (a change like any other: same origin and CSRF token).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if u, ok := userFrom(r.Context()); ok {
		s.sessions.close(u.token)
	}
	s.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
