package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jinbi/punchd/internal/buildinfo"
)

// runCmd runs punchctl in-process and returns exit code, stdout and stderr.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		inOut   string // substring of stdout
		inErr   string // substring of stderr
		errLine bool   // stderr is exactly one line
	}{
		{"no args", nil, 2, "", "usage: punchctl", false},
		{"help", []string{"help"}, 0, "clock dump", "", false},
		{"help command", []string{"help", "clock", "dump"}, 0, "usage: punchctl clock dump --clock URL", "", false},
		{"-h", []string{"-h"}, 0, "judge", "", false},
		{"help group", []string{"help", "clock"}, 0, "punchctl clock time --clock URL|NAME", "", false},
		{"group -h", []string{"clock", "-h"}, 0, "punchctl clock users --clock URL|NAME", "", false},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`, false},
		{"group without word", []string{"clock"}, 2, "", "punchctl clock: want one of: dump, info, time, users", true},
		{"unknown word", []string{"clock", "erase"}, 2, "", "punchctl clock: want one of:", true},
		{"command -h", []string{"clock", "dump", "-h"}, 0, "-comm-key", "", false},
		{"missing required flag", []string{"clock", "dump"}, 2, "", "punchctl clock dump: --clock URL is required", false},
		{"bad flag", []string{"judge", "--punch", "x"}, 2, "", "punchctl judge: flag provided but not defined: -punch", false},
		{"bad global flag", []string{"--loud", "judge"}, 2, "", "flag provided but not defined: -loud", false},
		{"verbose is a global flag", []string{"--verbose", "frobnicate"}, 2, "", `unknown command "frobnicate"`, false},
		{"-v is a global flag", []string{"-v", "clock", "dump"}, 2, "", "punchctl clock dump: --clock URL is required", false},
		{"-v on a command", []string{"clock", "dump", "-v"}, 2, "", "punchctl clock dump: --clock URL is required", false},
		{"usage names -v", []string{"help"}, 0, "[-v|--verbose]", "", false},
		{"unexpected arg", []string{"clock", "info", "--clock", "zk+tcp://127.0.0.1:1", "extra"}, 2, "", `unexpected argument "extra"`, false},
		{"backup needs path", []string{"backup"}, 2, "", "want one PATH", false},
		{"comm key range", []string{"clock", "info", "--clock", "zk+tcp://127.0.0.1:1", "--comm-key", "4294967296"}, 2, "", "--comm-key 4294967296 is not in 0..4294967295", false},
		{"bad tz", []string{"clock", "dump", "--clock", "zk+tcp://127.0.0.1:1", "--tz", "Asia/Nowhere"}, 2, "", `--tz "Asia/Nowhere" is not a known time zone`, false},
		{"version", []string{"version"}, 0, "punchctl " + buildinfo.Read().String() + "\n", "", false},
		{"--version", []string{"--version"}, 0, "punchctl " + buildinfo.Read().String() + "\n", "", false},
		{"version takes no argument", []string{"version", "x"}, 2, "", `unexpected argument "x"`, false},
		{"unknown scheme", []string{"clock", "info", "--clock", "http://127.0.0.1:1"}, 1, "", "punchctl clock info: clock http://127.0.0.1:1: connect: device: unknown clock URL scheme", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tt.args...)
			if code != tt.code || !strings.Contains(out, tt.inOut) || !strings.Contains(errs, tt.inErr) {
				t.Errorf("run %q = %d\nstdout: %s\nstderr: %s\nwant %d, stdout with %q, stderr with %q", tt.args, code, out, errs, tt.code, tt.inOut, tt.inErr)
			}
			if tt.errLine && strings.Count(errs, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", errs)
			}
		})
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	e := &env{ConfigPath: "default"}
	fs := e.newFlags("backup")
	e.configFlag(fs)
	pos, err := e.parseFlags(fs, "backup", []string{"out.db", "--config", "x.toml", "--", "-odd"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 2 || pos[0] != "out.db" || pos[1] != "-odd" || e.ConfigPath != "x.toml" || !e.ConfigSet {
		t.Errorf("pos %q config %q set %v", pos, e.ConfigPath, e.ConfigSet)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", "[site]\nname = \"dongcun\"\nroster = \"\"\n")
	code, out, errs := runCmd(t, "", "--config", good, "config", "check")
	if code != 0 || !strings.Contains(out, "ok (site dongcun, Asia/Shanghai, 1 schedule(s), 0 clock(s), no roster: everyone on the clocks is clock-tracked)") {
		t.Errorf("good config: %d %q %q", code, out, errs)
	}
	rosterPath := writeFile(t, dir, "roster.csv", "工号,姓名,职务,单位,考勤方式\n1,a,b,c,打卡\n2,d,e,f,包村\n")
	withRoster := writeFile(t, dir, "roster.toml", "[site]\nroster = \""+rosterPath+"\"\n")
	code, out, errs = runCmd(t, "", "--config", withRoster, "config", "check")
	if code != 0 || !strings.Contains(out, "roster of 2)") {
		t.Errorf("config with roster: %d %q %q", code, out, errs)
	}
	missing := writeFile(t, dir, "missing.toml", "[site]\nroster = \""+dir+"/none.csv\"\n")
	code, _, errs = runCmd(t, "", "--config", missing, "config", "check")
	if code != 1 || !strings.Contains(errs, "site.roster: roster: open "+dir+"/none.csv: no such file or directory") {
		t.Errorf("missing roster: %d %q", code, errs)
	}
	bad := writeFile(t, dir, "bad.toml", "[site]\nnmae = \"x\"\n[rules]\ngrace = \"soon\"\n")
	code, _, errs = runCmd(t, "", "config", "check", "--config", bad)
	if code != 1 || !strings.Contains(errs, bad+": site.nmae: unknown key\n") || !strings.Contains(errs, bad+": rules.grace: \"soon\" is not a duration") {
		t.Errorf("bad config: %d %q", code, errs)
	}
}

// TestConfigCheckAsStartup: every config punchd refuses at start, config check refuses too, with
// the same message: a missing password_file, TLS files with a tcp:// broker, a serial clock URL
// whose baud is not a number, an empty file.
func TestConfigCheckAsStartup(t *testing.T) {
	dir := t.TempDir()
	base := "[site]\nroster = \"\"\n[store]\npath = \"" + dir + "/s.db\"\n[http]\nlisten = \"\"\n[api]\nsocket = \"" + dir + "/p.sock\"\n[reports]\ndir = \"" + dir + "/r\"\n"
	cases := []struct {
		name, toml, want string
	}{
		{"password file", base + "[mqtt]\npassword_file = \"" + dir + "/none.pw\"\n", "mqtt.password_file: open " + dir + "/none.pw: no such file or directory"},
		{"ca file with tcp", base + "[mqtt]\nbroker = \"tcp://127.0.0.1:1883\"\nca_file = \"" + dir + "/ca.pem\"\n", `mqtt.ca_file: TLS files are set but broker "tcp://127.0.0.1:1883" is not one of ssl, tls, wss, mqtts`},
		{"serial baud", base + "[[clock]]\nname = \"c\"\nurl = \"zk+serial:///dev/ttyS0?baud=abc\"\n", `clock[0].url: "zk+serial:///dev/ttyS0?baud=abc": baud="abc" is not a positive number`},
		{"empty", "", "the file is empty"},
	}
	punchd := buildPunchd(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".toml", tc.toml)
			code, out, errs := runCmd(t, "", "--config", path, "config", "check")
			if code != 1 || out != "" || !strings.Contains(errs, tc.want) {
				t.Errorf("config check: exit %d stdout %q stderr %q, want 1 and %q", code, out, errs, tc.want)
			}
			// What punchd says at start.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			said, err := exec.CommandContext(ctx, punchd, "--config", path).CombinedOutput()
			if err == nil || !strings.Contains(string(said), tc.want) {
				t.Errorf("punchd at start: %v %s, want %q", err, said, tc.want)
			}
		})
	}
}

// TestRunCommandClosesAtEnd: what a command opened is closed when it ends, last opened first,
// whether it failed or not; a close that fails is the error of a command that did not.
func TestRunCommandClosesAtEnd(t *testing.T) {
	errClose := errors.New("close failed")
	errRun := errors.New("run failed")
	for _, tc := range []struct {
		run, close, want error
	}{
		{nil, nil, nil},
		{nil, errClose, errClose},
		{errRun, errClose, errRun},
	} {
		var closed []string
		c := command{Name: "x", Run: func(ctx context.Context, e *env, args []string) error {
			e.atEnd(func() error { closed = append(closed, "first"); return tc.close })
			e.atEnd(func() error { closed = append(closed, "second"); return nil })
			return tc.run
		}}
		e := &env{}
		if err := e.runCommand(context.Background(), c, nil); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("run %v, close %v: got %v, want %v", tc.run, tc.close, err, tc.want)
		}
		if strings.Join(closed, " ") != "second first" {
			t.Errorf("closed %q, want second then first", closed)
		}
		if len(e.closers) != 0 {
			t.Errorf("%d closer(s) left after the command", len(e.closers))
		}
	}
}
