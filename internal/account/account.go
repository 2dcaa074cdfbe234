// Package account owns the web console's users: their roles and what each role may do, their
// passwords (bcrypt hashes, never the password) and the operations on them, which punchctl
// (`punchctl account …`) and the daemon share. Each change is written to the audit log.
//
// It must not serve HTTP (internal/web does) or touch bbolt (the store keeps the accounts).
package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/store"
)

// Role is what an account may do.
type Role string

// The roles, from the least to the most a role may change. Every role reads.
const (
	Viewer     Role = "viewer"     // reads (the 督查室 at large)
	Supervisor Role = "supervisor" // reads and adds findings (督查室)
	Clerk      Role = "clerk"      // reads, records registrations and marks (党政办)
)

// Roles lists the roles in the order they are offered.
var Roles = []Role{Clerk, Supervisor, Viewer}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.TrimSpace(s)); r {
	case Viewer, Supervisor, Clerk:
		return r, nil
	}
	return "", fmt.Errorf("%w: role %q is not one of clerk, supervisor, viewer", ErrInvalid, s)
}

// Permission is one kind of change.
type Permission string

// The changes the web console offers.
const (
	Register Permission = "register" // add or revoke a registration
	Mark     Permission = "mark"     // set a village or station mark
	Finding  Permission = "finding"  // add a finding
)

// Can reports whether the role may make that change.
func (r Role) Can(p Permission) bool {
	switch p {
	case Register, Mark:
		return r == Clerk
	case Finding:
		return r == Supervisor
	}
	return false
}

// Label is the role's name in Chinese.
func (r Role) Label() string {
	switch r {
	case Clerk:
		return "党政办（登记）"
	case Supervisor:
		return "督查室（督查）"
	case Viewer:
		return "查看"
	}
	return string(r)
}

// Sentinel errors.
var (
	// ErrInvalid: a name, role or password that cannot be used.
	ErrInvalid = errors.New("account: invalid")
	// ErrBadLogin: no such account, or the wrong password (deliberately not saying which).
	ErrBadLogin = errors.New("account: wrong name or password")
)

// MinPassword is the shortest password accepted.
const MinPassword = 8

// Info is an account without its hash, as the local API carries it.
type Info = api.AccountInfo

// Store is where accounts are kept (*store.DB).
type Store interface {
	AddAccount(a store.Account, c *store.Change) error
	UpdateAccount(a store.Account, c *store.Change) error
	RemoveAccount(name string, c *store.Change) error
	Account(name string) (store.Account, bool, error)
	Accounts() ([]store.Account, error)
	Audit(from, to time.Time, limit int) ([]audit.Entry, error)
}

// Service implements the local API's account operations, for the daemon and for punchctl on a
// stopped store alike.
var _ api.Accounts = (*Service)(nil)

// Service manages accounts and checks logins. It is safe for concurrent use.
type Service struct {
	db    Store
	audit *audit.Log
	now   func() time.Time
	cost  int
}

// New returns a Service over db recording changes in log. now nil: time.Now.
func New(db Store, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, audit: log, now: now, cost: bcrypt.DefaultCost}
}

// WithCost returns a copy of s hashing at the given bcrypt cost (tests use bcrypt.MinCost).
func (s *Service) WithCost(cost int) *Service {
	c := *s
	c.cost = cost
	return &c
}

func checkName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: name %q must be 1 to 64 characters", ErrInvalid, name)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == ':' {
			return fmt.Errorf("%w: name %q has a space, a control character or a colon", ErrInvalid, name)
		}
	}
	return nil
}

func checkPassword(pw string) error {
	if len([]rune(pw)) < MinPassword {
		return fmt.Errorf("%w: the password has fewer than %d characters", ErrInvalid, MinPassword)
	}
	if len(pw) > 72 { // bcrypt reads no further
		return fmt.Errorf("%w: the password is longer than 72 bytes", ErrInvalid)
	}
	return nil
}

// AddAccount creates an account.
func (s *Service) AddAccount(ctx context.Context, name, roleName, password string) (Info, error) {
	if err := checkName(name); err != nil {
		return Info{}, err
	}
	role, err := ParseRole(roleName)
	if err != nil {
		return Info{}, err
	}
	if err := checkPassword(password); err != nil {
		return Info{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return Info{}, fmt.Errorf("account %s: hash password: %w", name, err)
	}
	now := s.now().Truncate(time.Second)
	a := store.Account{Name: name, Role: string(role), Hash: hash, Created: now, Changed: now}
	if err := s.audit.Change(ctx, audit.AccountAdd, name, "role "+string(role), func(n []audit.Note) error { return s.db.AddAccount(a, &store.Change{Audit: n}) }); err != nil {
		return Info{}, err
	}
	return info(a), nil
}

// SetPassword sets an account's password; sessions opened before are ended.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	a, ok, err := s.db.Account(name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("account %q: %w", name, store.ErrNotFound)
	}
	if a.Hash, err = bcrypt.GenerateFromPassword([]byte(password), s.cost); err != nil {
		return fmt.Errorf("account %s: hash password: %w", name, err)
	}
	a.Changed = s.now().Truncate(time.Second)
	return s.audit.Change(ctx, audit.AccountPasswd, name, "password changed", func(n []audit.Note) error { return s.db.UpdateAccount(a, &store.Change{Audit: n}) })
}

// RemoveAccount deletes an account; its sessions end with it.
func (s *Service) RemoveAccount(ctx context.Context, name string) error {
	return s.audit.Change(ctx, audit.AccountRemove, name, "", func(n []audit.Note) error { return s.db.RemoveAccount(name, &store.Change{Audit: n}) })
}

// Accounts returns the accounts by name.
func (s *Service) Accounts(ctx context.Context) ([]Info, error) {
	all, err := s.db.Accounts()
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(all))
	for i, a := range all {
		out[i] = info(a)
	}
	return out, nil
}

// Audit returns the audit log's entries in [from, to) (zero: open), at most the newest limit (0: all).
func (s *Service) Audit(ctx context.Context, from, to time.Time, limit int) ([]audit.Entry, error) {
	return s.db.Audit(from, to, limit)
}

// Get returns one account.
func (s *Service) Get(ctx context.Context, name string) (Info, bool, error) {
	a, ok, err := s.db.Account(name)
	return info(a), ok, err
}

// dummyHash is compared against when the name is unknown, so a login takes as long either way.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password anyone has"), bcrypt.DefaultCost)

// Login checks a name and password; ErrBadLogin when either is wrong.
func (s *Service) Login(ctx context.Context, name, password string) (Info, error) {
	a, ok, err := s.db.Account(name)
	if err != nil {
		return Info{}, err
	}
	hash := a.Hash
	if !ok {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return Info{}, ErrBadLogin
	}
	return info(a), nil
}

func info(a store.Account) Info {
	return Info{Name: a.Name, Role: a.Role, Created: a.Created, Changed: a.Changed}
}
