package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jinbi/punchd/internal/attendance"
)

// Unit is one [[unit]] entry: an office, an outlying station or a village of the township.
type Unit struct {
	Name       string              `toml:"name"` // as in the roster's unit column
	Kind       attendance.UnitKind `toml:"kind"` // office, station or village
	Signatures []string            `toml:"signatures"`
	Leader     string              `toml:"leader"`    // village: the 包村挂点领导 (who may approve a return)
	Secretary  string              `toml:"secretary"` // village: the 党组织书记
}

// Points are the assessment values (大比拼考核加减分) per fact ([points]); a deduction is negative.
type Points struct {
	Late            float64 `toml:"late"`
	SeriousLate     float64 `toml:"serious_late"`
	Early           float64 `toml:"early"`
	Missing         float64 `toml:"missing"`
	AbsentHalfDay   float64 `toml:"absent_half_day"`
	VillageAbsent   float64 `toml:"village_absent"`
	Conflict        float64 `toml:"conflict"`
	NegativeFinding float64 `toml:"negative_finding"`
	PositiveFinding float64 `toml:"positive_finding"`
}

// DefaultPoints are the [points] values before the file is read.
func DefaultPoints() Points {
	return Points{
		Late: -0.5, SeriousLate: -1, Early: -0.5, Missing: -0.5, AbsentHalfDay: -2,
		VillageAbsent: -1, Conflict: -2, NegativeFinding: -3, PositiveFinding: 2,
	}
}

// PointValues converts [points] for the reports.
func (c Config) PointValues() attendance.PointValues {
	p := c.Points
	return attendance.PointValues{Late: p.Late, SeriousLate: p.SeriousLate, Early: p.Early, Missing: p.Missing,
		AbsentHalfDay: p.AbsentHalfDay, VillageAbsent: p.VillageAbsent, Conflict: p.Conflict,
		NegativeFinding: p.NegativeFinding, PositiveFinding: p.PositiveFinding}
}

// DefaultBulletinIssuer is [reports] bulletin_issuer when not set.
const DefaultBulletinIssuer = "镇督查室"

// SiteTitle is the name used in every title: [site] display_name, else the slug [site] name.
func (c Config) SiteTitle() string {
	if c.Site.DisplayName != "" {
		return c.Site.DisplayName
	}
	return c.Site.Name
}

// Units converts the [[unit]] entries for the report and the rules. A station is marked as having
// its own clock when a [[clock]] names it; the office always has the compound's clocks.
func (c Config) Units() []attendance.Unit {
	out := make([]attendance.Unit, len(c.Unit))
	for i, u := range c.Unit {
		out[i] = attendance.Unit{Name: u.Name, Kind: u.Kind, Signatures: slices.Clone(u.Signatures),
			Leader: u.Leader, Secretary: u.Secretary, HasClock: u.Kind == attendance.UnitOffice || c.unitHasClock(u.Name)}
	}
	return out
}

// LookupUnit finds a [[unit]] entry; the error names the config and the units it has:
// `"东山" is not a [[unit]] of the config punchd.toml (known: 党政办, 金碧村)`.
func (c Config) LookupUnit(name string) (attendance.Unit, error) {
	if u, ok := c.UnitByName(name); ok {
		return u, nil
	}
	return attendance.Unit{}, fmt.Errorf("%q is %w %s (known: %s)", name, ErrUnknownUnit, configName(c), strings.Join(c.UnitNames(), ", "))
}

// UnitByName finds a [[unit]] entry.
func (c Config) UnitByName(name string) (attendance.Unit, bool) {
	for _, u := range c.Units() {
		if u.Name == name {
			return u, true
		}
	}
	return attendance.Unit{}, false
}

func (c Config) unitHasClock(name string) bool {
	for _, cl := range c.Clock {
		if cl.Unit == name {
			return true
		}
	}
	return false
}

// ErrUnknownUnit is wrapped when a roster entry or a command names a unit that is not a [[unit]].
var ErrUnknownUnit = errors.New("not a [[unit]] of the config")

// ApplyUnits checks that every person's unit is a [[unit]] and sets how each is kept from the unit:
// the office's people and a station's with its own [[clock]] are judged from punches (clock); a
// station's without a clock are kept by the station's marks (station); a village's by the village's
// marks (village). exempt stays exempt. With no [[unit]] configured the roster is returned as is.
func (c Config) ApplyUnits(people []attendance.Person) ([]attendance.Person, error) {
	if len(c.Unit) == 0 {
		return people, nil
	}
	units := map[string]attendance.Unit{}
	for _, u := range c.Units() {
		units[u.Name] = u
	}
	out := make([]attendance.Person, len(people))
	var errs []error
	for i, p := range people {
		u, ok := units[p.Unit]
		if !ok {
			_, err := c.LookupUnit(p.Unit)
			errs = append(errs, fmt.Errorf("roster: user %s (%s): unit %w", p.UserID, p.Name, err))
			continue
		}
		if p.Tracking != attendance.TrackExempt {
			p.Tracking = u.Tracking()
		}
		out[i] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// UnitNames are the names of the [[unit]] entries, in order.
func (c Config) UnitNames() []string {
	names := make([]string, len(c.Unit))
	for i, u := range c.Unit {
		names[i] = u.Name
	}
	return names
}

func configName(c Config) string {
	if c.source != "" {
		return c.source
	}
	return "in the config"
}

func (c Config) validateUnits(v *validator) {
	names := map[string]int{}
	for i, u := range c.Unit {
		k := fmt.Sprintf("unit[%d]", i)
		switch {
		case strings.TrimSpace(u.Name) == "":
			v.bad(k+".name", "is empty")
		case strings.ContainsAny(u.Name, "/\\\x00\r\n"):
			v.bad(k+".name", "%q must not contain '/', '\\' or control characters (it names report files)", u.Name)
		}
		if j, dup := names[u.Name]; dup && u.Name != "" {
			v.bad(k+".name", "%q is already the name of unit[%d]", u.Name, j)
		}
		names[u.Name] = i
		switch u.Kind {
		case attendance.UnitOffice, attendance.UnitStation, attendance.UnitVillage:
		default:
			v.bad(k+".kind", "%q is not one of office, station, village", u.Kind)
		}
		if u.Kind != attendance.UnitVillage && (u.Leader != "" || u.Secretary != "") {
			v.bad(k+".leader", "leader and secretary are a village's (包村挂点领导, 党组织书记); %q is a %s", u.Name, u.Kind)
		}
		for j, s := range u.Signatures {
			if strings.TrimSpace(s) == "" {
				v.bad(fmt.Sprintf("%s.signatures[%d]", k, j), "is empty")
			}
		}
	}
	for i, cl := range c.Clock {
		if cl.Unit == "" {
			continue
		}
		j, ok := names[cl.Unit]
		switch {
		case !ok:
			v.bad(fmt.Sprintf("clock[%d].unit", i), "%q is not the name of a [[unit]]", cl.Unit)
		case c.Unit[j].Kind == attendance.UnitVillage:
			v.bad(fmt.Sprintf("clock[%d].unit", i), "%q is a village: villages keep marks, not clocks", cl.Unit)
		}
	}
	if c.Reports.BulletinIssuer == "" {
		v.bad("reports.bulletin_issuer", "is empty")
	}
}
