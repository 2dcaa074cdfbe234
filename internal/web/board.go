package web

import (
	"fmt"
	"slices"
	"time"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/regform"
	"github.com/jinbi/punchd/internal/report"
)

// Board is today's page: everyone on the roster by unit with their four slots as judged so far,
// today's registrations, and who has not come in.
type Board struct {
	Date     attendance.Date
	Weekday  string
	DayType  attendance.DayType
	Working  bool
	At       string // the time the board was built, HH:MM:SS
	Units    []BoardUnit
	Regs     []BoardReg
	NotIn    []BoardPerson
	People   int
	In       int // clock people with a punch today
	Late     int // with a late or seriously late slot
	Excused  int // with a registration today
	NotJudge int // on the roster but not kept by the clock (village, station, exempt)
}

// BoardUnit is one unit's people.
type BoardUnit struct {
	Name   string
	People []BoardPerson
}

// BoardPerson is one line of the board.
type BoardPerson struct {
	UserID   string
	Name     string
	Post     string
	Unit     string
	Tracking string // the tracking's Chinese label when not the clock
	Status   attendance.Status
	Slots    [4]BoardSlot
	Excuse   string // the registration's kind, in Chinese
	NotIn    bool
}

// BoardSlot is one of the four punches: its time and result, in words and in a colour class.
type BoardSlot struct {
	Time  string
	Text  string
	Class string // ok, warn, bad, excused, pending
}

// BoardReg is one of today's registrations.
type BoardReg struct {
	ID, UserID, Name, Kind, Span, Reason, By string
}

// slotText is a slot's result as the board shows it: a word, and a colour class that the word
// never depends on (the colour only repeats it).
func slotText(s attendance.Slot, excuse attendance.Kind) (text, class string) {
	switch s.Result {
	case attendance.ResultOK:
		return "正常", "ok"
	case attendance.ResultLate:
		return fmt.Sprintf("迟到%d分", s.Minutes), "warn"
	case attendance.ResultSeriousLate:
		return fmt.Sprintf("严重迟到%d分", s.Minutes), "bad"
	case attendance.ResultEarly:
		return fmt.Sprintf("早退%d分", s.Minutes), "warn"
	case attendance.ResultMissing:
		return "缺卡", "bad"
	case attendance.ResultAbsent:
		return "缺勤", "bad"
	case attendance.ResultExcused:
		if s.Manual {
			return "补卡", "excused"
		}
		if l := excuse.Label(); l != "" {
			return l, "excused"
		}
		return "已登记", "excused"
	case attendance.ResultPending:
		if s.Time != nil {
			return "已打卡", "pending"
		}
		return "未到时", "pending"
	}
	return string(s.Result), "pending"
}

func trackingLabel(t attendance.Tracking) string {
	switch t {
	case attendance.TrackVillage:
		return "包村（村里记录）"
	case attendance.TrackStation:
		return "站所（站所记录）"
	case attendance.TrackExempt:
		return "免打卡"
	}
	return ""
}

// BuildBoard lays out today's board from the judged days (internal/rules decided every result;
// this only arranges and words them). people are shown in roster order by unit, units in the order
// they first appear.
func BuildBoard(people []attendance.Person, days []attendance.Day, regs []attendance.Registration,
	today attendance.Date, dayType attendance.DayType, now time.Time, loc *time.Location) Board {
	b := Board{Date: today, Weekday: report.WeekdayCN(today), DayType: dayType, Working: dayType.IsWorking(),
		At: now.In(loc).Format("15:04:05")}
	byUser := make(map[string]*attendance.Day, len(days))
	for i := range days {
		if days[i].Date == today {
			byUser[days[i].UserID] = &days[i]
		}
	}
	names := make(map[string]string, len(people))
	for _, p := range people {
		names[p.UserID] = p.Name
	}
	excuse := map[string]attendance.Kind{}
	start, end := today.Start(loc), today.AddDays(1).Start(loc)
	for _, r := range regs {
		if r.Revoked() || !r.From.Before(end) || r.To.Before(start) {
			continue
		}
		excuse[r.UserID] = r.Kind
		b.Regs = append(b.Regs, BoardReg{ID: r.ID, UserID: r.UserID, Name: names[r.UserID], Kind: r.Kind.Label(),
			Span: regform.Span(r, loc), Reason: r.Reason, By: r.RegisteredBy})
	}
	unitIndex := map[string]int{}
	for _, p := range people {
		if !p.Active(today) {
			continue
		}
		unit := p.Unit
		if unit == "" {
			unit = "未分组"
		}
		i, ok := unitIndex[unit]
		if !ok {
			i = len(b.Units)
			unitIndex[unit] = i
			b.Units = append(b.Units, BoardUnit{Name: unit})
		}
		bp := BoardPerson{UserID: p.UserID, Name: p.Name, Post: p.Post, Unit: unit}
		if k, ok := excuse[p.UserID]; ok {
			bp.Excuse = k.Label()
			b.Excused++
		}
		b.People++
		if p.Tracking != attendance.TrackClock && p.Tracking != "" {
			bp.Tracking = trackingLabel(p.Tracking)
			b.NotJudge++
			b.Units[i].People = append(b.Units[i].People, bp)
			continue
		}
		d := byUser[p.UserID]
		punched := false
		for si, name := range attendance.Slots {
			cell := BoardSlot{Text: "—", Class: "pending"}
			if d != nil {
				if sl, ok := d.Slots[name]; ok {
					if sl.Time != nil {
						cell.Time = sl.Time.In(loc).Format("15:04")
						punched = true
					}
					cell.Text, cell.Class = slotText(sl, d.Excuse)
					if sl.Result == attendance.ResultLate || sl.Result == attendance.ResultSeriousLate {
						b.Late++
					}
				}
			}
			bp.Slots[si] = cell
		}
		if d != nil {
			bp.Status = d.Status
		}
		if punched {
			b.In++
		} else if b.Working && bp.Excuse == "" {
			bp.NotIn = true
			b.NotIn = append(b.NotIn, bp)
		}
		b.Units[i].People = append(b.Units[i].People, bp)
	}
	return b
}

// sortedUnits returns the unit names of people in roster order of first appearance.
func sortedUnits(people []attendance.Person) []string {
	var out []string
	for _, p := range people {
		if p.Unit != "" && !slices.Contains(out, p.Unit) {
			out = append(out, p.Unit)
		}
	}
	return out
}
