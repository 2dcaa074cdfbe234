package main

import (
	"context"
	"flag"
	"log/slog"
	"strings"

	"github.com/jinbi/punchd/internal/feed"
)

func init() {
	register(command{
		Name:    "feed",
		Args:    "[--broker URL] [--prefix P] [--json] [--username U --password-file F] [--ca-file F [--cert-file F --key-file F]]",
		Summary: "the live anomaly feed from MQTT: one line per late/early/missing/absent event, corrections marked",
		Run:     runFeed,
	})
}

// runFeed is glue: flags (defaulting to [mqtt] of the config) → feed.Run.
func runFeed(ctx context.Context, e *env, args []string) error {
	o, err := e.feedOptions(args)
	if err != nil {
		return err
	}
	// Connection state goes to stderr at Info: the operator wants to see "connected".
	level := slog.LevelInfo
	if e.verbose() {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
	err = feed.Run(ctx, o, e.Stdout)
	if err != nil {
		return usagef("%v", err)
	}
	return nil
}

// feedOptions reads the flags. The config is read when --config is given or when --broker or
// --prefix is missing; then every [mqtt] key a flag did not set is taken from it: broker,
// topic_prefix, username, password_file, and — for an ssl:// broker — ca_file, cert_file and
// key_file (a plain tcp:// --broker given on the command line does not inherit the config's
// TLS files, which it could not use).
func (e *env) feedOptions(args []string) (feed.Options, error) {
	var o feed.Options
	fs := e.newFlags("feed")
	e.configFlag(fs)
	fs.StringVar(&o.Broker, "broker", "", "broker `URL`, tcp://HOST:1883 or ssl://HOST:8883 (default: [mqtt] broker of the config)")
	fs.StringVar(&o.Prefix, "prefix", "", "topic prefix `P` (default: [mqtt] topic_prefix of the config)")
	fs.BoolVar(&o.JSON, "json", false, "print the payloads as received, one per line")
	fs.StringVar(&o.ClientID, "client-id", "", "MQTT client `ID` (default punchctl-feed-PID)")
	fs.StringVar(&o.Username, "username", "", "MQTT user `NAME` (default: [mqtt] username of the config)")
	fs.StringVar(&o.PasswordFile, "password-file", "", "`FILE` holding the MQTT password (default: [mqtt] password_file of the config)")
	fs.StringVar(&o.CAFile, "ca-file", "", "CA `FILE` for an ssl:// broker (default: [mqtt] ca_file of the config)")
	fs.StringVar(&o.CertFile, "cert-file", "", "client certificate `FILE` for an ssl:// broker (default: [mqtt] cert_file of the config)")
	fs.StringVar(&o.KeyFile, "key-file", "", "client key `FILE` for an ssl:// broker (default: [mqtt] key_file of the config)")
	if err := e.parseNoArgs(fs, "feed", args); err != nil {
		return o, err
	}
	if !e.ConfigSet && o.Broker != "" && o.Prefix != "" {
		return o, nil // everything needed is on the command line; no config read
	}
	cfg, err := e.loadConfig()
	if err != nil {
		switch {
		case o.Broker == "":
			return o, usagef("--broker is required (no usable --config %s: %v)", e.ConfigPath, err)
		case o.Prefix == "":
			return o, usagef("--prefix is required (no usable --config %s: %v)", e.ConfigPath, err)
		}
		return o, err // --config given but unreadable: say so rather than ignore it
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	inherit := func(flagName string, dst *string, v string) {
		if !set[flagName] {
			*dst = v
		}
	}
	inherit("broker", &o.Broker, cfg.MQTT.Broker)
	inherit("prefix", &o.Prefix, cfg.MQTT.TopicPrefix)
	inherit("username", &o.Username, cfg.MQTT.Username)
	inherit("password-file", &o.PasswordFile, cfg.MQTT.PasswordFile)
	if !set["broker"] || !plainBroker(o.Broker) {
		inherit("ca-file", &o.CAFile, cfg.MQTT.CAFile)
		inherit("cert-file", &o.CertFile, cfg.MQTT.CertFile)
		inherit("key-file", &o.KeyFile, cfg.MQTT.KeyFile)
	}
	return o, nil
}

// plainBroker says whether a broker URL is a scheme without TLS.
func plainBroker(u string) bool {
	scheme, _, _ := strings.Cut(u, "://")
	switch strings.ToLower(scheme) {
	case "tcp", "mqtt", "ws":
		return true
	}
	return false
}
