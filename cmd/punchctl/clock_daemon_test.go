package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/testproc"
)

// While punchd runs and holds the clock, `clock info|users|dump|time` go through its socket and
// run on its connection (CONNECTs on the clock do not change): the same output as when they
// connect themselves, the same flags, and --set sets the clock. Stdout and stderr are compared
// byte for byte (the commands' time is fixed, so the final count's duration is too): dump's
// progress line on a terminal, its final count and its note of damaged records it skipped, and
// users' user_id_hex for ids that are not text. -v logs the chunks on both paths.
func TestClockCommandsThroughTheDaemon(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	hostNow := time.Date(2026, 3, 10, 11, 0, 0, 0, loc)
	data := simData(t, 30, 30) // two chunks of READ_BUFFER over TCP
	data.Users = append(data.Users, zksim.User{UID: 90, UserID: "X\xff", Name: "张三"}, zksim.User{UID: 91, UserID: "X\xfe", Name: "李四"})
	sim, url := startSim(t, zksim.Config{Data: data, Now: func() time.Time { return hostNow }, Offset: 5 * time.Minute})
	if err := sim.AppendBadDates(zksim.Year2000, 2); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "pctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "punchd.sock")
	cfgPath := writeFile(t, dir, "punchd.toml", fmt.Sprintf(`
[site]
name = "jinbi"
timezone = "Asia/Shanghai"
roster = ""
[store]
path = %q
[api]
socket = %q
[http]
listen = "127.0.0.1:0"
[mqtt]
broker = "tcp://127.0.0.1:1"
topic_prefix = "punchd/jinbi"
[[clock]]
name = "main"
url = %q
max_offset = "0s"
realtime = false
`, filepath.Join(dir, "punchd.db"), sock, url))
	if _, err := config.Load(cfgPath); err != nil {
		t.Fatal(err)
	}
	// ctl runs a command with stderr on a terminal (a pty), as an operator at a console has it.
	ctl := func(args ...string) (string, string) {
		t.Helper()
		ptm, pts, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptm.Close()
		got := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(ptm) // ends with EIO once the terminal's side is closed
			got <- b
		}()
		var out bytes.Buffer
		level := new(slog.LevelVar)
		level.Set(slog.LevelError)
		e := &env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: pts, ConfigPath: cfgPath, ConfigSet: true,
			Now: func() time.Time { return hostNow }, level: level,
			Logger: slog.New(slog.NewTextHandler(pts, &slog.HandlerOptions{Level: level}))}
		c, rest, ok := lookup(args)
		if !ok {
			t.Fatalf("no command %q", args)
		}
		var errb bytes.Buffer
		code := exitCode(c, e.runCommand(context.Background(), c, rest), &errb)
		pts.Close()
		stderr := string(<-got) + errb.String()
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		return out.String(), stderr
	}
	commands := [][]string{
		{"clock", "info", "--clock", "main"},
		{"clock", "info", "--clock", "main", "--json"},
		{"clock", "users", "--clock", "main"},
		{"clock", "users", "--clock", "main", "--text"},
		{"clock", "dump", "--clock", "main"},
		{"clock", "dump", "--clock", url, "--text", "--timeout", "3s"}, // by URL: the config names it
		{"clock", "time", "--clock", "main", "--json"},
	}
	direct := make([][2]string, len(commands))
	for i, args := range commands {
		out, errs := ctl(args...)
		if strings.Contains(errs, "via daemon") {
			t.Fatalf("%v went through a daemon that does not run: %s", args, errs)
		}
		direct[i] = [2]string{out, errs}
	}
	// What the direct path shows is what the daemon's must match.
	users, dump := direct[2][0], direct[4][1]
	if !strings.Contains(users, `"user_id_hex":"58ff"`) || !strings.Contains(users, `"user_id_hex":"58fe"`) {
		t.Errorf("clock users directly: no user_id_hex for the ids that are not text:\n%s", users)
	}
	for _, want := range []string{"\r\x1b[K1636/", " records\r\x1b[K", "\r\x1b[Kclock " + url + ": skipped 2 records that cannot be punches", " records in 0s (2 skipped)\r\n"} {
		if !strings.Contains(dump, want) {
			t.Errorf("clock dump directly: stderr %q does not show %q", dump, want)
		}
	}
	if _, errs := ctl("clock", "dump", "--clock", "main", "-v"); !strings.Contains(errs, "chunk read") {
		t.Errorf("clock dump -v directly: no chunk logged: %q", errs)
	}

	startPunchd(t, cfgPath)
	waitUp(t, sock)
	connects := sim.Stats().Connects
	for i, args := range commands {
		out, errs := ctl(args...)
		rest, ok := strings.CutPrefix(errs, "punchctl: via daemon socket "+sock+"\r\n")
		if !ok {
			t.Errorf("%v: stderr %q, want it to say it went through the daemon", args, errs)
		}
		if out != direct[i][0] {
			t.Errorf("%v through the daemon:\n%s\nconnecting directly:\n%s", args, out, direct[i][0])
		}
		if rest != direct[i][1] {
			t.Errorf("%v through the daemon, stderr:\n%q\nconnecting directly:\n%q", args, rest, direct[i][1])
		}
	}
	if _, errs := ctl("clock", "dump", "--clock", "main", "-v"); !strings.Contains(errs, "chunk read") || !strings.Contains(errs, "via=daemon") {
		t.Errorf("clock dump -v through the daemon: no chunk logged: %q", errs)
	}
	out, _ := ctl("clock", "time", "--clock", "main", "--set", "--json")
	if !strings.Contains(out, `"offset_seconds":0,"set":true`) || !strings.Contains(out, `"offset_seconds_before":300`) {
		t.Errorf("clock time --set through the daemon: %s", out)
	}
	if off := sim.Offset(); off != 0 {
		t.Errorf("the clock's offset is %v after --set, want 0", off)
	}
	if n := sim.Stats().Connects; n != connects {
		t.Errorf("the commands connected to the clock %d times beside the daemon, want 0", n-connects)
	}
}

// startPunchd builds punchd and runs it on the config at path until the test ends (SIGTERM, then
// it must exit 0): the real daemon the commands talk to over its socket.
func startPunchd(t *testing.T, path string) {
	t.Helper()
	bin := buildPunchd(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = testproc.DieWithParent()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil || t.Failed() {
			t.Logf("punchd: %v\n%s", err, logs.String())
		}
	})
}

// buildPunchd builds the daemon for a test and returns the binary's path.
func buildPunchd(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the daemon binary")
	}
	bin := filepath.Join(t.TempDir(), "punchd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/jinbi/punchd/cmd/punchd").CombinedOutput(); err != nil {
		t.Fatalf("go build punchd: %v\n%s", err, out)
	}
	return bin
}

// waitUp waits until the daemon at sock has its clock up.
func waitUp(t *testing.T, sock string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := api.Dial(context.Background(), sock); err == nil {
			if st, err := c.Status(context.Background()); err == nil && len(st.Clocks) == 1 && st.Clocks[0].Up && !st.Clocks[0].LastPull.IsZero() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon's clock is not up after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
