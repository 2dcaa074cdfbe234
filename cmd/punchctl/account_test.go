package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/audit"
)

// ctlStdin runs punchctl as main does (with the local user as the actor), feeding stdin.
func (f *bkFixture) ctlStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--config", f.cfgPath}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAccountCommands(t *testing.T) {
	for _, viaDaemon := range []bool{false, true} {
		name := "offline"
		if viaDaemon {
			name = "via daemon"
		}
		t.Run(name, func(t *testing.T) {
			f := newBkFixture(t)
			if viaDaemon {
				f.serve(t)
			}
			if code, out, errs := f.ctlStdin(t, "correct horse\n", "account", "add", "wang", "--role", "clerk"); code != 0 || out != "account wang added (clerk)\n" {
				t.Fatalf("account add = %d %q %q", code, out, errs)
			}
			if code, _, errs := f.ctlStdin(t, "correct horse\n", "account", "add", "wang", "--role", "viewer"); code != 1 || !strings.Contains(errs, "already exists") {
				t.Errorf("second add of wang = %d %q", code, errs)
			}
			if code, _, errs := f.ctlStdin(t, "short\n", "account", "add", "li", "--role", "viewer"); code != 1 || !strings.Contains(errs, "fewer than 8 characters") {
				t.Errorf("short password = %d %q", code, errs)
			}
			if code, _, errs := f.ctlStdin(t, "long enough\n", "account", "add", "li", "--role", "boss"); code != 1 || !strings.Contains(errs, `role "boss" is not one of clerk, supervisor, viewer`) {
				t.Errorf("bad role = %d %q", code, errs)
			}
			if code, _, errs := f.ctlStdin(t, "", "account", "add", "li"); code != 2 || !strings.Contains(errs, "--role is required") {
				t.Errorf("no role = %d %q", code, errs)
			}
			if code, _, _ := f.ctlStdin(t, "long enough\n", "account", "add", "zhao", "--role", "viewer"); code != 0 {
				t.Fatal("add zhao")
			}
			code, out, errs := f.ctlStdin(t, "", "account", "list", "--json")
			var names []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var a struct{ Name, Role, Hash string }
				if err := json.Unmarshal([]byte(line), &a); err != nil {
					t.Fatalf("account list --json line %q: %v", line, err)
				}
				if a.Hash != "" {
					t.Errorf("account list shows a hash: %q", line)
				}
				names = append(names, a.Name+":"+a.Role)
			}
			if code != 0 || strings.Join(names, ",") != "wang:clerk,zhao:viewer" {
				t.Errorf("account list = %d %v %q", code, names, errs)
			}
			if code, out, errs := f.ctlStdin(t, "another secret\n", "account", "passwd", "zhao"); code != 0 || !strings.Contains(out, "password set") {
				t.Errorf("passwd = %d %q %q", code, out, errs)
			}
			if code, _, errs := f.ctlStdin(t, "", "account", "remove", "nobody"); code != 1 || !strings.Contains(errs, "not found") {
				t.Errorf("remove nobody = %d %q", code, errs)
			}
			if code, _, _ := f.ctlStdin(t, "", "account", "remove", "zhao"); code != 0 {
				t.Error("remove zhao")
			}

			// Every change is in the audit log, with who did it and how.
			code, out, errs = f.ctlStdin(t, "", "audit", "--json")
			if code != 0 {
				t.Fatalf("audit = %d %q", code, errs)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var e audit.Entry
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("audit --json line %q: %v", line, err)
				}
				wantVia := audit.ViaCLI
				if viaDaemon {
					wantVia = audit.ViaAPI
				}
				if e.Via != wantVia || e.Who == "" || e.Who == audit.Unknown.Name || e.At.IsZero() {
					t.Errorf("audit entry %+v: want via %s and a named local user", e, wantVia)
				}
				got = append(got, e.ID+" "+e.Action+" "+e.Target)
			}
			want := "A00000001 account.add wang,A00000002 account.add zhao,A00000003 account.passwd zhao,A00000004 account.remove zhao"
			if strings.Join(got, ",") != want {
				t.Errorf("audit log:\n got %v\nwant %v", got, want)
			}
			code, out, _ = f.ctlStdin(t, "", "audit", "--limit", "1")
			if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "account.remove") {
				t.Errorf("audit --limit 1 = %d %q", code, out)
			}
		})
	}
}
