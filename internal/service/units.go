package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/audit"
	"github.com/jinbi/punchd/internal/event"
	"github.com/jinbi/punchd/internal/rules"
	"github.com/jinbi/punchd/internal/store"
	"github.com/jinbi/punchd/sync/ingest"
)

// ErrNotKeptByMarks: marks for a unit whose people punch a clock, or for a person not in the unit.
var ErrNotKeptByMarks = errors.New("not kept by marks")

// keptUnit is the [[unit]] named, which must keep its people by marks (a village, a station
// without a clock).
func (s *Service) keptUnit(name string) (attendance.Unit, error) {
	u, err := s.cfg.LookupUnit(name)
	if err != nil {
		return u, fmt.Errorf("unit %w", err)
	}
	if u.HasClock {
		return u, fmt.Errorf("unit %q: its people punch a clock and are judged from it: %w", name, ErrNotKeptByMarks)
	}
	return u, nil
}

// SetMarks stores a unit's marks, all or none: every mark's unit must be a [[unit]] kept by marks
// and its person on the roster in that unit on that day; recorded_by is required and recorded_at is
// the time it is stored (whole seconds). The events the marks raise — village_absent for a village's
// ×, conflict for a √ the cross-check refutes, retractions of those no longer standing — and the
// marks' audit entries are stored in the same transaction.
func (s *Service) SetMarks(ctx context.Context, marks []attendance.DayMark) error {
	people, err := s.db.Roster()
	if err != nil {
		return fmt.Errorf("marks: roster: %w", err)
	}
	at := s.stamp()
	checked := map[string]bool{}
	for i := range marks {
		m := &marks[i]
		if !checked[m.Unit] {
			if _, err := s.keptUnit(m.Unit); err != nil {
				return fmt.Errorf("marks: %w", err)
			}
			checked[m.Unit] = true
		}
		if !slices.ContainsFunc(people, func(p attendance.Person) bool {
			return p.UserID == m.UserID && p.Unit == m.Unit && p.Active(m.Date)
		}) {
			return fmt.Errorf("marks: user %q on %s is not on the roster of %s: %w", m.UserID, m.Date, m.Unit, ErrNotKeptByMarks)
		}
		if strings.TrimSpace(m.RecordedBy) == "" {
			return errors.New("marks: --by is required: every mark says who recorded it")
		}
		m.RecordedAt = at
	}
	notes := make([]audit.Note, len(marks))
	for i, m := range marks {
		if notes[i], err = s.audit.Note(ctx, audit.MarkSet, m.Unit+" "+m.UserID+" "+m.Date.String(), string(m.Mark)+markSource(m)); err != nil {
			return err
		}
	}
	s.units.Lock()
	defer s.units.Unlock()
	events, err := s.unitEvents(marks, attendance.Registration{}, nil)
	if err != nil {
		return fmt.Errorf("marks: events: %w", err)
	}
	if _, err := s.db.Commit(ctx, store.Batch{Marks: marks, Outbox: events, Audit: notes}); err != nil {
		return err
	}
	s.audit.Stored(notes...)
	return nil
}

func markSource(m attendance.DayMark) string {
	if m.Source == "" {
		return ""
	}
	return " (" + m.Source + ")"
}

// Marks lists the marks of unit ("" = every unit) in [from, to].
func (s *Service) Marks(ctx context.Context, unit string, from, to attendance.Date) ([]attendance.DayMark, error) {
	return s.db.Marks(unit, from, to)
}

// AddFinding stores a finding of a check on site; its unit must be a [[unit]] when units are
// configured and its person (if any) on the roster.
func (s *Service) AddFinding(ctx context.Context, f attendance.Finding) (attendance.Finding, error) {
	if len(s.cfg.Unit) > 0 {
		if _, err := s.cfg.LookupUnit(f.Unit); err != nil {
			return f, fmt.Errorf("finding: unit %w", err)
		}
	}
	if f.UserID != "" {
		people, err := s.db.Roster()
		if err != nil {
			return f, fmt.Errorf("finding: roster: %w", err)
		}
		if len(people) > 0 && !slices.ContainsFunc(people, func(p attendance.Person) bool { return p.UserID == f.UserID }) {
			return f, fmt.Errorf("finding: user %q is %w", f.UserID, ErrNotOnRoster)
		}
	}
	f.ID, f.RecordedAt = "", s.stamp()
	var saved attendance.Finding
	err := s.audit.Change(ctx, audit.FindingAdd, "", fmt.Sprintf("%s %s %s %s: %s", f.Date, f.Unit, f.UserID, f.Kind, f.Text), func(n []audit.Note) error {
		var err error
		saved, err = s.db.AddFinding(f, &store.Change{Audit: n})
		return err
	})
	return saved, err
}

// Findings lists the findings dated in [from, to], revoked ones too.
func (s *Service) Findings(ctx context.Context, from, to attendance.Date) ([]attendance.Finding, error) {
	return s.db.Findings(from, to)
}

// RevokeFinding records who revoked a finding and why.
func (s *Service) RevokeFinding(ctx context.Context, id, by, reason string) (attendance.Finding, error) {
	if strings.TrimSpace(by) == "" {
		return attendance.Finding{}, ErrNoRevoker
	}
	var f attendance.Finding
	err := s.audit.Change(ctx, audit.FindingRevoke, id, reason, func(n []audit.Note) error {
		var err error
		f, err = s.db.RevokeFinding(id, by, reason, s.stamp(), &store.Change{Audit: n})
		return err
	})
	return f, err
}

// Conflicts runs the cross-check (rules.CrossCheck) over [from, to] for everyone a village keeps.
func (s *Service) Conflicts(ctx context.Context, from, to attendance.Date) ([]attendance.Conflict, error) {
	loc := s.cfg.Location()
	var out []attendance.Conflict
	for _, u := range s.cfg.Units() {
		if u.Kind != attendance.UnitVillage {
			continue
		}
		marks, err := s.db.Marks(u.Name, from, to)
		if err != nil {
			return nil, err
		}
		byUser := map[string][]attendance.DayMark{}
		for _, m := range marks {
			if m.Mark == attendance.MarkPresent {
				byUser[m.UserID] = append(byUser[m.UserID], m)
			}
		}
		users := make([]string, 0, len(byUser))
		for id := range byUser {
			users = append(users, id)
		}
		slices.Sort(users)
		for _, id := range users {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start, end := from.Start(loc), to.AddDays(1).Start(loc)
			punches, err := s.db.PunchesFor(id, start, end)
			if err != nil {
				return nil, err
			}
			if len(punches) == 0 {
				continue
			}
			regs, err := s.db.RegistrationsFor(id, start, end)
			if err != nil {
				return nil, err
			}
			cs, err := rules.CrossCheck(u, id, byUser[id], punches, regs, s.cal, loc)
			if err != nil {
				return nil, fmt.Errorf("cross-check %s of %s: %w", id, u.Name, err)
			}
			out = append(out, cs...)
		}
	}
	slices.SortFunc(out, func(a, b attendance.Conflict) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return out, nil
}

// checkKeptByMarks accepts a return registration only for a person a village keeps, approved by its
// leader (when the unit names one). Other registrations for people kept by marks excuse nothing:
// they are refused saying so.
func (s *Service) checkKeptByMarks(r attendance.Registration) (handled bool, err error) {
	people, err := s.db.Roster()
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(people, func(p attendance.Person) bool { return p.UserID == r.UserID })
	if i < 0 || len(s.cfg.Unit) == 0 {
		return false, nil
	}
	p := people[i]
	u, ok := s.cfg.UnitByName(p.Unit)
	if !ok || u.HasClock {
		if r.Kind == attendance.KindReturn {
			return true, fmt.Errorf("registration: a return is a village-posted person's; %s (%s) is in %s, judged from the clock", p.Name, p.UserID, p.Unit)
		}
		return false, nil
	}
	if r.Kind != attendance.KindReturn {
		return true, fmt.Errorf("registration: %s (%s) is kept by the marks of %s, not by the clock: a %s registration excuses nothing (punchctl marks set records 假/差; --kind return records a return to the office)", p.Name, p.UserID, p.Unit, r.Kind)
	}
	if u.Kind != attendance.UnitVillage {
		return true, fmt.Errorf("registration: a return is a village-posted person's; %s is a %s", u.Name, u.Kind)
	}
	if u.Leader != "" && r.ApprovedBy != u.Leader {
		return true, fmt.Errorf("registration: a return from %s is approved by its 挂点领导 %s, not %q", u.Name, u.Leader, r.ApprovedBy)
	}
	return true, nil
}

// returnEvents are the events of the days a return registration r covers, the cross-check run
// again with r as it is about to be stored (added, or revoked): a conflict it clears is retracted,
// one it no longer clears raised again.
func (s *Service) returnEvents(r attendance.Registration) ([]store.OutboxEntry, error) {
	loc := s.cfg.Location()
	to := r.To
	if to.IsZero() {
		to = r.From
	}
	all, err := s.db.Marks("", attendance.DateOf(r.From.In(loc)), attendance.DateOf(to.In(loc)))
	if err != nil {
		return nil, err
	}
	marks := slices.DeleteFunc(all, func(m attendance.DayMark) bool { return m.UserID != r.UserID })
	if len(marks) == 0 {
		return nil, nil
	}
	return s.unitEvents(marks, r, nil)
}

// PunchesArrived implements ingest.CrossCheck: the cross-check of the marked days new punches fall
// on, run as SetMarks runs it (unitEvents), its events handed to commit with the punches. A punch
// read after the village's √ for its day raises the conflict then, not when the marks are set again.
func (s *Service) PunchesArrived(ctx context.Context, days []ingest.PunchedDay, unstored []device.Punch, commit func([]store.OutboxEntry) error) error {
	if !slices.ContainsFunc(s.cfg.Units(), func(u attendance.Unit) bool { return u.Kind == attendance.UnitVillage }) || len(days) == 0 {
		return commit(nil)
	}
	s.units.Lock()
	defer s.units.Unlock()
	events, err := s.punchedEvents(days, unstored)
	if err != nil {
		return fmt.Errorf("cross-check of %d punched days: %w", len(days), err)
	}
	return commit(events)
}

// punchedEvents are the events of the marks on days (sorted by date), the cross-check counting
// unstored as stored.
func (s *Service) punchedEvents(days []ingest.PunchedDay, unstored []device.Punch) ([]store.OutboxEntry, error) {
	type uk struct {
		user string
		date attendance.Date
	}
	want := make(map[uk]bool, len(days))
	for _, d := range days {
		want[uk{d.UserID, d.Date}] = true
	}
	from, to := laterDate(days[0].Date, s.since), days[len(days)-1].Date
	if from.After(to) {
		return nil, nil // no events before events_since
	}
	all, err := s.db.Marks("", from, to)
	if err != nil {
		return nil, err
	}
	marks := slices.DeleteFunc(all, func(m attendance.DayMark) bool { return !want[uk{m.UserID, m.Date}] })
	if len(marks) == 0 {
		return nil, nil
	}
	return s.unitEvents(marks, attendance.Registration{}, unstored)
}

func laterDate(a, b attendance.Date) attendance.Date {
	if a.After(b) {
		return a
	}
	return b
}

// unitEvents are the events a batch of marks raises or retracts, for the days since events_since:
// village_absent for a village's × day, conflict for a village's √ day the cross-check refutes.
// An event already published with the same content is not sent again; one that no longer stands
// is sent once more, retracted. pending, when it has a user id, is a registration about to be
// stored: the cross-check counts it as stored (replacing the stored one with its id); so are the
// punches of unstored, about to be stored with the events.
func (s *Service) unitEvents(marks []attendance.DayMark, pending attendance.Registration, unstored []device.Punch) ([]store.OutboxEntry, error) {
	loc := s.cfg.Location()
	now := s.stamp().In(loc)
	people, err := s.db.Roster()
	if err != nil {
		return nil, err
	}
	person := map[string]attendance.Person{}
	for _, p := range people {
		person[p.UserID] = p
	}
	clockName := map[string]string{}
	if wms, err := s.db.Watermarks(); err == nil {
		for name, wm := range wms {
			clockName[wm.Serial] = name
		}
	}
	type uk struct{ unit, user string }
	byUser := map[uk][]attendance.DayMark{}
	var order []uk
	for _, m := range marks {
		if m.Date.Before(s.since) {
			continue
		}
		k := uk{m.Unit, m.UserID}
		if _, ok := byUser[k]; !ok {
			order = append(order, k)
		}
		byUser[k] = append(byUser[k], m)
	}
	var out []store.OutboxEntry
	emit := func(src event.Source, d attendance.Date, a attendance.Anomaly, current bool) error {
		id := event.ID(s.cfg.Site.Name, src.UserID, d, "", a.Kind)
		rev, hash, published, err := s.db.PublishedEvent(id)
		if err != nil {
			return fmt.Errorf("event %s: read published revision: %w", id, err)
		}
		if !current && !published {
			return nil
		}
		ev := event.FromAnomaly(src, d, a, rev+1, now)
		h := unitEventHash(ev)
		if published && bytes.Equal(h, hash) {
			return nil
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("event %s: encode: %w", id, err)
		}
		out = append(out, store.OutboxEntry{Topic: event.Topic(s.cfg.MQTT.TopicPrefix, a.Kind), Payload: payload,
			EnqueuedAt: now, EventID: id, Rev: ev.Rev, Hash: h})
		return nil
	}
	for _, k := range order {
		u, ok := s.cfg.UnitByName(k.unit)
		if !ok || u.Kind != attendance.UnitVillage {
			continue
		}
		ms := byUser[k]
		p := person[k.user]
		src := event.Source{Site: s.cfg.Site.Name, UserID: k.user, Name: p.Name, Unit: k.unit}
		from, to := ms[0].Date, ms[0].Date
		for _, m := range ms {
			if m.Date.Before(from) {
				from = m.Date
			}
			if m.Date.After(to) {
				to = m.Date
			}
		}
		start, end := from.Start(loc), to.AddDays(1).Start(loc)
		punches, err := s.db.PunchesFor(k.user, start, end)
		if err != nil {
			return nil, err
		}
		if n := len(punches); len(unstored) > 0 {
			for _, p := range unstored {
				if p.UserID == k.user && !p.Time.Before(start) && p.Time.Before(end) {
					punches = append(punches, p)
				}
			}
			if len(punches) > n { // in time order as the store gives them: the first in working hours is the conflict's
				slices.SortStableFunc(punches, func(a, b device.Punch) int { return a.Time.Compare(b.Time) })
			}
		}
		regs, err := s.db.RegistrationsFor(k.user, start, end)
		if err != nil {
			return nil, err
		}
		if pending.UserID == k.user {
			regs = slices.DeleteFunc(regs, func(r attendance.Registration) bool { return r.ID != "" && r.ID == pending.ID })
			regs = append(regs, pending)
		}
		conflicts, err := rules.CrossCheck(u, k.user, ms, punches, regs, s.cal, loc)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			sched, err := s.cal.Schedule(m.Date)
			if err != nil {
				return nil, err
			}
			absent := m.Mark == attendance.MarkAbsent
			if err := emit(src, m.Date, rules.VillageAbsence(m.Date, sched, loc, !absent), absent); err != nil {
				return nil, err
			}
			c := attendance.Conflict{UserID: k.user, Unit: k.unit, Date: m.Date}
			i := slices.IndexFunc(conflicts, func(c attendance.Conflict) bool { return c.Date == m.Date })
			if i >= 0 {
				c = conflicts[i]
			}
			csrc := src
			csrc.Clock = clockName[c.Clock]
			if err := emit(csrc, m.Date, rules.ConflictAnomaly(c, sched, loc, i < 0), i >= 0); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// unitEventHash is what decides whether an event changed: its content without the revision and
// the time it was judged.
func unitEventHash(ev event.Event) []byte {
	ev.Rev, ev.JudgedAt = 0, ""
	j, err := json.Marshal(ev)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(j)
	return h[:]
}
