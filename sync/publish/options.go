package publish

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/jinbi/punchd/internal/config"
)

// Options configures a Publisher. Start from DefaultOptions, set what the config says, and let
// New validate it. Zero durations and counts are replaced by the defaults.
type Options struct {
	Broker   string // tcp://host:1883, ssl://host:8883 (also mqtt://, mqtts://, tls://, ws://, wss://)
	ClientID string
	Prefix   string // topic prefix: {prefix}/status is the presence topic

	Username     string
	Password     string // or PasswordFile; not both
	PasswordFile string // read at New; one trailing newline is dropped

	// TLS, for ssl:// brokers: CAFile verifies the broker (system roots when empty);
	// CertFile and KeyFile are the client certificate, both or neither.
	CAFile, CertFile, KeyFile string

	KeepAlive      time.Duration // MQTT keepalive
	ConnectTimeout time.Duration // one connection attempt, TCP + TLS + CONNACK
	// QoS every outbox entry is published at: 1 (the default) and 2 delete an entry on the
	// broker's acknowledgement; 0 deletes it once written to the socket, so a connection that
	// dies then loses it (at most once). The presence on {prefix}/status is always QoS 1.
	QoS          byte
	AckTimeout   time.Duration // a publish not acknowledged within it drops the connection
	WriteTimeout time.Duration // handing one publish to the socket; bounds shutdown too
	Inflight     int           // publishes awaiting an acknowledgement at once, 1..config.MaxInflight
	PollInterval time.Duration // look at the outbox this often even without Notify; trim it too
	BackoffMin   time.Duration // first reconnect delay (jittered, doubling)
	BackoffMax   time.Duration // reconnect delay cap

	// Outbox bounds, applied every PollInterval whether connected or not: entries beyond
	// MaxEntries (oldest first) or older than MaxAge are dropped, counted and logged.
	// Zero means no bound of that kind.
	MaxEntries int
	MaxAge     time.Duration

	Version string // reported in the status payload

	Logger  *slog.Logger     // nil: discard
	Now     func() time.Time // nil: time.Now
	Metrics *Metrics         // shared by the publishers a reload replaces; nil: a registry nobody serves

	// OnSend, when set, is called as an entry is handed to the connection (before its
	// acknowledgement; an entry sent again after a lost connection is passed again): the web
	// console's live feed. OnPoll, when set, is called each time the publisher has looked at the
	// outbox, every PollInterval, connected or not: its liveness. Both run on the publisher's
	// goroutines and must not block.
	OnSend func(topic string, payload []byte)
	OnPoll func()
}

// DefaultOptions returns the defaults; Broker, ClientID and Prefix still have to be set.
func DefaultOptions() Options {
	return Options{
		KeepAlive:      30 * time.Second,
		ConnectTimeout: 10 * time.Second,
		AckTimeout:     10 * time.Second,
		WriteTimeout:   500 * time.Millisecond,
		QoS:            1,
		Inflight:       16,
		PollInterval:   5 * time.Second,
		BackoffMin:     500 * time.Millisecond,
		BackoffMax:     time.Minute,
		MaxEntries:     100_000,
		MaxAge:         30 * 24 * time.Hour,
	}
}

// Sentinel errors of configuration.
var (
	ErrConfig = errors.New("publish: bad mqtt config")
)

func (o *Options) applyDefaults() {
	d := DefaultOptions()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&o.KeepAlive, d.KeepAlive)
	setDur(&o.ConnectTimeout, d.ConnectTimeout)
	setDur(&o.AckTimeout, d.AckTimeout)
	setDur(&o.WriteTimeout, d.WriteTimeout)
	setDur(&o.PollInterval, d.PollInterval)
	setDur(&o.BackoffMin, d.BackoffMin)
	setDur(&o.BackoffMax, d.BackoffMax)
	if o.Inflight == 0 {
		o.Inflight = d.Inflight
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// FromConfig is how punchd reaches the broker its config names: address, client id, prefix,
// credentials, TLS, keepalive, qos, inflight and the outbox caps. The daemon, punchctl doctor and
// punchctl config check all start from it.
func FromConfig(m config.MQTT) Options {
	o := DefaultOptions()
	o.Broker, o.ClientID, o.Prefix = m.Broker, m.ClientID, m.TopicPrefix
	o.Username, o.PasswordFile = m.Username, m.PasswordFile
	o.CAFile, o.CertFile, o.KeyFile = m.CAFile, m.CertFile, m.KeyFile
	if m.Keepalive > 0 {
		o.KeepAlive = m.Keepalive.Std()
	}
	if m.Inflight > 0 {
		o.Inflight = int(m.Inflight)
	}
	o.QoS = byte(m.QoS)
	o.MaxEntries, o.MaxAge = int(m.OutboxMaxEntries), m.OutboxMaxAge.Std()
	return o
}

// Check is what New checks before it builds a publisher: the options, and that the password and
// TLS files can be read. punchctl config check runs it, with the same messages.
func (o Options) Check() error {
	o.applyDefaults()
	if err := o.Validate(); err != nil {
		return err
	}
	_, err := o.ClientOptions()
	return err
}

// Validate checks what the config does not (the [mqtt] keys are checked once, by
// internal/config); each message names the option as a key under mqtt.
func (o Options) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: mqtt.%s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	// The broker, the client id, the prefix, TLS, qos, inflight, keepalive and the outbox bounds
	// come from [mqtt] and are checked once, by internal/config. What is left here is what the
	// config does not set.
	if o.Broker == "" {
		return bad("broker", "is empty")
	}
	if o.Password != "" && o.PasswordFile != "" {
		return bad("password_file", "set together with a password; use one")
	}
	for key, v := range map[string]time.Duration{
		"keepalive": o.KeepAlive, "connect_timeout": o.ConnectTimeout, "ack_timeout": o.AckTimeout,
		"write_timeout": o.WriteTimeout, "poll_interval": o.PollInterval,
		"backoff_min": o.BackoffMin, "backoff_max": o.BackoffMax,
	} {
		if v < 0 {
			return bad(key, "%s is negative", v)
		}
	}
	if o.BackoffMax < o.BackoffMin {
		return bad("backoff_max", "%s is below backoff_min %s", o.BackoffMax, o.BackoffMin)
	}
	return nil
}

// ClientOptions are paho's options for reaching the broker as o says: the address, the
// credentials and TLS. The caller sets the client id, the session and the timeouts. The publisher
// connects with them, and so does punchctl doctor, so it reaches the broker exactly as punchd does.
func (o Options) ClientOptions() (*mqtt.ClientOptions, error) {
	pw, err := o.password()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := mqtt.NewClientOptions().AddBroker(o.Broker).SetUsername(o.Username).SetPassword(pw)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	return opts, nil
}

// password returns the password, read from PasswordFile when set.
func (o Options) password() (string, error) {
	if o.PasswordFile == "" {
		return o.Password, nil
	}
	data, err := os.ReadFile(o.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("%w: mqtt.password_file: %w", ErrConfig, err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), nil
}

// tlsConfig builds the TLS configuration for ssl:// brokers, or nil for tcp://.
func (o Options) tlsConfig() (*tls.Config, error) {
	u, _ := url.Parse(o.Broker)
	switch u.Scheme {
	case "tcp", "mqtt", "ws":
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: mqtt.ca_file: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: mqtt.ca_file: %s holds no PEM certificate", ErrConfig, o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: mqtt.cert_file/key_file: %w", ErrConfig, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
