// Package audit is the record of every change a person makes through punchd — who, when, what,
// from where — kept in the store, listed by `punchctl audit` and published on {prefix}/audit.
//
// It owns the entry's shape and the actor carried in a request's context. Code that changes
// something (the service behind the local API and the web console) makes the change's Note with
// Log.Note, from the actor the front end (web session, API socket, punchctl) put in the context,
// and hands it to the store with the change: both are written in one transaction. It must not
// import the store.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Actor is who makes a change and through what.
type Actor struct {
	Name string // the web account, or the local user running punchctl
	Role string // the account's role (clerk, supervisor, viewer); empty for local users
	From string // the remote address (web), "local" (the API socket or the stopped store)
	Via  string // ViaWeb, ViaAPI or ViaCLI
}

// The ways a change reaches punchd.
const (
	ViaWeb = "web"      // the web console
	ViaAPI = "api"      // punchctl through the daemon's socket
	ViaCLI = "punchctl" // punchctl on the store while the daemon is stopped
)

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Actions, the "what" of an entry: a noun and a verb.
const (
	RegistrationAdd    = "registration.add"
	RegistrationRevoke = "registration.revoke"
	AccountAdd         = "account.add"
	AccountPasswd      = "account.passwd"
	AccountRemove      = "account.remove"
	RosterPut          = "roster.put"
	MarkSet            = "mark.set"
	FindingAdd         = "finding.add"
	FindingRevoke      = "finding.revoke"
)

// Entry is one change. Entries are never edited or deleted.
type Entry struct {
	ID     string    `json:"id"` // "A" + 8 digits, assigned by the store
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Role   string    `json:"role,omitempty"`
	From   string    `json:"from"`
	Via    string    `json:"via"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"` // what was changed: a registration id, an account name, …
	Detail string    `json:"detail,omitempty"` // a readable summary of the change
	Site   string    `json:"site,omitempty"`
}

// ErrInvalid: an entry without its time, actor or action.
var ErrInvalid = errors.New("audit: invalid entry")

// Validate checks the fields every entry has.
func (e Entry) Validate() error {
	switch {
	case e.At.IsZero():
		return fmt.Errorf("%w: no time", ErrInvalid)
	case strings.TrimSpace(e.Who) == "":
		return fmt.Errorf("%w: %s: no actor", ErrInvalid, e.Action)
	case strings.TrimSpace(e.Action) == "":
		return fmt.Errorf("%w: no action", ErrInvalid)
	}
	return nil
}

// Payload is the entry as published on {prefix}/audit.
func (e Entry) Payload() ([]byte, error) { return json.Marshal(e) }

// EventID is the entry's stable id on MQTT.
func (e Entry) EventID() string { return "audit/" + e.ID }

// Topic is the MQTT topic audit entries are published on.
func Topic(prefix string) string { return prefix + "/audit" }

// Note is an entry made for a change before the change is stored, with the topic its message is
// published on. The store writes both in the change's own bbolt transaction (store.Change), so a
// change is never stored without its entry, nor an entry without its change.
type Note struct {
	Entry Entry
	Topic string
}

// Log makes the entries of changes and reports them once stored. It is safe for concurrent use.
type Log struct {
	topic  string
	site   string
	now    func() time.Time
	notify func()
	log    *slog.Logger
}

// Options configure a Log.
type Options struct {
	Prefix   string           // [mqtt] topic_prefix
	Site     string           // [site] name
	Now      func() time.Time // nil: time.Now
	Location *time.Location   // entries carry the site's offset, as the events do; nil: Now's
	Notify   func()           // wakes the publisher after an entry is queued; nil: none
	Logger   *slog.Logger     // nil: discard
}

// New returns a Log.
func New(o Options) *Log {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location != nil {
		now := o.Now
		o.Now = func() time.Time { return now().In(o.Location) }
	}
	return &Log{topic: Topic(o.Prefix), site: o.Site, now: o.Now, notify: o.Notify, log: o.Logger}
}

// Unknown is the actor recorded when a change arrives with none in its context: it is still
// recorded, and the log says so.
var Unknown = Actor{Name: "unknown", From: "unknown", Via: "unknown"}

// Note makes the entry of a change for the actor in ctx, to be stored with the change
// (store.Change). An invalid entry (an actor without a name) is refused before anything is stored.
func (l *Log) Note(ctx context.Context, action, target, detail string) (Note, error) {
	a, ok := ActorFrom(ctx)
	if !ok {
		l.log.Warn("change without an actor in its context", "action", action, "target", target)
		a = Unknown
	}
	e := Entry{At: l.now().Truncate(time.Second), Who: a.Name, Role: a.Role, From: a.From, Via: a.Via,
		Action: action, Target: target, Detail: detail, Site: l.site}
	if err := e.Validate(); err != nil {
		return Note{}, fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return Note{Entry: e, Topic: l.topic}, nil
}

// Stored logs the entries the store wrote with their change (their IDs assigned) and wakes the
// publisher for their messages.
func (l *Log) Stored(notes ...Note) {
	for _, n := range notes {
		e := n.Entry
		l.log.Info("audit", "id", e.ID, "who", e.Who, "from", e.From, "via", e.Via, "action", e.Action, "target", e.Target)
	}
	if len(notes) > 0 && l.notify != nil {
		l.notify()
	}
}

// Change records one change: it makes the change's note for the actor in ctx, calls put to store
// the change with it in one transaction (store.Change{Audit: notes}), and reports it stored. Nothing
// is stored when the note cannot be made.
func (l *Log) Change(ctx context.Context, action, target, detail string, put func(notes []Note) error) error {
	n, err := l.Note(ctx, action, target, detail)
	if err != nil {
		return err
	}
	notes := []Note{n}
	if err := put(notes); err != nil {
		return err
	}
	l.Stored(notes...)
	return nil
}

// RegistrationDetail is the readable detail of adding (RegistrationAdd) or revoking
// (RegistrationRevoke) r, its times in loc.
func RegistrationDetail(action string, r attendance.Registration, loc *time.Location) string {
	const layout = "2006-01-02 15:04"
	if action == RegistrationRevoke {
		return fmt.Sprintf("%s %s revoked: %s", r.UserID, r.Kind, r.RevokeReason)
	}
	return fmt.Sprintf("%s %s %s–%s %s", r.UserID, r.Kind, r.From.In(loc).Format(layout), r.To.In(loc).Format(layout), r.Reason)
}
