// Package feed is the supervision office's live view of punchd's MQTT output: it subscribes to
// {prefix}/events/# and {prefix}/reports/# and prints one line per anomaly (in Chinese and
// English), marking corrections, or the raw payloads one per line with JSON output on.
//
// It owns a read-only MQTT subscription and the wording of a feed line. It never publishes and
// needs nothing from the daemon but its topics (internal/event).
package feed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/event"
)

// Options configures Run.
type Options struct {
	Broker string // tcp://host:1883 or ssl://host:8883
	Prefix string // the daemon's [mqtt] topic_prefix
	JSON   bool   // print payloads as received, one per line

	ClientID     string // default punchctl-feed-<pid>
	Username     string
	PasswordFile string // one trailing newline is dropped
	CAFile       string // ssl:// only: the CA that signed the broker's certificate
	CertFile     string // ssl:// only: client certificate, with KeyFile
	KeyFile      string

	Logger *slog.Logger // connection state; nil discards
}

// ErrUsage is returned for options that cannot work; the message names the flag.
var ErrUsage = errors.New("feed: bad option")

// Run subscribes and prints until ctx is done, reconnecting (and subscribing again) by itself.
// It returns nil when ctx is done and an error only for bad options.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("broker", o.Broker)
	if o.ClientID == "" {
		o.ClientID = fmt.Sprintf("punchctl-feed-%d", os.Getpid())
	}
	opts := mqtt.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetOrderMatters(true) // lines come out in the order the broker delivered them
	if o.Username != "" {
		opts.SetUsername(o.Username)
	}
	if o.PasswordFile != "" {
		data, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return fmt.Errorf("%w: --password-file: %w", ErrUsage, err)
		}
		opts.SetPassword(strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"))
	}
	if o.CAFile != "" || o.CertFile != "" {
		cfg, err := tlsConfig(o.CAFile, o.CertFile, o.KeyFile)
		if err != nil {
			return err
		}
		opts.SetTLSConfig(cfg)
	}

	p := NewPrinter(out, o.JSON)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		if err := p.Print(m.Topic(), m.Payload()); err != nil {
			log.Warn("unreadable message", "topic", m.Topic(), "err", err)
		}
	}
	filters := map[string]byte{event.EventsFilter(o.Prefix): 1, event.ReportsFilter(o.Prefix): 1}
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		// A clean session forgets subscriptions: subscribe on every connect. Never block here.
		tok := c.SubscribeMultiple(filters, handler)
		go func() {
			if !tok.WaitTimeout(10 * time.Second) {
				log.Warn("subscribe not acknowledged within 10s")
			} else if err := tok.Error(); err != nil {
				log.Warn("subscribe failed", "err", err)
			} else {
				log.Info("subscribed", "filters", []string{event.EventsFilter(o.Prefix), event.ReportsFilter(o.Prefix)})
			}
		}()
	})
	opts.SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
		switch n := n.(type) {
		case mqtt.ConnectionNotificationConnected:
			log.Info("connected")
		case mqtt.ConnectionNotificationFailed:
			log.Warn("connect failed; retrying", "err", n.Reason)
		case mqtt.ConnectionNotificationLost:
			log.Warn("connection lost; reconnecting", "err", n.Reason)
		}
	})
	c := mqtt.NewClient(opts)
	c.Connect() // with ConnectRetry the token completes only once connected; nothing to wait for
	<-ctx.Done()
	c.Disconnect(250)
	return nil
}

func (o Options) check() error {
	u, err := url.Parse(o.Broker)
	switch {
	case o.Broker == "":
		return fmt.Errorf("%w: --broker is required (e.g. tcp://127.0.0.1:1883)", ErrUsage)
	case err != nil || u.Host == "" || u.Port() == "":
		return fmt.Errorf("%w: --broker %q is not a URL like tcp://host:1883", ErrUsage, o.Broker)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ws":
		if o.CAFile != "" || o.CertFile != "" {
			return fmt.Errorf("%w: --ca-file/--cert-file need an ssl:// broker, not %q", ErrUsage, o.Broker)
		}
	case "ssl", "tls", "mqtts", "tcps", "wss":
	default:
		return fmt.Errorf("%w: --broker scheme %q is not tcp or ssl", ErrUsage, u.Scheme)
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return fmt.Errorf("%w: --cert-file and --key-file go together", ErrUsage)
	}
	if err := event.CheckPrefix(o.Prefix); err != nil {
		return fmt.Errorf("%w: --prefix: %w", ErrUsage, err)
	}
	return nil
}

// Printer turns messages into feed lines. It is safe for concurrent use.
type Printer struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
	revs map[string]int  // highest rev printed per event id
	seen map[string]bool // report notices printed (topic + payload), retained ones come back on reconnect
}

// NewPrinter prints to out: readable lines, or with raw set the payloads as received.
func NewPrinter(out io.Writer, raw bool) *Printer {
	return &Printer{out: out, json: raw, revs: map[string]int{}, seen: map[string]bool{}}
}

// maxRemembered bounds the dedupe memory of a feed left running for months.
const maxRemembered = 100_000

// Print writes the line for one message. In readable mode a redelivered event (same id, a rev
// already printed or older) prints nothing; an unreadable payload is an error and prints nothing.
func (p *Printer) Print(topic string, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		var buf bytes.Buffer
		if json.Compact(&buf, payload) == nil {
			payload = buf.Bytes()
		} else {
			payload = bytes.ReplaceAll(payload, []byte("\n"), []byte(" "))
		}
		_, err := fmt.Fprintf(p.out, "%s\n", payload)
		return err
	}
	var line string
	switch {
	case strings.Contains(topic, "/events/"):
		var e event.Event
		if err := json.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("event on %s: %w", topic, err)
		}
		if e.ID == "" || e.Rev < 1 {
			return fmt.Errorf("event on %s: no id or rev", topic)
		}
		if r, ok := p.revs[e.ID]; ok && e.Rev <= r {
			return nil // a redelivery, or an older revision arriving after a newer one
		}
		if len(p.revs) >= maxRemembered {
			clear(p.revs)
		}
		p.revs[e.ID] = e.Rev
		line = EventLine(e)
	case strings.Contains(topic, "/reports/"):
		key := topic + "\x00" + string(payload)
		if p.seen[key] {
			return nil
		}
		var n event.ReportNotice
		if err := json.Unmarshal(payload, &n); err != nil {
			return fmt.Errorf("report notice on %s: %w", topic, err)
		}
		if len(p.seen) >= maxRemembered {
			clear(p.seen)
		}
		p.seen[key] = true
		line = ReportLine(n)
	default:
		return fmt.Errorf("unexpected topic %s", topic)
	}
	_, err := fmt.Fprintln(p.out, line)
	return err
}

var kindWords = map[attendance.EventKind]string{
	attendance.EventLate:    "迟到 late",
	attendance.EventEarly:   "早退 early",
	attendance.EventMissing: "缺卡 missing punch",
	attendance.EventAbsent:  "旷工 absent",
}

var slotWords = map[string]string{
	"am_in": "上午上班 am_in", "am_out": "上午下班 am_out", "pm_in": "下午上班 pm_in", "pm_out": "下午下班 pm_out",
}

// EventLine is the readable line of an event, e.g.
//
//	2021-03-01 08:42 张三 (党政办) 迟到 late 12 min · 上午上班 am_in, expected 08:30 · 未说明 not excused
//
// A correction (rev > 1) starts with "更正 correction rev N:".
func EventLine(e event.Event) string {
	var b strings.Builder
	if e.Rev > 1 {
		fmt.Fprintf(&b, "更正 correction rev %d: ", e.Rev)
	}
	when := e.Expected
	if e.Actual != nil {
		when = *e.Actual
	}
	fmt.Fprintf(&b, "%s %s", clock(when, "2006-01-02 15:04", e.Date), orDash(e.Name, e.UserID))
	if e.Unit != "" {
		fmt.Fprintf(&b, " (%s)", e.Unit)
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " [%s]", e.UserID)
	}
	kind := kindWords[e.Kind]
	if kind == "" {
		kind = string(e.Kind)
	}
	if e.Retracted {
		kind = "撤销 withdrawn: " + kind
	}
	b.WriteString(" " + kind)
	if e.Minutes > 0 {
		fmt.Fprintf(&b, " %d min", e.Minutes)
	}
	if e.Severity == attendance.SeveritySerious && e.Kind == attendance.EventLate {
		b.WriteString(" 严重 serious")
	}
	slot := slotWords[e.Slot]
	if slot == "" {
		slot = e.Slot
	}
	fmt.Fprintf(&b, " · %s, expected %s", slot, clock(e.Expected, "15:04", e.Expected))
	switch {
	case e.Retracted:
	case e.Excused && e.Registration != nil:
		fmt.Fprintf(&b, " · 已说明 excused (registration %s)", *e.Registration)
	case e.Excused:
		b.WriteString(" · 已说明 excused")
	default:
		b.WriteString(" · 未说明 not excused")
	}
	return b.String()
}

// ReportLine is the readable line of a monthly report notice.
func ReportLine(n event.ReportNotice) string {
	c := n.Counts
	s := fmt.Sprintf("报表 report %s: %d people, %d workdays · 迟到 late %d · 早退 early %d · 缺卡 missing %d · 旷工 absent %d · 已说明 excused %d",
		n.Month, n.People, n.Workdays, c.Late, c.Early, c.Missing, c.Absent, c.Excused)
	if len(n.Files) > 0 {
		s += " · " + strings.Join(n.Files, ", ")
	}
	return s
}

// clock formats an RFC 3339 time in its own offset; an unparsable value is shown as it came.
func clock(rfc3339, layout, fallback string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		if fallback != "" {
			return fallback
		}
		return rfc3339
	}
	return t.Format(layout)
}

func orDash(s, alt string) string {
	switch {
	case s != "":
		return s
	case alt != "":
		return alt
	}
	return "-"
}
