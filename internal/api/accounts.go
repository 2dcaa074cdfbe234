package api

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/jinbi/punchd/internal/audit"
)

// Accounts is a Backend that manages the web console's accounts and lists the audit log.
// Implementations must be safe for concurrent use.
type Accounts interface {
	AddAccount(ctx context.Context, name, role, password string) (AccountInfo, error)
	Accounts(ctx context.Context) ([]AccountInfo, error)
	SetPassword(ctx context.Context, name, password string) error
	RemoveAccount(ctx context.Context, name string) error
	Audit(ctx context.Context, from, to time.Time, limit int) ([]audit.Entry, error)
}

// AccountInfo is an account without its password hash.
type AccountInfo struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
	Changed time.Time `json:"changed"`
}

// ActorHeader carries the name of the local user running punchctl. The socket is owner-only, so
// whoever can write to it is trusted already; the header says who it was for the audit log.
const ActorHeader = "X-Punchd-Actor"

// withActor puts the caller named by ActorHeader into the request's context for the audit log.
func withActor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.Header.Get(ActorHeader)
		if name == "" {
			name = "local"
		}
		ctx := audit.WithActor(r.Context(), audit.Actor{Name: name, From: "local socket", Via: audit.ViaAPI})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// LocalUser names the user running this process, for ActorHeader and the stopped-store path.
func LocalUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + strconv.Itoa(os.Getuid())
}

func accountRoutes(mux *http.ServeMux, a Accounts, h func(func(r *http.Request) (any, error)) http.HandlerFunc) {
	mux.HandleFunc("GET /v1/accounts", h(func(r *http.Request) (any, error) { return a.Accounts(r.Context()) }))
	mux.HandleFunc("POST /v1/accounts", h(func(r *http.Request) (any, error) {
		var body struct{ Name, Role, Password string }
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return a.AddAccount(r.Context(), body.Name, body.Role, body.Password)
	}))
	mux.HandleFunc("POST /v1/accounts/{name}/password", h(func(r *http.Request) (any, error) {
		var body struct{ Password string }
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return nil, a.SetPassword(r.Context(), r.PathValue("name"), body.Password)
	}))
	mux.HandleFunc("DELETE /v1/accounts/{name}", h(func(r *http.Request) (any, error) {
		return nil, a.RemoveAccount(r.Context(), r.PathValue("name"))
	}))
	mux.HandleFunc("GET /v1/audit", h(func(r *http.Request) (any, error) {
		q := r.URL.Query()
		var from, to time.Time
		var err error
		if s := q.Get("from"); s != "" {
			if from, err = time.Parse(time.RFC3339, s); err != nil {
				return nil, err
			}
		}
		if s := q.Get("to"); s != "" {
			if to, err = time.Parse(time.RFC3339, s); err != nil {
				return nil, err
			}
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		return a.Audit(r.Context(), from, to, limit)
	}))
}

var _ Accounts = (*Client)(nil)

// AddAccount implements Accounts.
func (c *Client) AddAccount(ctx context.Context, name, role, password string) (a AccountInfo, err error) {
	body := struct{ Name, Role, Password string }{name, role, password}
	return a, c.do(ctx, "POST", "/v1/accounts", body, &a)
}

// Accounts implements Accounts.
func (c *Client) Accounts(ctx context.Context) (a []AccountInfo, err error) {
	return a, c.do(ctx, "GET", "/v1/accounts", nil, &a)
}

// SetPassword implements Accounts.
func (c *Client) SetPassword(ctx context.Context, name, password string) error {
	return c.do(ctx, "POST", "/v1/accounts/"+url.PathEscape(name)+"/password", struct{ Password string }{password}, nil)
}

// RemoveAccount implements Accounts.
func (c *Client) RemoveAccount(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/v1/accounts/"+url.PathEscape(name), nil, nil)
}

// Audit implements Accounts.
func (c *Client) Audit(ctx context.Context, from, to time.Time, limit int) (e []audit.Entry, err error) {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("to", to.Format(time.RFC3339))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return e, c.do(ctx, "GET", "/v1/audit?"+q.Encode(), nil, &e)
}
