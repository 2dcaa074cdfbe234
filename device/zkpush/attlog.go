// Package zkpush is the server side of ZKTeco's PUSH protocol ("ADMS", "iclock" over HTTP): newer
// terminals call punchd instead of being polled. It serves /iclock/cdata (the handshake and the
// ATTLOG/OPERLOG uploads), /iclock/getrequest and /iclock/devicecmd for the serial numbers it is
// configured with, answers with the options that make a device resend from the last stamp punchd
// acknowledged, and hands each upload's punches to a Sink that commits them. PROTOCOL.md holds the
// protocol's facts with their public sources.
//
// It owns the HTTP wire format and nothing else: it never judges, stores or publishes. A stamp is
// saved only after the Sink committed the upload it acknowledges, so a failed commit is sent again.
package zkpush

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jinbi/punchd/device"
)

// Errors of this package.
var (
	// ErrMalformed: an ATTLOG line without a user id and a date-time, or with fields that are not numbers.
	ErrMalformed = errors.New("zkpush: malformed ATTLOG line")
	// ErrBadDate: an ATTLOG line whose date-time has the right shape but names no real moment.
	ErrBadDate = errors.New("zkpush: impossible date in ATTLOG line")
	// ErrMalformedOperLog: an OPERLOG line that names an operation or a user but cannot be read.
	ErrMalformedOperLog = errors.New("zkpush: malformed OPERLOG line")
	// ErrBadURL: a zk+push URL that cannot be served.
	ErrBadURL = errors.New("zkpush: bad zk+push URL")
)

// Scheme is the clock URL scheme of a PUSH device: zk+push://LISTEN_HOST:PORT?sn=SERIAL.
const Scheme = "zk+push"

// ParseURL reads a zk+push URL: the address to listen on and the one serial number accepted there.
// Several [[clock]]s may share an address, each with its own sn.
func ParseURL(raw string) (addr, serial string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != Scheme {
		return "", "", fmt.Errorf("%w %q: not a %s:// URL", ErrBadURL, raw, Scheme)
	}
	if u.Port() == "" {
		return "", "", fmt.Errorf("%w %q: no port to listen on (like %s://0.0.0.0:8088?sn=SERIAL)", ErrBadURL, raw, Scheme)
	}
	if n, err := strconv.Atoi(u.Port()); err != nil || n < 0 || n > 65535 {
		return "", "", fmt.Errorf("%w %q: port %q is not 0..65535", ErrBadURL, raw, u.Port())
	}
	serial = u.Query().Get("sn")
	if !validSerial(serial) {
		return "", "", fmt.Errorf("%w %q: sn=%q is not a serial number (1..64 letters, digits, - or _)", ErrBadURL, raw, serial)
	}
	return u.Host, serial, nil
}

func validSerial(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// ParseAttLog reads one ATTLOG line as a device uploads it: tab-separated PIN, "YYYY-MM-DD
// HH:MM:SS" (the device's wall time, read in loc), status (the in/out key), verify mode, and on
// newer firmware a work code and reserved fields. The punch's Clock is serial and Raw the line.
func ParseAttLog(line, serial string, loc *time.Location) (device.Punch, error) {
	f := strings.Split(strings.TrimRight(line, "\r"), "\t")
	if len(f) < 2 {
		return device.Punch{}, fmt.Errorf("%w: %d field(s), want PIN, date-time, status, verify", ErrMalformed, len(f))
	}
	p := device.Punch{Clock: serial, UserID: strings.TrimSpace(f[0]), Raw: []byte(line)}
	if p.UserID == "" || len(p.UserID) > 24 || strings.ContainsFunc(p.UserID, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return device.Punch{}, fmt.Errorf("%w: user id %q", ErrMalformed, p.UserID)
	}
	t, err := parseTime(strings.TrimSpace(f[1]), loc)
	if err != nil {
		return device.Punch{}, err
	}
	p.Time = t
	small := func(i int, name string) (uint8, error) {
		if len(f) <= i || strings.TrimSpace(f[i]) == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(strings.TrimSpace(f[i]), 10, 8)
		if err != nil {
			return 0, fmt.Errorf("%w: %s %q is not 0..255", ErrMalformed, name, f[i])
		}
		return uint8(n), nil
	}
	if p.State, err = small(2, "status"); err != nil {
		return device.Punch{}, err
	}
	if p.Verify, err = small(3, "verify"); err != nil {
		return device.Punch{}, err
	}
	if len(f) > 4 && strings.TrimSpace(f[4]) != "" {
		// A work code is a number on most firmware; a text one is kept in Raw only.
		if n, err := strconv.ParseUint(strings.TrimSpace(f[4]), 10, 32); err == nil {
			p.WorkCode = uint32(n)
		}
	}
	return p, nil
}

// parseTime reads "YYYY-MM-DD HH:MM:SS": a line of the wrong shape is malformed, a right-shaped one
// naming no real moment (2021-02-30, 25:00) has a bad date.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	const layout = "2006-01-02 15:04:05"
	if len(s) != len(layout) || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
		strings.ContainsFunc(s[:4]+s[5:7]+s[8:10]+s[11:13]+s[14:16]+s[17:], func(r rune) bool { return r < '0' || r > '9' }) {
		return time.Time{}, fmt.Errorf("%w: date-time %q is not YYYY-MM-DD HH:MM:SS", ErrMalformed, s)
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q: %v", ErrBadDate, s, err)
	}
	return t, nil
}
