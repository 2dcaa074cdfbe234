package ingest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/pull"
)

// TimeJump is how far a clock's offset (its time minus the host's) may move between two pulls
// before the clock counts as set by someone: a quartz clock drifts seconds a day, and punchd's own
// corrections are known (pull.Pull.TimeSet).
const TimeJump = time.Minute

// nearFull reports whether records fill at least 90 % of capacity.
func nearFull(records, capacity int) bool { return capacity > 0 && records*10 >= capacity*9 }

// pullState is what the previous committed pull of a clock left behind, for clockAlerts.
type pullState struct {
	had       bool           // a pull was committed before
	count     int            // records it saw
	records   int            // the clock's own record count then
	offset    *time.Duration // the clock's offset after it; nil when unknown
	rewritten bool           // its last record is no longer where it was although the log did not shrink
	users     []device.User  // the user table stored from an earlier pull; nil when none
}

// clockAlerts decides the alerts one pull raises against the state the previous one left: the log
// cleared, rewritten or shrunk (unless this loop cleared it), users enrolled, removed or given
// other privileges (only when both tables are known), the clock's time moved by more than TimeJump,
// and the log crossing 90 % of its capacity (once per crossing).
func clockAlerts(site string, r pull.Pull, prev pullState, loc *time.Location) []event.ClockAlert {
	count := r.From + len(r.Punches)
	at := r.At.In(loc)
	var out []event.ClockAlert
	add := func(kind event.AlertKind, subject, detail string, fill func(*event.ClockAlert)) {
		a := event.ClockAlert{ID: event.AlertID(site, r.Clock, kind, subject, r.At), Kind: kind, Site: site, Clock: r.Clock,
			Serial: r.Info.Serial, At: at.Format(time.RFC3339), Detail: detail}
		if fill != nil {
			fill(&a)
		}
		out = append(out, a)
	}
	logFill := func(a *event.ClockAlert) {
		a.Records, a.RecordsWas = ptr(count), ptr(prev.count)
		if r.Info.RecordCap > 0 {
			a.Capacity = ptr(r.Info.RecordCap)
		}
	}
	switch {
	case !prev.had || r.Cleared:
	case count == 0 && prev.count > 0:
		add(event.AlertLogCleared, "", fmt.Sprintf("the attendance log was cleared on the clock (%d records before, none now)", prev.count), logFill)
	case prev.rewritten:
		add(event.AlertLogCleared, "", fmt.Sprintf("the attendance log was cleared and refilled: its record %d is not the one read before", prev.count), logFill)
	case count < prev.count:
		add(event.AlertLogShrunk, "", fmt.Sprintf("the attendance log shrank from %d to %d records", prev.count, count), logFill)
	}

	if nearFull(r.Info.Records, r.Info.RecordCap) && (!prev.had || !nearFull(prev.records, r.Info.RecordCap)) {
		add(event.AlertLogNearFull, "", fmt.Sprintf("the attendance log holds %d of %d records (%d %%)", r.Info.Records, r.Info.RecordCap,
			r.Info.Records*100/r.Info.RecordCap), func(a *event.ClockAlert) {
			a.Records, a.Capacity = ptr(r.Info.Records), ptr(r.Info.RecordCap)
			if prev.had {
				a.RecordsWas = ptr(prev.records)
			}
		})
	}

	if prev.offset != nil && !r.Info.Time.IsZero() {
		if jump := r.Offset - *prev.offset; jump >= TimeJump || jump <= -TimeJump {
			add(event.AlertTimeMoved, "", fmt.Sprintf("the clock's time was moved by %s since the last pull (offset %s, was %s)",
				jump, r.Offset, *prev.offset), func(a *event.ClockAlert) {
				a.OffsetSeconds, a.OffsetWasSeconds = ptr(r.Offset.Seconds()), ptr(prev.offset.Seconds())
			})
		}
	}

	if prev.users == nil || r.Users == nil {
		return out
	}
	old := make(map[string]device.User, len(prev.users))
	for _, u := range prev.users {
		old[u.UserID] = u
	}
	userFill := func(u device.User) func(*event.ClockAlert) {
		return func(a *event.ClockAlert) { a.UserID, a.Name, a.Privilege = u.UserID, u.Name, ptr(int(u.Privilege)) }
	}
	for _, u := range r.Users {
		was, ok := old[u.UserID]
		delete(old, u.UserID)
		switch {
		case !ok:
			add(event.AlertUserEnrolled, u.UserID, fmt.Sprintf("user %s (%s) was enrolled on the clock with privilege %d", u.UserID, u.Name, u.Privilege), userFill(u))
		case was.Privilege != u.Privilege:
			fill := userFill(u)
			add(event.AlertAdminChanged, u.UserID, fmt.Sprintf("the privilege of user %s (%s) changed from %d to %d", u.UserID, u.Name, was.Privilege, u.Privilege),
				func(a *event.ClockAlert) { fill(a); a.PrivilegeWas = ptr(int(was.Privilege)) })
		}
	}
	for _, u := range prev.users {
		if _, gone := old[u.UserID]; gone {
			add(event.AlertUserRemoved, u.UserID, fmt.Sprintf("user %s (%s) was removed from the clock", u.UserID, u.Name), userFill(u))
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// alertEntries turns alerts into outbox entries on {prefix}/clocks/{clock}/alerts.
func (e *Engine) alertEntries(alerts []event.ClockAlert, at time.Time) ([]store.OutboxEntry, error) {
	out := make([]store.OutboxEntry, 0, len(alerts))
	for _, a := range alerts {
		payload, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("clock %s: alert %s: encode: %w", a.Clock, a.Kind, err)
		}
		out = append(out, store.OutboxEntry{Topic: event.ClockAlertsTopic(e.cfg.Prefix, a.Clock), Payload: payload, EnqueuedAt: at})
	}
	return out, nil
}
