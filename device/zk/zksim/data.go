package zksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// User is one entry of the simulated clock's user table. Name is kept as text and encoded in the
// clock's code page (GBK) when the table is served.
type User struct {
	UID       uint16 // device-internal index, 1-based
	UserID    string // PIN2, the employee number as the clock shows it
	Name      string
	Privilege uint8
	Password  string
	Card      uint32
	Group     uint8
}

// Record is one attendance record as the clock holds it: Time is the clock's wall time, read in the
// simulator's zone.
type Record struct {
	UserID   string
	Time     time.Time
	State    uint8
	Verify   uint8
	WorkCode uint32
}

// Data is the content of a clock: its users and its attendance log in the clock's order.
type Data struct {
	Users   []User
	Records []Record
}

// GenConfig describes an office to generate.
type GenConfig struct {
	People int       // staff on the clock; default 60
	Days   int       // calendar days from Start (weekends get no punches); ignored when Records > 0
	Start  time.Time // first day (its date in Location); default 2026-09-01
	// End, when set, makes the data end on the day before End's date instead of starting at Start
	// (so that no punch lies in the clock's future); Records or Days count back from it, and a
	// Records cut falls at the start of the earliest day (a log cleared in the middle of a day).
	End time.Time
	// Records, when > 0, generates day after day until exactly this many records exist (the last
	// day is cut where the count is reached, like a log read in the middle of a day).
	Records  int
	Seed     uint64
	Location *time.Location // default Asia/Shanghai (UTC+8 fixed when tzdata is missing)
	// NumericIDs makes every user id a decimal number: required by 16-byte records and 28-byte users,
	// which carry the user id as an integer.
	NumericIDs bool
	// MaxNameBytes limits GBK names (24 for 72-byte users, 8 for 28-byte users); default 24.
	MaxNameBytes int
}

// ErrData is wrapped by errors about generated or loaded clock content.
var ErrData = errors.New("zksim: bad clock data")

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given    = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文斌宇浩凯晨欣怡子轩雨婷思远嘉俊海燕春梅德胜永福金凤")
)

func defaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Generate builds a realistic township office: users with Chinese names, mostly numeric ids with
// some alphanumeric ones (at least one longer than 9 characters unless NumericIDs), and four punches
// per person and working day around 08:30, 12:00, 14:30 and 18:00 with late arrivals, early
// departures, missing and repeated punches and absent days. The same config gives the same data.
// Records are in time order, which is the clock's order.
func Generate(g GenConfig) (Data, error) {
	if g.People == 0 {
		g.People = 60
	}
	if g.People < 0 || g.People > 65000 {
		return Data{}, fmt.Errorf("%w: people %d out of range 1..65000", ErrData, g.People)
	}
	if g.Days < 0 || g.Records < 0 {
		return Data{}, fmt.Errorf("%w: negative days (%d) or records (%d)", ErrData, g.Days, g.Records)
	}
	if g.Location == nil {
		g.Location = defaultLocation()
	}
	if g.Start.IsZero() {
		g.Start = time.Date(2026, 9, 1, 0, 0, 0, 0, g.Location)
	}
	if g.MaxNameBytes == 0 {
		g.MaxNameBytes = 24
	}
	rng := rand.New(rand.NewPCG(g.Seed, g.Seed^0x5A4B534F))
	users := make([]User, 0, g.People)
	seen := map[string]bool{}
	enc := simplifiedchinese.GBK.NewEncoder()
	for i := 0; i < g.People; i++ {
		u := User{UID: uint16(i + 1)}
		switch {
		case g.NumericIDs:
			u.UserID = strconv.Itoa(1001 + i)
		case i == 2:
			u.UserID = "ZX2019081501" // longer than 9 characters: truncated by the npm clients
		case i%9 == 4:
			u.UserID = fmt.Sprintf("A%d", 1000+i*3+rng.IntN(3))
		case i%13 == 7:
			u.UserID = fmt.Sprintf("%dcb", 222200+i)
		default:
			u.UserID = strconv.Itoa(1001 + i)
		}
		if seen[u.UserID] {
			u.UserID = fmt.Sprintf("%s%d", u.UserID, i)
		}
		seen[u.UserID] = true
		for {
			n := 1 + rng.IntN(2)
			if g.MaxNameBytes < 6 {
				n = 1
			}
			name := []rune{surnames[rng.IntN(len(surnames))]}
			for k := 0; k < n; k++ {
				name = append(name, given[rng.IntN(len(given))])
			}
			b, err := enc.Bytes([]byte(string(name)))
			if err != nil {
				return Data{}, fmt.Errorf("%w: encode name %q: %v", ErrData, string(name), err)
			}
			if len(b) <= g.MaxNameBytes {
				u.Name = string(name)
				break
			}
		}
		switch {
		case i == 0:
			u.Privilege = 14 // super admin
		case i == 1:
			u.Privilege = 2 // enroller
		}
		if rng.IntN(3) == 0 {
			u.Card = 1000000 + rng.Uint32N(9000000)
		}
		if rng.IntN(10) == 0 {
			u.Password = strconv.Itoa(1000 + rng.IntN(9000))
		}
		u.Group = 1
		users = append(users, u)
	}

	type slot struct {
		h, m int
		in   bool
	}
	slots := []slot{{8, 30, true}, {12, 0, false}, {14, 30, true}, {18, 0, false}}
	var recs []Record
	var back [][]Record // days generated backwards from End, latest first
	start := time.Date(g.Start.In(g.Location).Year(), g.Start.In(g.Location).Month(), g.Start.In(g.Location).Day(), 0, 0, 0, 0, g.Location)
	backward := !g.End.IsZero()
	e := g.End.In(g.Location)
	end := time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, g.Location)
	count := 0
	for d := 0; ; d++ {
		if g.Records > 0 {
			if count >= g.Records {
				break
			}
			if d > 200000 {
				return Data{}, fmt.Errorf("%w: cannot reach %d records", ErrData, g.Records)
			}
		} else if d >= g.Days {
			break
		}
		day := start.AddDate(0, 0, d)
		if backward {
			day = end.AddDate(0, 0, -(d + 1))
		}
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		var dayRecs []Record
		for _, u := range users {
			if rng.IntN(100) == 0 { // absent all day
				continue
			}
			verify := uint8(1)
			switch r := rng.IntN(20); {
			case r < 3:
				verify = 15 // face
			case r == 3:
				verify = 0 // password
			case r == 4 && u.Card != 0:
				verify = 4 // card
			}
			for si, s := range slots {
				if rng.IntN(25) == 0 { // forgot this punch
					continue
				}
				base := time.Date(day.Year(), day.Month(), day.Day(), s.h, s.m, 0, 0, g.Location)
				var off time.Duration
				switch r := rng.IntN(100); {
				case s.in && r < 6: // late
					off = time.Duration(1+rng.IntN(90)) * time.Minute
				case !s.in && r < 4: // early
					off = -time.Duration(1+rng.IntN(60)) * time.Minute
				case s.in:
					off = -time.Duration(1+rng.IntN(25)) * time.Minute
				default:
					off = time.Duration(rng.IntN(25)) * time.Minute
				}
				if si == 2 && rng.IntN(30) == 0 { // afternoon punch right after lunch
					base = time.Date(day.Year(), day.Month(), day.Day(), 12, 40, 0, 0, g.Location)
					off = time.Duration(rng.IntN(20)) * time.Minute
				}
				t := base.Add(off + time.Duration(rng.IntN(60))*time.Second)
				state := uint8(0)
				if !s.in {
					state = 1
				}
				if rng.IntN(20) == 0 { // the in/out key is unreliable
					state ^= 1
				}
				rec := Record{UserID: u.UserID, Time: t, State: state, Verify: verify}
				dayRecs = append(dayRecs, rec)
				if rng.IntN(33) == 0 { // punched again within a minute
					rep := rec
					rep.Time = t.Add(time.Duration(5+rng.IntN(50)) * time.Second)
					dayRecs = append(dayRecs, rep)
				}
			}
		}
		sort.SliceStable(dayRecs, func(i, j int) bool { return dayRecs[i].Time.Before(dayRecs[j].Time) })
		count += len(dayRecs)
		if backward {
			back = append(back, dayRecs)
		} else {
			recs = append(recs, dayRecs...)
		}
	}
	for i := len(back) - 1; i >= 0; i-- {
		recs = append(recs, back[i]...)
	}
	if g.Records > 0 && len(recs) > g.Records {
		if backward {
			recs = recs[len(recs)-g.Records:]
		} else {
			recs = recs[:g.Records]
		}
	}
	return Data{Users: users, Records: recs}, nil
}

// GroundTruth is what a clock holds, written as JSON so that a reader we did not write can be
// compared with it. Records use the same shape as the lines of `punchctl clock dump --json`.
type GroundTruth struct {
	Info    TruthInfo     `json:"info"`
	Users   []TruthUser   `json:"users"`
	Records []TruthRecord `json:"records"`
}

// TruthInfo is the clock's identity and formats.
type TruthInfo struct {
	Serial     string `json:"serial"`
	Firmware   string `json:"firmware"`
	Platform   string `json:"platform"`
	DeviceName string `json:"device_name"`
	MAC        string `json:"mac"`
	PINWidth   int    `json:"pin_width"`
	RecordSize int    `json:"record_size"`
	UserSize   int    `json:"user_size"`
	Users      int    `json:"users"`
	Records    int    `json:"records"`
	Timezone   string `json:"timezone"`
	CommKey    uint32 `json:"comm_key,omitempty"`
}

// TruthUser is one user, in the shape of `punchctl clock users --json`.
type TruthUser struct {
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	Privilege uint8  `json:"privilege"`
	Card      uint32 `json:"card"`
}

// TruthRecord is one attendance record, in the shape of `punchctl clock dump --json`.
type TruthRecord struct {
	UserID   string    `json:"user_id"`
	Time     time.Time `json:"time"`
	State    uint8     `json:"state"`
	Verify   uint8     `json:"verify"`
	WorkCode uint32    `json:"workcode"`
}

// WriteTruth writes gt as indented JSON.
func WriteTruth(w io.Writer, gt GroundTruth) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(gt); err != nil {
		return fmt.Errorf("zksim: write ground truth: %w", err)
	}
	return nil
}

// WriteTruthFile writes gt to path.
func WriteTruthFile(path string, gt GroundTruth) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("zksim: write ground truth: %w", err)
	}
	if err := WriteTruth(f, gt); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("zksim: write ground truth %s: %w", path, err)
	}
	return nil
}

// ReadTruth reads a ground-truth JSON document. Unknown fields are errors.
func ReadTruth(r io.Reader) (GroundTruth, error) {
	var gt GroundTruth
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&gt); err != nil {
		return GroundTruth{}, fmt.Errorf("%w: read ground truth: %v", ErrData, err)
	}
	return gt, nil
}

// LoadTruthFile reads a ground-truth JSON file.
func LoadTruthFile(path string) (GroundTruth, error) {
	f, err := os.Open(path)
	if err != nil {
		return GroundTruth{}, fmt.Errorf("zksim: load %s: %w", path, err)
	}
	defer f.Close()
	gt, err := ReadTruth(f)
	if err != nil {
		return GroundTruth{}, fmt.Errorf("%s: %w", path, err)
	}
	return gt, nil
}

// Data turns the ground truth back into clock content: user uids follow the order of Users,
// record times are read as wall times in loc.
func (gt GroundTruth) Data(loc *time.Location) (Data, error) {
	if loc == nil {
		loc = defaultLocation()
	}
	var d Data
	ids := map[string]bool{}
	for i, u := range gt.Users {
		if u.UserID == "" || len(u.UserID) > 24 {
			return Data{}, fmt.Errorf("%w: users[%d]: user_id %q must be 1..24 bytes", ErrData, i, u.UserID)
		}
		if ids[u.UserID] {
			return Data{}, fmt.Errorf("%w: users[%d]: duplicate user_id %q", ErrData, i, u.UserID)
		}
		if !utf8.ValidString(u.Name) {
			return Data{}, fmt.Errorf("%w: users[%d]: name is not UTF-8", ErrData, i)
		}
		ids[u.UserID] = true
		d.Users = append(d.Users, User{UID: uint16(i + 1), UserID: u.UserID, Name: u.Name, Privilege: u.Privilege, Card: u.Card, Group: 1})
	}
	for i, r := range gt.Records {
		if !ids[r.UserID] {
			return Data{}, fmt.Errorf("%w: records[%d]: user_id %q is not in users", ErrData, i, r.UserID)
		}
		if r.Time.IsZero() {
			return Data{}, fmt.Errorf("%w: records[%d]: missing time", ErrData, i)
		}
		t := r.Time.In(loc)
		if t.Year() < 2000 || t.Year() > 2133 {
			return Data{}, fmt.Errorf("%w: records[%d]: time %s outside the clock's range 2000..2133", ErrData, i, r.Time.Format(time.RFC3339))
		}
		d.Records = append(d.Records, Record{UserID: r.UserID, Time: t, State: r.State, Verify: r.Verify, WorkCode: r.WorkCode})
	}
	return d, nil
}
