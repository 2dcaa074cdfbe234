package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/jinbi/punchd/internal/attendance"
)

var (
	// ErrInvalid is wrapped by every error about a key's value or presence (a *KeyError).
	ErrInvalid = errors.New("config: invalid")
	// ErrSyntax is wrapped by errors about a file that is not TOML.
	ErrSyntax = errors.New("not valid TOML")
	// ErrEmpty: the file holds nothing (a truncated copy, a failed edit): refused rather than read
	// as every default, which would read no clock and publish nowhere anyone listens.
	ErrEmpty = errors.New("the file is empty")
)

// KeyError is a problem with one key of one file.
type KeyError struct {
	File string // "" when the config was not read from a file
	Key  string // full key path, with array indexes: clock[1].url
	Msg  string
}

func (e *KeyError) Error() string {
	p := "config"
	if e.File != "" {
		p += " " + e.File
	}
	return p + ": " + e.Key + ": " + e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *KeyError) Unwrap() error { return ErrInvalid }

// LoadDaemon loads the file as punchd does at start (punchctl config check asks the same): an
// empty file is refused rather than run as every default, reading no clock.
func LoadDaemon(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Config{}, fmt.Errorf("config %s: %w (%d bytes): start from the commented example (punchd.example.toml) and set at least [[clock]] and [mqtt]", path, ErrEmpty, len(data))
	}
	return Load(path)
}

// Load reads, decodes and validates the file at path. An empty file is every default (offline
// tools accept it; the daemon does not: LoadDaemon).
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Parse decodes data over Default(). name is used in error messages. It checks keys and the
// syntax of values (times, dates, durations, integer ranges) but not their meaning: call Validate.
func Parse(data []byte, name string) (Config, error) {
	cfg := Default()
	cfg.source = name

	// First pass: the document as a tree, checked against the Config type so that unknown keys and
	// unparsable values are reported with their full path (toml's own errors do not index arrays).
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return Config{}, syntaxError(name, err)
	}
	var errs []error
	checkTree(name, "", raw, reflect.TypeFor[Config](), &errs)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}

	// Arrays of tables replace the defaults; each entry starts from its own defaults.
	if v, ok := raw["schedule"].([]map[string]any); ok {
		cfg.Schedule = make([]Schedule, len(v))
		for i := range cfg.Schedule {
			cfg.Schedule[i] = DefaultSchedule()
			for _, k := range []string{"am_in", "am_out", "pm_in", "pm_out"} {
				if _, ok := v[i][k]; !ok {
					errs = append(errs, &KeyError{name, fmt.Sprintf("schedule[%d].%s", i, k), "is missing"})
				}
			}
		}
	}
	if v, ok := raw["clock"].([]map[string]any); ok {
		cfg.Clock = make([]Clock, len(v))
		for i := range cfg.Clock {
			cfg.Clock[i] = DefaultClock()
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}

	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return Config{}, syntaxError(name, err)
	}
	for _, k := range md.Undecoded() {
		errs = append(errs, &KeyError{name, k.String(), "unknown key"})
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}

	// Names derived from the site unless given.
	if md.IsDefined("site", "name") {
		if !md.IsDefined("mqtt", "client_id") {
			cfg.MQTT.ClientID = "punchd-" + cfg.Site.Name
		}
		if !md.IsDefined("mqtt", "topic_prefix") {
			cfg.MQTT.TopicPrefix = "punchd/" + cfg.Site.Name
		}
	}
	// The API socket lives beside the store unless given, so that two configs with two stores
	// never share (or fight over) one socket, and punchctl --config finds its own daemon.
	if !md.IsDefined("api", "socket") || cfg.API.Socket == "" {
		cfg.API.Socket = cfg.DefaultSocket()
	}
	if cfg.Reports.FileAt != "" {
		day, at, err := parseFileAt(cfg.Reports.FileAt)
		if err != nil {
			return Config{}, &KeyError{name, "reports.file_at", err.Error()}
		}
		if (md.IsDefined("reports", "file_day") && cfg.Reports.FileDay != day) ||
			(md.IsDefined("reports", "file_time") && cfg.Reports.FileTime != at) {
			return Config{}, &KeyError{name, "reports.file_at", fmt.Sprintf("%q disagrees with reports.file_day/file_time; set one or the other", cfg.Reports.FileAt)}
		}
		cfg.Reports.FileDay, cfg.Reports.FileTime = day, at
	}
	return cfg, nil
}

func syntaxError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		if pe.LastKey != "" {
			return fmt.Errorf("config %s: line %d: %s: %w: %s", name, pe.Position.Line, pe.LastKey, ErrSyntax, pe.Message)
		}
		return fmt.Errorf("config %s: line %d: %w: %s", name, pe.Position.Line, ErrSyntax, pe.Message)
	}
	return fmt.Errorf("config %s: %w: %v", name, ErrSyntax, err)
}

// parseFileAt parses "DD HH:MM".
func parseFileAt(s string) (int64, attendance.TimeOfDay, error) {
	f := strings.Fields(s)
	bad := fmt.Errorf("%q is not a day of month and a time \"DD HH:MM\"", s)
	if len(f) != 2 {
		return 0, 0, bad
	}
	var day int64
	if _, err := fmt.Sscanf(f[0], "%d", &day); err != nil || len(f[0]) > 2 {
		return 0, 0, bad
	}
	at, err := attendance.ParseTimeOfDay(f[1])
	if err != nil {
		return 0, 0, bad
	}
	return day, at, nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// checkTree walks a decoded TOML value v against the Go type t, reporting unknown keys and values
// that would not decode, each under its full key path.
func checkTree(file, path string, v any, t reflect.Type, errs *[]error) {
	bad := func(msg string) { *errs = append(*errs, &KeyError{file, path, msg}) }
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case int64:
			s = fmt.Sprint(x)
		default:
			bad(fmt.Sprintf("is a %s, want a string", tomlType(v)))
			return
		}
		u := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(s)); err != nil {
			bad(cleanMsg(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			bad(fmt.Sprintf("is a %s, want a table", tomlType(v)))
			return
		}
		fields := map[string]reflect.StructField{}
		for i := range t.NumField() {
			f := t.Field(i)
			if tag := f.Tag.Get("toml"); tag != "" && f.IsExported() {
				fields[tag] = f
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			f, ok := fields[k]
			if !ok {
				*errs = append(*errs, &KeyError{file, sub, "unknown key"})
				continue
			}
			checkTree(file, sub, m[k], f.Type, errs)
		}
	case reflect.Slice:
		rv := reflect.ValueOf(v)
		if v == nil || rv.Kind() != reflect.Slice {
			bad(fmt.Sprintf("is a %s, want an array", tomlType(v)))
			return
		}
		for i := range rv.Len() {
			checkTree(file, fmt.Sprintf("%s[%d]", path, i), rv.Index(i).Interface(), t.Elem(), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad(fmt.Sprintf("is a %s, want a string", tomlType(v)))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad(fmt.Sprintf("is a %s, want true or false", tomlType(v)))
		}
	case reflect.Int, reflect.Int64:
		if _, ok := v.(int64); !ok {
			bad(fmt.Sprintf("is a %s, want an integer", tomlType(v)))
		}
	case reflect.Float64:
		switch v.(type) {
		case int64, float64:
		default:
			bad(fmt.Sprintf("is a %s, want a number", tomlType(v)))
		}
	default:
		bad(fmt.Sprintf("cannot be decoded into %s", t))
	}
}

func tomlType(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "special float"
		}
		return "float"
	case bool:
		return "boolean"
	case map[string]any:
		return "table"
	case []map[string]any, []any:
		return "array"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

// cleanMsg drops the package prefix of a value error so the message reads after the key.
func cleanMsg(err error) string {
	msg := err.Error()
	if errors.Is(err, attendance.ErrBadDate) {
		msg = strings.TrimPrefix(msg, attendance.ErrBadDate.Error()+": ")
	}
	return strings.TrimPrefix(msg, "attendance: ")
}
