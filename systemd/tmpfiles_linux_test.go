package systemd_test

// systemd-sysusers and systemd-tmpfiles exist only on Linux, and the owner of what they create is
// read from the Linux stat.

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
)

// TestSysusersAndTmpfiles applies both files to an empty root: the user
// appears and the directories are created owned by it.
func TestSysusersAndTmpfiles(t *testing.T) {
	sysusers := requireTool(t, "systemd-sysusers")
	tmpfiles := requireTool(t, "systemd-tmpfiles")
	if os.Geteuid() != 0 {
		t.Skip("systemd-tmpfiles --root needs root to chown")
	}
	root := t.TempDir()
	here, err := os.Getwd() // with --root, a relative config path is looked up inside the root
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"passwd", "group", "shadow", "gshadow"} {
		if err := os.WriteFile(filepath.Join(root, "etc", f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := run(t, sysusers, "--root="+root, filepath.Join(here, "punchd.sysusers")); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^punchd:x:(\d+):(\d+):[^:]*:/var/lib/punchd:/usr/sbin/nologin$`).FindSubmatch(passwd)
	if m == nil {
		t.Fatalf("no punchd system user in passwd:\n%s", passwd)
	}
	if out, err := run(t, tmpfiles, "--root="+root, "--create", filepath.Join(here, "punchd.tmpfiles")); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	uid, _ := strconv.Atoi(string(m[1]))
	for _, d := range []string{"var/lib/punchd", "var/lib/punchd/reports"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			t.Fatalf("tmpfiles did not create /%s: %v", d, err)
		}
		if fi.Mode().Perm() != 0o750 {
			t.Errorf("/%s mode %v, want 0750", d, fi.Mode().Perm())
		}
		if got := ownerUID(fi); got != uid {
			t.Errorf("/%s owned by uid %d, want punchd (%d)", d, got, uid)
		}
	}
}

func ownerUID(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
