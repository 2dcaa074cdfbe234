package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/internal/testlog"
	"github.com/jinbi/punchd/internal/testproc"
)

// TestTailReadsExactRealBinaries is issue 12's acceptance of the tail reads, from outside: the
// real punchd polls the real zkclock (over TCP, then over UDP), and after each thing that happens
// to a clock's log the store holds exactly the punches the clock ever held, each once: the log
// grown, the connection dropped in the middle of a tail read, the log cleared, and the log cleared
// and refilled past its old length. The clock is restarted on the same address with each new log
// (as a clock is power-cycled), so the daemon reads it on a new connection from the mark it stored.
func TestTailReadsExactRealBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon and the simulated clock")
	}
	dir := t.TempDir()
	bins := map[string]string{"punchd": buildCommand(t, dir, "punchd"), "zkclock": buildCommand(t, dir, "zkclock")}
	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel() // most of the time is waiting on the clock's restarts
			tailAcceptance(t, bins, transport)
		})
	}
}

// tailLog builds the clock's successive logs: records of 20 people, one a minute from a start, so
// that two batches from different starts never share a punch.
type tailLog struct {
	users []zksim.User
	loc   *time.Location
}

func (l tailLog) records(n int, from time.Time) []zksim.Record {
	out := make([]zksim.Record, n)
	for i := range out {
		out[i] = zksim.Record{UserID: l.users[i%len(l.users)].UserID, Time: from.Add(time.Duration(i) * time.Minute), State: uint8(i % 2), Verify: 1}
	}
	return out
}

func tailAcceptance(t *testing.T, bins map[string]string, transport string) {
	dir := t.TempDir()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	gen, err := zksim.Generate(zksim.GenConfig{People: 20, Records: 1, Seed: 3, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	logs := tailLog{users: gen.Users, loc: loc}
	day := func(d int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, loc).AddDate(0, 0, d) }
	addr := freeAddr(t, transport)

	// Every punch the clock ever held, by key; the store must end with exactly these.
	want := map[string]bool{}
	var clock *exec.Cmd
	phase := 0
	// serve restarts the clock on addr holding records, with extra zkclock flags.
	serve := func(records []zksim.Record, flags ...string) {
		t.Helper()
		if clock != nil {
			stopProcess(t, clock)
		}
		phase++
		sim, err := zksim.New(zksim.Config{Data: zksim.Data{Users: logs.users, Records: records}, Location: loc, Serial: "TAIL0001"})
		if err != nil {
			t.Fatal(err)
		}
		truth := filepath.Join(dir, fmt.Sprintf("log%d.json", phase))
		if err := zksim.WriteTruthFile(truth, sim.Truth()); err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			want[punchKey(r.UserID, r.Time, r.State, r.Verify)] = true
		}
		args := []string{"--load", truth, "--tz", "Asia/Shanghai", "--tcp", "", "--udp", "", "--" + transport, addr}
		clock = startZkclock(t, bins["zkclock"], append(args, flags...))
	}

	var records []zksim.Record
	records = logs.records(3000, day(0))
	serve(records)

	sock := filepath.Join(shortTempDir(t), "punchd.sock")
	cfg := config.Default()
	cfg.Site.Name, cfg.Site.Timezone, cfg.Site.Roster = "tail", "Asia/Shanghai", ""
	cfg.Site.EventsSince = config.Date(attendance.Date{Year: 2026, Month: 1, Day: 1})
	cfg.Store.Path = filepath.Join(dir, "punchd.db")
	cfg.API.Socket = sock
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Reports.Dir = filepath.Join(dir, "reports")
	cfg.MQTT.Broker, cfg.MQTT.TopicPrefix = "tcp://127.0.0.1:1", "punchd/tail" // no broker: the store is what is checked
	c := config.DefaultClock()
	c.Name, c.URL, c.PollInterval, c.Realtime = "dangzhengban", "zk+"+transport+"://"+addr, config.Duration(time.Second), false
	c.Timeout = config.Duration(2 * time.Second)
	cfg.Clock = []config.Clock{c}
	cfgPath := filepath.Join(dir, "punchd.toml")
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var logsBuf testlog.Buffer
	daemon := exec.Command(bins["punchd"], "--config", cfgPath)
	daemon.Stdout, daemon.Stderr = &logsBuf, &logsBuf
	daemon.SysProcAttr = testproc.DieWithParent()
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopProcess(t, daemon)
		if clock != nil {
			stopProcess(t, clock)
		}
		if t.Failed() {
			t.Logf("punchd:\n%s", logsBuf.String())
		}
	})

	// The record bytes moved by the daemon's committed pulls, from its metrics.
	var metricsAddr string
	waitFor(t, "the daemon's http address in its log", 20*time.Second, func() bool {
		m := regexp.MustCompile(`msg="punchd started".* http=(\S+)`).FindStringSubmatch(logsBuf.String())
		if m != nil {
			metricsAddr = m[1]
		}
		return m != nil
	})
	var lastBytes float64
	// moved is the record bytes the pulls since the last call moved.
	moved := func() float64 {
		t.Helper()
		b := scrapeMetrics(t, metricsAddr)[`punchd_clock_read_bytes_total{clock="dangzhengban"}`]
		d := b - lastBytes
		lastBytes = b
		return d
	}

	// settled waits for a pull after the clock was restarted that saw n records, then compares the
	// store with every punch the clock ever held.
	settled := func(what string, n int) {
		t.Helper()
		since := time.Now()
		waitFor(t, fmt.Sprintf("%s: a pull of %d records", what, n), 60*time.Second, func() bool {
			cs, ok := daemonClock(sock)
			return ok && cs.Up && cs.LastPull.After(since) && cs.Records == n
		})
		got := storedKeys(t, sock, dir)
		var missing, extra int
		for k := range want {
			if !got[k] {
				missing++
			}
		}
		for k := range got {
			if !want[k] {
				extra++
			}
		}
		if missing > 0 || extra > 0 || len(got) != len(want) {
			t.Fatalf("%s: the store holds %d punches, the clock held %d: %d missing, %d not the clock's", what, len(got), len(want), missing, extra)
		}
		t.Logf("%s: %d records on the clock, %d punches stored, exact", what, n, len(got))
	}
	const recordSize = 40
	settled("first read", len(records))
	moved()

	// tail checks that the pulls of a phase moved the new records and the one before them (the
	// check that the log is the one read before), and far less than the whole log (a chunk asked
	// for again on a busy machine may add some).
	tail := func(what string, added int) {
		t.Helper()
		b := moved()
		if b < float64((added+1)*recordSize) || b >= float64(len(records)*recordSize/2) {
			t.Errorf("%s: the pulls moved %.0f bytes of records, want a tail read of %d records (and the one checked), not the log's %d",
				what, b, added, len(records)*recordSize)
		}
		t.Logf("%s: %.0f bytes of records moved (the log holds %d)", what, b, len(records)*recordSize)
	}

	// The log grows.
	records = append(records, logs.records(300, day(10))...)
	serve(records)
	settled("after growth", len(records))
	tail("after growth", 300)

	// The connection dies in the middle of the next tail read (after 3 data packets of the first
	// transfer, once): the read fails, is done again on a new connection, and nothing is lost or
	// doubled.
	records = append(records, logs.records(900, day(20))...)
	logged := len(logsBuf.String())
	serve(records, "--drop-after", "3", "--fault-once")
	settled("after a connection dropped mid-tail", len(records))
	var midway []string
	for _, m := range regexp.MustCompile(`read attendance[^\n]*at byte (\d+) of (\d+)`).FindAllStringSubmatch(logsBuf.String()[logged:], -1) {
		if m[1] != "0" && m[1] != m[2] {
			midway = m
		}
	}
	if midway == nil {
		t.Errorf("the daemon logged no attendance read that failed part way: the connection was not dropped mid-tail")
	} else {
		t.Logf("the tail read failed at byte %s of %s and was done again", midway[1], midway[2])
	}
	tail("after a connection dropped mid-tail", 900)

	// Cleared at the keypad: every stored punch is kept.
	records = nil
	serve(records)
	settled("after a clear", 0)
	moved()

	// Refilled past its old length between two pulls, all new punches: read whole.
	records = logs.records(4500, day(40))
	serve(records)
	settled("after a clear and a refill past the old length", len(records))
	if b := moved(); b < float64(len(records)*recordSize) {
		t.Errorf("the refilled log: %.0f bytes of records moved, want it read whole (%d)", b, len(records)*recordSize)
	}

	// And grown again from there: a tail read again.
	records = append(records, logs.records(10, day(60))...)
	serve(records)
	settled("after growth of the refilled log", len(records))
	tail("after growth of the refilled log", 10)
}

// scrapeMetrics is the /metrics of the daemon whose http address is addr, as series → value.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return out
}

// buildCommand builds cmd/name into dir and returns the binary's path.
func buildCommand(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/jinbi/punchd/cmd/"+name).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}

// freeAddr is a loopback address with a port free for the transport now.
func freeAddr(t *testing.T, transport string) string {
	t.Helper()
	if transport == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startZkclock runs zkclock and waits for its "ready" line.
func startZkclock(t *testing.T, bin string, args []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testlog.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = testproc.DieWithParent()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "ready" {
				ok = true
				break
			}
		}
		ready <- ok
		io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("zkclock %v did not start:\n%s", args, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("zkclock %v not ready after 30s:\n%s", args, stderr.String())
	}
	return cmd
}

// stopProcess ends a process the test started: SIGTERM, then it must exit.
func stopProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Errorf("%s did not stop on SIGTERM within 20s", filepath.Base(cmd.Path))
	}
}

// shortTempDir is a temp dir with a path short enough for a unix socket.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "tail")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// daemonClock is the daemon's one clock as its socket reports it.
func daemonClock(sock string) (api.ClockStatus, bool) {
	c, err := api.Dial(context.Background(), sock)
	if err != nil {
		return api.ClockStatus{}, false
	}
	st, err := c.Status(context.Background())
	if err != nil || len(st.Clocks) != 1 {
		return api.ClockStatus{}, false
	}
	return st.Clocks[0], true
}

var backups sync.Mutex

// storedKeys is every punch in the running daemon's store, by key, from a hot backup.
func storedKeys(t *testing.T, sock, dir string) map[string]bool {
	t.Helper()
	backups.Lock()
	defer backups.Unlock()
	c, err := api.Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Backup(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps, err := db.PunchesBetween(time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool, len(ps))
	for _, p := range ps {
		k := punchKey(p.UserID, p.Time, p.State, p.Verify)
		if out[k] {
			t.Errorf("punch %s stored twice", k)
		}
		out[k] = true
	}
	return out
}

func punchKey(user string, at time.Time, state, verify uint8) string {
	return fmt.Sprintf("%s|%s|%d|%d", user, at.UTC().Format(time.RFC3339), state, verify)
}
