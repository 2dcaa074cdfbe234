// Package systemd_test checks the files in systemd/ with the tools that
// will read them: systemd-analyze (verify and security), systemd-sysusers
// and systemd-tmpfiles, each against a throwaway copy or root.
package systemd_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// requireTool finds a command; under CI=true a missing tool fails the test.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found and CI=true (Debian package systemd)", name)
	}
	t.Skipf("%s not found (Debian package systemd)", name)
	return ""
}

func readUnit(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("punchd.service")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stageUnit writes the unit into a fresh directory, with its ExecStart
// binary (/usr/bin/punchd, absent on a build machine) replaced by
// /bin/true: systemd-analyze verify fails on an ExecStart that is not
// executable, and the binary's contents do not matter to these checks.
// edit, if non-nil, changes the unit text first.
func stageUnit(t *testing.T, edit func(string) string) string {
	t.Helper()
	text := readUnit(t)
	if !strings.Contains(text, "\nExecStart=/usr/bin/punchd ") {
		t.Fatal("ExecStart no longer starts /usr/bin/punchd: update stageUnit")
	}
	text = strings.Replace(text, "\nExecStart=/usr/bin/punchd ", "\nExecStart=/bin/true ", 1)
	if edit != nil {
		text = edit(text)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "punchd.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0", "SYSTEMD_COLORS=0", "LC_ALL=C")
	err := cmd.Run()
	return out.String(), err
}

func TestUnitVerifies(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	out, err := run(t, sa, "verify", "--recursive-errors=no", stageUnit(t, nil))
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestVerifyCatchesMisspelledKey proves the verify check has teeth: the same
// unit with one key misspelled must fail it.
func TestVerifyCatchesMisspelledKey(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	broken := stageUnit(t, func(s string) string {
		return strings.Replace(s, "\nWatchdogSec=", "\nWatchdogSecc=", 1)
	})
	out, err := run(t, sa, "verify", "--recursive-errors=no", broken)
	if err == nil {
		t.Fatalf("verify accepted a misspelled key:\n%s", out)
	}
	if !strings.Contains(out, "WatchdogSecc") {
		t.Fatalf("verify failed without naming the key:\n%s", out)
	}
}

var scoreRE = regexp.MustCompile(`Overall exposure level for punchd\.service: (\d+\.\d)`)

// security runs systemd-analyze security --offline=yes with a threshold.
// The threshold is on the tool's internal scale of tenths (0–100) while the
// score is printed on 0.0–10.0: --threshold=20 fails a score above 2.0
// (checked by hand: a unit scoring 1.3 passed --threshold=13 and failed 12).
func security(t *testing.T, unit string, threshold int) (float64, error) {
	t.Helper()
	sa := requireTool(t, "systemd-analyze")
	out, err := run(t, sa, "security", "--offline=yes", "--threshold="+strconv.Itoa(threshold), "--no-pager", unit)
	m := scoreRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in output (%v):\n%s", err, out)
	}
	score, perr := strconv.ParseFloat(m[1], 64)
	if perr != nil {
		t.Fatal(perr)
	}
	return score, err
}

func TestSecurityScore(t *testing.T) {
	score, err := security(t, stageUnit(t, nil), 20)
	if err != nil || score > 2.0 {
		t.Fatalf("exposure %.1f (want ≤ 2.0), threshold=20 gave %v", score, err)
	}
	t.Logf("systemd-analyze security exposure: %.1f", score)

	// The same gate fails a unit that lost its hardening.
	weak := stageUnit(t, func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "Protect") || strings.HasPrefix(l, "Restrict") ||
				strings.HasPrefix(l, "SystemCall") || strings.HasPrefix(l, "Private") ||
				strings.HasPrefix(l, "CapabilityBoundingSet") {
				continue
			}
			keep = append(keep, l)
		}
		return strings.Join(keep, "\n")
	})
	if score, err := security(t, weak, 20); err == nil || score <= 2.0 {
		t.Fatalf("a unit without hardening scored %.1f and passed the gate (err %v)", score, err)
	}
}

// TestUnitContract pins the settings other parts of punchd rely on.
func TestUnitContract(t *testing.T) {
	text := readUnit(t)
	for _, want := range []string{
		"Type=notify", "NotifyAccess=main", "WatchdogSec=30s", "Restart=on-failure",
		"ExecStart=/usr/bin/punchd --config /etc/punchd/punchd.toml",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"StartLimitIntervalSec=", "StartLimitBurst=", "RestartSec=",
		"User=punchd", "SupplementaryGroups=dialout",
		"StateDirectory=punchd", "ConfigurationDirectory=punchd", "RuntimeDirectory=punchd",
		"ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
		"DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyACM rw", "DeviceAllow=char-ttyS rw",
	} {
		if !strings.Contains(text, "\n"+want) {
			t.Errorf("punchd.service lacks %q", want)
		}
	}
}
