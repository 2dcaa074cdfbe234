package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jinbi/punchd/internal/api"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/publish"
)

func init() {
	register(command{
		Name:    "doctor",
		Args:    "[--config FILE] [--broker-conf FILE] [--timeout D]",
		Summary: "check what punchd depends on: config, store, daemon, broker, a persistent QoS 1 round trip, the broker's persistence",
		Help: "One line per check: ok, WARN (works, but not as punchd relies on it) or FAIL; exit status 1 when any\n" +
			"check fails. The broker checks use the config's [mqtt] address, credentials and TLS, under client ids\n" +
			"punchctl-doctor-PID-*: a connection, then a QoS 1 message published while a persistent subscriber on\n" +
			"{prefix}/doctor/… is away, which must reach it when it comes back. Whether the broker keeps that message\n" +
			"across its own restart is on its disk: --broker-conf checks a Mosquitto config (persistence, a\n" +
			"persistence_location its user can write, autosave_interval, max_queued_messages, a message_size_limit\n" +
			"or max_packet_size the monthly files fit under, and its log for\n" +
			"\"Error saving in-memory database\"); with a broker on this host, the config of the Mosquitto process\n" +
			"listening on its port is checked (found in /proc), else /etc/mosquitto/mosquitto.conf when it exists.\n" +
			"See docs/operations.md, \"The broker\".",
		Run: runDoctor,
	})
}

// A doctor check's verdict.
const (
	checkOK   = "ok"
	checkWarn = "WARN"
	checkFail = "FAIL"
)

// doctor prints one line per check and remembers whether one failed.
type doctor struct {
	w      io.Writer
	failed bool
}

func (d *doctor) report(verdict, name, format string, args ...any) {
	if verdict == checkFail {
		d.failed = true
	}
	fmt.Fprintf(d.w, "%-4s  %s: %s\n", verdict, name, fmt.Sprintf(format, args...))
}

func runDoctor(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("doctor")
	e.configFlag(fs)
	brokerConf := fs.String("broker-conf", "", "Mosquitto config `FILE` to check (default, with the broker on this host: the running Mosquitto's, else /etc/mosquitto/mosquitto.conf)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long each broker step may take")
	if err := e.parseNoArgs(fs, "doctor", args); err != nil {
		return err
	}
	d := &doctor{w: e.Stdout}
	cfg, err := e.loadConfig()
	if err != nil {
		d.report(checkFail, "config", "%s: %s", e.ConfigPath, oneLine(err))
		return exitStatus(1)
	}
	if _, err := cfg.NewCalendar(); err != nil {
		d.report(checkFail, "config", "%s: %s", e.ConfigPath, oneLine(err))
	} else {
		d.report(checkOK, "config", "%s: site %s, %d clock(s), broker %s", e.ConfigPath, cfg.Site.Name, len(cfg.Clock), cfg.MQTT.Broker)
	}
	if len(cfg.Clock) == 0 {
		d.report(checkWarn, "config", "no [[clock]] configured: punchd pulls nothing")
	}

	running := d.daemon(ctx, cfg)
	d.store(cfg, running)
	if d.broker(ctx, cfg, *timeout) {
		d.session(ctx, cfg, *timeout)
	}
	conf := *brokerConf
	if conf == "" && localBroker(cfg.MQTT.Broker) {
		if conf = runningMosquittoConf(brokerPort(cfg.MQTT.Broker)); conf == "" {
			if _, err := os.Stat(defaultMosquittoConf); err == nil {
				conf = defaultMosquittoConf
			}
		}
	}
	if conf != "" {
		d.mosquitto(conf)
	} else {
		fmt.Fprintf(d.w, "%-4s  %s: %s\n", "-", "broker persistence",
			"not checked from here (the broker is on another host): see docs/operations.md, \"The broker\"")
	}
	if d.failed {
		return exitStatus(1)
	}
	return nil
}

// daemon asks the daemon on the socket for its status; it says whether one answered.
func (d *doctor) daemon(ctx context.Context, cfg config.Config) bool {
	c, err := api.Dial(ctx, cfg.API.Socket)
	if err != nil {
		if errors.Is(err, api.ErrDenied) {
			d.report(checkFail, "daemon", "%s", oneLine(err))
			return true
		}
		d.report(checkWarn, "daemon", "not running (no answer on %s)", cfg.API.Socket)
		return false
	}
	st, err := c.Status(ctx)
	if err != nil {
		d.report(checkFail, "daemon", "socket %s: status: %s", cfg.API.Socket, oneLine(err))
		return true
	}
	up := 0
	for _, cs := range st.Clocks {
		if cs.Up {
			up++
		}
	}
	verdict := checkOK
	if up < len(st.Clocks) || !st.MQTT {
		verdict = checkWarn
	}
	mq := "mqtt connected"
	if !st.MQTT {
		mq = "mqtt DISCONNECTED"
	}
	d.report(verdict, "daemon", "running (version %s) on %s: %d/%d clock(s) up, %s, %d in the outbox", st.Version, cfg.API.Socket, up, len(st.Clocks), mq, st.Outbox)
	return true
}

// store checks the store file; it opens it only when no daemon holds it.
func (d *doctor) store(cfg config.Config, daemonRunning bool) {
	path := cfg.Store.Path
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.report(checkWarn, "store", "no store at %s yet: punchd creates it at its first start", path)
		return
	case err != nil:
		d.report(checkFail, "store", "%s: %s", path, oneLine(err))
		return
	case daemonRunning:
		d.report(checkOK, "store", "%s, %d bytes, held by the running daemon", path, fi.Size())
		return
	}
	db, err := store.Open(path, store.Options{Location: cfg.Location(), LockTimeout: storeLockWait})
	if err != nil {
		d.report(checkFail, "store", "%s: %s", path, oneLine(err))
		return
	}
	defer db.Close()
	n, oldest, err := db.OutboxStats()
	if err != nil {
		d.report(checkFail, "store", "%s: outbox: %s", path, oneLine(err))
		return
	}
	d.report(checkOK, "store", "%s, %d bytes, %d in the outbox%s", path, fi.Size(), n, since(" since ", oldest))
}

func since(prefix string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return prefix + t.Format("2006-01-02 15:04")
}

// clientOptions are the daemon's way to the broker (address, credentials, TLS) with a doctor's
// client id and timeouts.
func clientOptions(cfg config.Config, id string, timeout time.Duration) (*mqtt.ClientOptions, error) {
	o, err := publish.FromConfig(cfg.MQTT).ClientOptions()
	if err != nil {
		return nil, err
	}
	return o.SetClientID(fmt.Sprintf("punchctl-doctor-%d-%s", os.Getpid(), id)).SetConnectTimeout(timeout).
		SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(false), nil
}

// connect connects a client and waits for the broker's answer.
func connect(ctx context.Context, o *mqtt.ClientOptions, timeout time.Duration) (mqtt.Client, *mqtt.ConnectToken, error) {
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if err := wait(ctx, tok, timeout); err != nil {
		c.Disconnect(0)
		return nil, nil, err
	}
	return c, tok.(*mqtt.ConnectToken), nil
}

func wait(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-t.C:
		return fmt.Errorf("no answer within %s", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// broker connects as punchd does; it says whether that worked.
func (d *doctor) broker(ctx context.Context, cfg config.Config, timeout time.Duration) bool {
	o, err := clientOptions(cfg, "check", timeout)
	if err != nil {
		d.report(checkFail, "broker", "%s", oneLine(err))
		return false
	}
	start := time.Now()
	c, _, err := connect(ctx, o.SetCleanSession(true), timeout)
	if err != nil {
		d.report(checkFail, "broker", "%s: %s", cfg.MQTT.Broker, oneLine(err))
		return false
	}
	c.Disconnect(100)
	d.report(checkOK, "broker", "%s accepts punchd's credentials (connected in %s)", cfg.MQTT.Broker, time.Since(start).Round(time.Millisecond))
	return true
}

// session checks that the broker keeps a QoS 1 message for a persistent subscriber that is
// away: subscribe with a persistent session, go away, have another client publish, come back.
func (d *doctor) session(ctx context.Context, cfg config.Config, timeout time.Duration) {
	const name = "broker session"
	topic := fmt.Sprintf("%s/doctor/%d-%d", cfg.MQTT.TopicPrefix, os.Getpid(), time.Now().UnixNano())
	payload := []byte("punchctl doctor " + time.Now().UTC().Format(time.RFC3339Nano))
	got := make(chan []byte, 4)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		if m.Topic() == topic {
			select {
			case got <- m.Payload():
			default:
			}
		}
	}
	subOpts := func() (*mqtt.ClientOptions, error) {
		o, err := clientOptions(cfg, "sub", timeout)
		if err != nil {
			return nil, err
		}
		return o.SetCleanSession(false).SetDefaultPublishHandler(handler), nil
	}
	fail := func(format string, args ...any) { d.report(checkFail, name, format, args...) }

	o, err := subOpts()
	if err != nil {
		fail("%s", oneLine(err))
		return
	}
	sub, _, err := connect(ctx, o, timeout)
	if err != nil {
		fail("subscriber: %s", oneLine(err))
		return
	}
	// Whatever happens next, leave no session behind: a clean connect removes it.
	defer func() {
		if o, err := clientOptions(cfg, "sub", timeout); err == nil {
			if c, _, err := connect(context.WithoutCancel(ctx), o.SetCleanSession(true), timeout); err == nil {
				c.Disconnect(100)
			}
		}
	}()
	stok := sub.Subscribe(topic, 1, nil)
	if err := wait(ctx, stok, timeout); err != nil {
		sub.Disconnect(0)
		fail("subscribe %s: %s", topic, oneLine(err))
		return
	}
	if q := stok.(*mqtt.SubscribeToken).Result()[topic]; q != 1 {
		sub.Disconnect(0)
		d.report(checkWarn, name, "the broker refused a QoS 1 subscription to %s (granted %#x; an ACL?): not checked", topic, q)
		return
	}
	sub.Disconnect(100) // away, its session kept

	po, err := clientOptions(cfg, "pub", timeout)
	if err != nil {
		fail("%s", oneLine(err))
		return
	}
	pub, _, err := connect(ctx, po.SetCleanSession(true), timeout)
	if err != nil {
		fail("publisher: %s", oneLine(err))
		return
	}
	err = wait(ctx, pub.Publish(topic, 1, false, payload), timeout)
	pub.Disconnect(100)
	if err != nil {
		fail("publish QoS 1 to %s: %s", topic, oneLine(err))
		return
	}

	start := time.Now()
	o, err = subOpts()
	if err != nil {
		fail("%s", oneLine(err))
		return
	}
	sub, ctok, err := connect(ctx, o, timeout)
	if err != nil {
		fail("subscriber again: %s", oneLine(err))
		return
	}
	defer sub.Disconnect(100)
	if !ctok.SessionPresent() {
		fail("the broker did not keep the subscriber's persistent session: a consumer away loses every event meanwhile")
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case p := <-got:
		if string(p) != string(payload) {
			fail("the subscriber got %q, want %q", p, payload)
			return
		}
		d.report(checkOK, name, "a QoS 1 message published while a persistent subscriber was away reached it when it came back (%s)",
			time.Since(start).Round(time.Millisecond))
	case <-t.C:
		fail("a QoS 1 message published while a persistent subscriber was away did not reach it within %s: a consumer away loses events (max_queued_messages?)", timeout)
	case <-ctx.Done():
		fail("%v", ctx.Err())
	}
}

// defaultMosquittoConf is where Debian's mosquitto package keeps its config.
const defaultMosquittoConf = "/etc/mosquitto/mosquitto.conf"

// localBroker says whether the broker URL names this host.
func localBroker(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	switch h := u.Hostname(); h {
	case "localhost":
		return true
	default:
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
}

// brokerPort is the port of a broker URL, with MQTT's defaults (1883, and 8883 over TLS).
func brokerPort(broker string) string {
	u, err := url.Parse(broker)
	if err != nil {
		return ""
	}
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "tcps":
		return "8883"
	}
	return "1883"
}

// runningMosquittoConf is the config file of the Mosquitto process on this host that listens on
// port, found through /proc (Linux): what that broker really runs with, which need not be
// /etc/mosquitto/mosquitto.conf. "" when none is found (another system, a broker started without -c,
// a process we may not look at).
func runningMosquittoConf(port string) string {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) != "mosquitto" {
			continue
		}
		var conf string
		for i := 1; i+1 < len(args); i++ {
			if args[i] == "-c" || args[i] == "--config-file" {
				conf = args[i+1]
			}
		}
		if conf == "" {
			continue
		}
		if !filepath.IsAbs(conf) {
			cwd, err := os.Readlink(filepath.Join(filepath.Dir(p), "cwd"))
			if err != nil {
				continue
			}
			conf = filepath.Join(cwd, conf)
		}
		if c, err := readMosquittoConf(conf); err == nil && slices.Contains(c.ports(), port) {
			return conf
		}
	}
	return ""
}

// mosquittoConf is what a Mosquitto config says about persistence (the last value of each key,
// include_dir files read in order, as Mosquitto does) and the ports it listens on.
type mosquittoConf struct {
	values    map[string]string
	listeners []string // the ports of its listener and port lines
	files     []string
}

// ports are the ports the broker listens on (1883 when the config names none).
func (c mosquittoConf) ports() []string {
	if len(c.listeners) == 0 {
		return []string{"1883"}
	}
	return c.listeners
}

func readMosquittoConf(path string) (mosquittoConf, error) {
	c := mosquittoConf{values: map[string]string{}}
	err := c.read(path, 0)
	return c, err
}

func (c *mosquittoConf) read(path string, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%s: include_dir nested too deep", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c.files = append(c.files, path)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		value = strings.TrimSpace(value)
		if key == "include_dir" {
			names, err := filepath.Glob(filepath.Join(value, "*.conf"))
			if err != nil {
				return err
			}
			slices.Sort(names)
			for _, n := range names {
				if err := c.read(n, depth+1); err != nil {
					return err
				}
			}
			continue
		}
		if key == "listener" || key == "port" {
			if port, _, _ := strings.Cut(value, " "); port != "" {
				c.listeners = append(c.listeners, port)
			}
		}
		if key == "log_dest" && strings.HasPrefix(value, "file ") {
			key, value = "log_file", strings.TrimSpace(strings.TrimPrefix(value, "file "))
		}
		c.values[key] = value
	}
	return sc.Err()
}

// The least punchd wants of a broker that queues for consumers who are away for a weekend.
const (
	wantMaxQueued    = 10000 // QoS 1 messages queued per offline client
	wantAutosaveSecs = 300   // the longest a crash of the broker may take back
	// The monthly files go out as single messages, about 150 bytes a person and month: a
	// township's fit well under a megabyte.
	wantMessageBytes = 1 << 20
)

// mosquitto checks a Mosquitto config for what at-least-once delivery needs of the broker's disk.
func (d *doctor) mosquitto(path string) {
	const name = "broker persistence"
	c, err := readMosquittoConf(path)
	if err != nil {
		d.report(checkFail, name, "%s", oneLine(err))
		return
	}
	if c.values["persistence"] != "true" {
		d.report(checkFail, name, "%s: persistence is not true (Mosquitto's default is false): a broker restart loses every message it acknowledged but had not delivered", path)
		return
	}
	loc := c.values["persistence_location"]
	if loc == "" {
		d.report(checkWarn, name, "%s: no persistence_location: the database goes to the broker's working directory", path)
	} else if err := writableBy(loc, mosquittoUser(c.values["user"])); err != nil {
		d.report(checkFail, name, "%s: persistence_location %s: %s: the broker logs \"Error saving in-memory database\" and carries on without its disk", path, loc, oneLine(err))
	} else {
		d.report(checkOK, name, "%s: persistence true, %s writable by %s", path, loc, mosquittoUser(c.values["user"]))
	}

	autosave := 1800
	if v, ok := c.values["autosave_interval"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			autosave = n
		}
	}
	switch {
	case c.values["autosave_on_changes"] == "true":
		d.report(checkOK, name, "autosave_on_changes true: saved every %d changes", autosave)
	case autosave == 0:
		d.report(checkWarn, name, "autosave_interval 0: saved only at a clean stop; a crash or power cut takes back everything since it started")
	case autosave > wantAutosaveSecs:
		d.report(checkWarn, name, "autosave_interval %d s: a crash or power cut takes back up to that much (set it to %d or less)", autosave, wantAutosaveSecs)
	default:
		d.report(checkOK, name, "autosave_interval %d s", autosave)
	}

	queued := 1000
	if v, ok := c.values["max_queued_messages"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			queued = n
		}
	}
	if queued != 0 && queued < wantMaxQueued {
		d.report(checkWarn, name, "max_queued_messages %d: a consumer away longer than that many events loses the rest (set %d or more)", queued, wantMaxQueued)
	} else {
		d.report(checkOK, name, "max_queued_messages %d", queued)
	}

	for _, l := range []struct{ key, effect string }{
		{"message_size_limit", "Mosquitto acknowledges a bigger message and drops it: a monthly file over it reaches nobody"},
		{"max_packet_size", "Mosquitto disconnects punchd at a bigger message: the outbox waits behind a monthly file over it"},
	} {
		key, effect := l.key, l.effect
		if n, err := strconv.Atoi(c.values[key]); err == nil && n > 0 {
			if n < wantMessageBytes {
				d.report(checkWarn, name, "%s %d: %s (unset it, or set %d or more)", key, n, effect, wantMessageBytes)
			} else {
				d.report(checkOK, name, "%s %d", key, n)
			}
		}
	}

	if lf := c.values["log_file"]; lf != "" {
		if line, err := lastMatch(lf, "Error saving in-memory database"); err != nil {
			fmt.Fprintf(d.w, "%-4s  %s: %s\n", "-", name, "log "+lf+" not read: "+oneLine(err))
		} else if line != "" {
			d.report(checkFail, name, "%s: %s", lf, line)
		} else {
			d.report(checkOK, name, "no \"Error saving in-memory database\" in %s", lf)
		}
	}
}

// mosquittoUser is the user Mosquitto writes its database as: it drops from root to "mosquitto"
// unless the config names another.
func mosquittoUser(configured string) string {
	if configured != "" {
		return configured
	}
	return "mosquitto"
}

// writableBy says why the user name cannot create files in dir (nil when it can).
func writableBy(dir, name string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("not a directory")
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	st, ok := fileOwner(fi)
	if !ok {
		return nil // cannot tell on this system
	}
	if u.Uid == "0" {
		return nil
	}
	mode := fi.Mode().Perm()
	if strconv.FormatUint(uint64(st.Uid), 10) == u.Uid {
		if mode&0o300 == 0o300 {
			return nil
		}
		return fmt.Errorf("owned by %s but mode %v", name, mode)
	}
	gids, _ := u.GroupIds()
	if slices.Contains(gids, strconv.FormatUint(uint64(st.Gid), 10)) && mode&0o030 == 0o030 {
		return nil
	}
	if mode&0o003 == 0o003 {
		return nil
	}
	return fmt.Errorf("not writable by %s (owner uid %d, gid %d, mode %v)", name, st.Uid, st.Gid, mode)
}

// lastMatch is the last line of the file's last 256 KiB that contains s ("" when none).
func lastMatch(path, s string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 256<<10 {
		if _, err := f.Seek(-256<<10, io.SeekEnd); err != nil {
			return "", err
		}
	}
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			last = sc.Text()
		}
	}
	return last, sc.Err()
}
