package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/internal/web"
)

// restartable serves a console that the test can replace by a new one over the same store, as a
// restart of the daemon does, behind the same address (the browser's cookies still apply).
type restartable struct {
	f   *fixture
	cur atomic.Pointer[http.ServeMux]
	srv *httptest.Server
}

func newRestartable(t *testing.T) *restartable {
	r := &restartable{f: newFixture(t, false)}
	r.restart(t, r.f.opts.Now)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.cur.Load().ServeHTTP(w, req) }))
	t.Cleanup(r.srv.Close)
	return r
}

// restart builds a new console (nothing kept in memory) whose clock reads now().
func (r *restartable) restart(t *testing.T, now func() time.Time) {
	o := r.f.opts
	o.Metrics, o.Now = nil, now
	w, err := web.New(r.f.svc, r.f.svc, o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	r.cur.Store(mux)
}

func (r *restartable) browser(t *testing.T) *browser {
	b := r.f.browser(t)
	b.base, b.origin = r.srv.URL, r.srv.URL
	return b
}

// storedSessions lists what the store keeps of the sessions.
func storedSessions(t *testing.T, db *store.DB) map[string]store.Session {
	t.Helper()
	out := map[string]store.Session{}
	if _, err := db.DeleteSessions(func(k string, s store.Session) bool { out[k] = s; return false }); err != nil {
		t.Fatal(err)
	}
	return out
}

func sessionToken(t *testing.T, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "punchd_session" {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// A restart of the daemon does not log the clerk out: the session (its form token too) is kept in
// the store, by the hash of its token only, and ends there with a logout, a password change, the
// account's removal or its timeout.
func TestSessionsSurviveARestart(t *testing.T) {
	r := newRestartable(t)
	clock := r.f.opts.Now
	b := r.browser(t)
	if b.login("clerk1", "correct horse") != http.StatusSeeOther {
		t.Fatal("clerk login refused")
	}
	csrf := b.csrf("/registrations")
	tok := sessionToken(t, b)
	stored := storedSessions(t, r.f.db)
	if len(stored) != 1 {
		t.Fatalf("stored sessions %+v", stored)
	}
	for k, s := range stored {
		if s.Account != "clerk1" || s.Role != "clerk" || strings.Contains(k, tok) || k == tok || s.CSRF != csrf {
			t.Errorf("stored %s: %+v (the token must not be stored)", k, s)
		}
	}

	r.restart(t, clock)
	code, _, hdr := b.post("/registrations", leaveForm(csrf)) // the form from before the restart
	if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/registrations?done=") {
		t.Fatalf("a registration after the restart = %d %s", code, hdr.Get("Location"))
	}
	if regs := r.f.registrations(t); len(regs) != 1 {
		t.Fatalf("registrations %+v", regs)
	}

	// Logout ends it in the store too.
	if code, _, _ := b.post("/logout", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("logout = %d", code)
	}
	if n := len(storedSessions(t, r.f.db)); n != 0 {
		t.Errorf("%d sessions stored after the logout", n)
	}
	r.restart(t, clock)
	if code, _ := b.get("/month"); code != http.StatusSeeOther {
		t.Errorf("GET /month after logout and restart = %d", code)
	}

	// A password change ends the account's stored sessions with it.
	b.login("clerk1", "correct horse")
	other := r.browser(t)
	other.login("viewer1", "battery staple")
	if n := len(storedSessions(t, r.f.db)); n != 2 {
		t.Fatalf("%d sessions stored, want 2", n)
	}
	if err := r.f.svc.WithCost(bcrypt.MinCost).SetPassword(adminCtx(), "clerk1", "a new secret"); err != nil {
		t.Fatal(err)
	}
	if left := storedSessions(t, r.f.db); len(left) != 1 {
		t.Errorf("stored after clerk1's password changed: %+v", left)
	}
	// At once, even within the second of the login (the account's change time is in seconds).
	if code, _ := b.get("/month"); code != http.StatusSeeOther {
		t.Errorf("clerk1 after the password change = %d", code)
	}
	r.restart(t, clock)
	if code, _ := b.get("/month"); code != http.StatusSeeOther {
		t.Errorf("clerk1 after the password change and a restart = %d", code)
	}
	if code, _ := other.get("/month"); code != http.StatusOK {
		t.Errorf("viewer1 after a restart = %d", code)
	}
	// The account's removal ends its sessions.
	if err := r.f.svc.RemoveAccount(adminCtx(), "viewer1"); err != nil {
		t.Fatal(err)
	}
	if left := storedSessions(t, r.f.db); len(left) != 0 {
		t.Errorf("stored after viewer1's removal: %+v", left)
	}

	// Two hours without a request: the session restored after a restart is over, and dropped.
	b.login("clerk1", "a new secret")
	r.restart(t, func() time.Time { return clock().Add(2*time.Hour + time.Minute) })
	if code, _ := b.get("/month"); code != http.StatusSeeOther {
		t.Errorf("an idle session after a restart = %d", code)
	}
	if left := storedSessions(t, r.f.db); len(left) != 0 {
		t.Errorf("stored after the idle timeout: %+v", left)
	}
}
