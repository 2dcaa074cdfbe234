package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/store"
)

func TestLoginAndRoles(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "punchd.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := account.New(db, audit.New(audit.Options{Prefix: "p"}), nil).WithCost(bcrypt.MinCost)
	ctx := context.Background()
	if _, err := s.AddAccount(ctx, "wang", "clerk", "correct horse"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ name, role, pw string }{
		{"", "clerk", "correct horse"}, {"a b", "clerk", "correct horse"}, {"li", "admin", "correct horse"}, {"li", "clerk", "short"},
	} {
		if _, err := s.AddAccount(ctx, bad.name, bad.role, bad.pw); !errors.Is(err, account.ErrInvalid) {
			t.Errorf("AddAccount(%q, %q, %q) = %v, want ErrInvalid", bad.name, bad.role, bad.pw, err)
		}
	}
	a, stored, err := s.Get(ctx, "wang")
	if err != nil || !stored || a.Role != "clerk" {
		t.Fatalf("Get = %+v %v %v", a, stored, err)
	}
	if _, err := s.Login(ctx, "wang", "correct horse"); err != nil {
		t.Errorf("right password: %v", err)
	}
	for _, bad := range [][2]string{{"wang", "wrong horse"}, {"nobody", "correct horse"}} {
		if _, err := s.Login(ctx, bad[0], bad[1]); !errors.Is(err, account.ErrBadLogin) {
			t.Errorf("Login(%q, %q) = %v, want ErrBadLogin", bad[0], bad[1], err)
		}
	}
	if err := s.SetPassword(ctx, "wang", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "wang", "correct horse"); !errors.Is(err, account.ErrBadLogin) {
		t.Errorf("old password after passwd: %v", err)
	}

	for _, c := range []struct {
		role account.Role
		p    account.Permission
		ok   bool
	}{
		{account.Clerk, account.Register, true}, {account.Clerk, account.Mark, true}, {account.Clerk, account.Finding, false},
		{account.Supervisor, account.Finding, true}, {account.Supervisor, account.Register, false},
		{account.Viewer, account.Register, false}, {account.Viewer, account.Mark, false}, {account.Viewer, account.Finding, false},
	} {
		if got := c.role.Can(c.p); got != c.ok {
			t.Errorf("%s.Can(%s) = %v, want %v", c.role, c.p, got, c.ok)
		}
	}
}
