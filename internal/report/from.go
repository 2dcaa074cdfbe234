package report

import (
	"context"
	"fmt"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
)

// Source is where a month's judged days, roster and registrations come from: the daemon (its local
// API client or the daemon itself) or the store when the daemon is stopped. api.Backend satisfies it.
type Source interface {
	Days(ctx context.Context, from, to attendance.Date) ([]attendance.Day, error)
	Roster(ctx context.Context) ([]attendance.Person, error)
	Registrations(ctx context.Context, from, to time.Time) ([]attendance.Registration, error)
}

// DayTyper classes a date (*calendar.Calendar satisfies it).
type DayTyper interface {
	DayType(d attendance.Date) (attendance.DayType, error)
}

// TableFrom builds the month's table from a Source.
func TableFrom(ctx context.Context, src Source, cal DayTyper, month Month, opts Options, loc *time.Location) (Table, error) {
	in, err := InputFrom(ctx, src, cal, month, opts, loc)
	if err != nil {
		return Table{}, err
	}
	return BuildTable(in)
}

// InputFrom gathers the month's table input from a Source.
func InputFrom(ctx context.Context, src Source, cal DayTyper, month Month, opts Options, loc *time.Location) (TableInput, error) {
	in, err := gather(ctx, src, cal, month.First(), month.Last(), loc)
	if err != nil {
		return TableInput{}, err
	}
	return TableInput{Month: month, Days: in.days, Roster: in.roster, DayType: in.dayType,
		Registrations: in.regs, Options: opts}, nil
}

// BulletinFrom builds the bulletin of month's period (endDay as BulletinInput.PeriodEndDay) from a
// Source.
func BulletinFrom(ctx context.Context, src Source, cal DayTyper, month Month, endDay int, opts Options, loc *time.Location) (Bulletin, error) {
	from, to, err := Period(month, endDay)
	if err != nil {
		return Bulletin{}, err
	}
	in, err := gather(ctx, src, cal, from, to, loc)
	if err != nil {
		return Bulletin{}, err
	}
	return BuildBulletin(BulletinInput{Month: month, PeriodEndDay: endDay, Days: in.days, Roster: in.roster,
		DayType: in.dayType, Registrations: in.regs, Options: opts})
}

type gathered struct {
	days    []attendance.Day
	roster  []attendance.Person
	regs    []attendance.Registration
	dayType func(attendance.Date) attendance.DayType
}

func gather(ctx context.Context, src Source, cal DayTyper, from, to attendance.Date, loc *time.Location) (gathered, error) {
	var g gathered
	var err error
	if g.days, err = src.Days(ctx, from, to); err != nil {
		return g, fmt.Errorf("judged days %s..%s: %w", from, to, err)
	}
	if g.roster, err = src.Roster(ctx); err != nil {
		return g, fmt.Errorf("roster: %w", err)
	}
	if g.regs, err = src.Registrations(ctx, from.Start(loc), to.AddDays(1).Start(loc)); err != nil {
		return g, fmt.Errorf("registrations %s..%s: %w", from, to, err)
	}
	g.dayType = func(d attendance.Date) attendance.DayType {
		t, _ := cal.DayType(d) // a year without data is reported by the daemon; the table shows the Mon–Fri guess
		return t
	}
	return g, nil
}
