package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/config"
	"github.com/jinbi/punchd/internal/rules"
)

// ErrNotKeptByMarks: marks for a unit whose people punch a clock, or for a person not in the unit.
var ErrNotKeptByMarks = errors.New("not kept by marks")

// keptUnit is the [[unit]] named, which must keep its people by marks (a village, a station
// without a clock).
func (s *Service) keptUnit(name string) (attendance.Unit, error) {
	u, ok := s.cfg.UnitByName(name)
	if !ok {
		var names []string
		for _, c := range s.cfg.Unit {
			names = append(names, c.Name)
		}
		return u, fmt.Errorf("unit %q is %w (known: %s)", name, config.ErrUnknownUnit, strings.Join(names, ", "))
	}
	if u.HasClock {
		return u, fmt.Errorf("unit %q: its people punch a clock and are judged from it: %w", name, ErrNotKeptByMarks)
	}
	return u, nil
}

// SetMarks stores a unit's marks, all or none: every mark's unit must be a [[unit]] kept by marks
// and its person on the roster in that unit on that day; recorded_by is required and recorded_at is
// the time it is stored (whole seconds).
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
	return s.db.PutMarks(marks)
}

// Marks lists the marks of unit ("" = every unit) in [from, to].
func (s *Service) Marks(ctx context.Context, unit string, from, to attendance.Date) ([]attendance.DayMark, error) {
	return s.db.Marks(unit, from, to)
}

// AddFinding stores a finding of a check on site; its unit must be a [[unit]] when units are
// configured and its person (if any) on the roster.
func (s *Service) AddFinding(ctx context.Context, f attendance.Finding) (attendance.Finding, error) {
	if len(s.cfg.Unit) > 0 {
		if _, ok := s.cfg.UnitByName(f.Unit); !ok {
			return f, fmt.Errorf("finding: unit %q is %w", f.Unit, config.ErrUnknownUnit)
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
	return s.db.AddFinding(f)
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
	return s.db.RevokeFinding(id, by, reason)
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
