package main

import (
	"context"
	"log/slog"

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

// runFeed is glue: flags (broker and prefix default to [mqtt] of --config when it loads) → feed.Run.
func runFeed(ctx context.Context, e *env, args []string) error {
	var o feed.Options
	fs := e.newFlags("feed")
	e.configFlag(fs)
	fs.StringVar(&o.Broker, "broker", "", "broker `URL`, tcp://HOST:1883 or ssl://HOST:8883 (default: [mqtt] broker of --config)")
	fs.StringVar(&o.Prefix, "prefix", "", "topic prefix `P` (default: [mqtt] topic_prefix of --config)")
	fs.BoolVar(&o.JSON, "json", false, "print the payloads as received, one per line")
	fs.StringVar(&o.ClientID, "client-id", "", "MQTT client `ID` (default punchctl-feed-PID)")
	fs.StringVar(&o.Username, "username", "", "MQTT user `NAME`")
	fs.StringVar(&o.PasswordFile, "password-file", "", "`FILE` holding the MQTT password")
	fs.StringVar(&o.CAFile, "ca-file", "", "CA `FILE` for an ssl:// broker")
	fs.StringVar(&o.CertFile, "cert-file", "", "client certificate `FILE` for an ssl:// broker")
	fs.StringVar(&o.KeyFile, "key-file", "", "client key `FILE` for an ssl:// broker")
	pos, err := e.parseFlags(fs, "feed", args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if o.Broker == "" || o.Prefix == "" {
		cfg, err := e.loadConfig()
		if err != nil {
			if o.Broker == "" {
				return usagef("--broker is required (no usable --config %s: %v)", e.ConfigPath, err)
			}
			return usagef("--prefix is required (no usable --config %s: %v)", e.ConfigPath, err)
		}
		if o.Broker == "" {
			o.Broker = cfg.MQTT.Broker
			if o.Username == "" && o.PasswordFile == "" {
				o.Username, o.PasswordFile = cfg.MQTT.Username, cfg.MQTT.PasswordFile
			}
			if o.CAFile == "" && o.CertFile == "" {
				o.CAFile, o.CertFile, o.KeyFile = cfg.MQTT.CAFile, cfg.MQTT.CertFile, cfg.MQTT.KeyFile
			}
		}
		if o.Prefix == "" {
			o.Prefix = cfg.MQTT.TopicPrefix
		}
	}
	// Connection state goes to stderr at Info: the operator wants to see "connected".
	o.Logger = slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err = feed.Run(ctx, o, e.Stdout)
	if err != nil {
		return usagef("%v", err)
	}
	return nil
}
