package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/jinbi/punchd/internal/attendance"
)

// YearRow is one person's attendance over a year: the basis for 评先推优.
type YearRow struct {
	UserID       string      `json:"user_id"`
	Name         string      `json:"name"`
	Unit         string      `json:"unit"`
	Post         string      `json:"post"`
	Present      int         `json:"present_days"` // working days judged from punches, plus days marked √
	Late         int         `json:"late"`         // late and seriously late arrivals
	Early        int         `json:"early"`
	Missing      int         `json:"missing"`
	AbsentHalves int         `json:"absent_half_days"`
	Away         int         `json:"away_days"` // days marked × (未在村 / 缺勤)
	Excused      int         `json:"excused_days"`
	Conflicts    int         `json:"conflicts"`
	Positive     int         `json:"positive_findings"`
	Negative     int         `json:"negative_findings"`
	Points       [12]float64 `json:"points"` // per month
	Total        float64     `json:"total"`
}

// Year is the per-person yearly attendance record.
type Year struct {
	Title string    `json:"title"`
	Year  int       `json:"year"`
	Rows  []YearRow `json:"rows"`
}

// BuildYear folds the months' points inputs (January first; months not given are zero) into one
// row per person, in the order people first appear.
func BuildYear(year int, site string, months []PointsInput) Year {
	y := Year{Title: fmt.Sprintf("%s%d年干部职工考勤年度记录", site, year), Year: year}
	at := map[string]int{}
	get := func(id, name, unit, post string) *YearRow {
		i, ok := at[id]
		if !ok {
			i = len(y.Rows)
			at[id] = i
			y.Rows = append(y.Rows, YearRow{UserID: id, Name: name, Unit: unit, Post: post})
		}
		r := &y.Rows[i]
		if name != id {
			r.Name, r.Unit, r.Post = name, unit, post // the latest roster entry
		}
		return r
	}
	for _, in := range months {
		pts := BuildPoints(in)
		mi := int(in.Bulletin.From.Month) - 1
		if in.Bulletin.From.IsZero() || mi < 0 || mi > 11 {
			continue
		}
		for _, p := range pts.Rows {
			r := get(p.UserID, p.Name, p.Unit, p.Post)
			r.Points[mi] += p.Total
			r.Total += p.Total
			for _, x := range p.Reasons {
				switch x.Kind {
				case "conflict":
					r.Conflicts += x.Count
				case "positive_finding":
					r.Positive += x.Count
				case "negative_finding":
					r.Negative += x.Count
				case "village_absent":
					r.Away += x.Count
				}
			}
		}
		for _, p := range in.Bulletin.Persons {
			r := get(p.UserID, p.DisplayName(), p.Unit, p.Post)
			c := p.Counts
			r.Present += p.Days - c.Excused
			r.Late += c.Late + c.SeriousLate
			r.Early += c.Early
			r.Missing += c.Missing
			r.AbsentHalves += c.AbsentHalves
			r.Excused += c.Excused
		}
		b := in.Bulletin
		for _, m := range in.Marks {
			if m.Date.Before(b.From) || m.Date.After(b.CheckedTo) {
				continue
			}
			r := get(m.UserID, m.UserID, m.Unit, "")
			switch m.Mark {
			case attendance.MarkPresent:
				r.Present++
			case attendance.MarkLeave, attendance.MarkTrip:
				r.Excused++
			}
		}
	}
	return y
}

// YearHeaders are the columns of the yearly record.
var YearHeaders = []string{"工号", "姓名", "单位", "职务", "出勤（天）", "迟到", "早退", "缺卡", "旷工（天）", "未在村/缺勤（天）", "请假出差外出（天）",
	"核对冲突", "正面典型", "督查问题", "1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月", "全年得分"}

func (r YearRow) record() []string {
	rec := []string{r.UserID, r.Name, r.Unit, r.Post, strconv.Itoa(r.Present), strconv.Itoa(r.Late), strconv.Itoa(r.Early),
		strconv.Itoa(r.Missing), HalfDays(r.AbsentHalves), strconv.Itoa(r.Away), strconv.Itoa(r.Excused),
		strconv.Itoa(r.Conflicts), strconv.Itoa(r.Positive), strconv.Itoa(r.Negative)}
	for _, p := range r.Points {
		rec = append(rec, num(p))
	}
	return append(rec, num(r.Total))
}

// WriteYearXLSX writes the yearly record as one sheet.
func WriteYearXLSX(w io.Writer, y Year) error {
	rows := make([][]string, len(y.Rows))
	for i, r := range y.Rows {
		rows[i] = r.record()
	}
	widths := []float64{7, 8, 9, 9}
	for range YearHeaders[4:] {
		widths = append(widths, 6)
	}
	return writeRecordsXLSX(w, "年度记录", y.Title, YearHeaders, rows, widths)
}

// WriteYearCSV writes the yearly record as UTF-8 CSV with a byte-order mark.
func WriteYearCSV(w io.Writer, y Year) error { return writeRecordsCSV(w, YearRecords(y)) }

// YearRecords is the yearly record as CSV records.
func YearRecords(y Year) [][]string {
	recs := [][]string{{y.Title}, YearHeaders}
	for _, r := range y.Rows {
		recs = append(recs, r.record())
	}
	return recs
}

// YearPoints adds up the months' points per person and reason.
func YearPoints(year int, site string, months []PointsInput) Points {
	p := Points{Title: fmt.Sprintf("%s%d年考核加减分", site, year)}
	at := map[string]int{}
	for _, in := range months {
		mp := BuildPoints(in)
		if p.From.IsZero() {
			p.From = mp.From
		}
		p.To = mp.To
		for _, r := range mp.Rows {
			i, ok := at[r.UserID]
			if !ok {
				i = len(p.Rows)
				at[r.UserID] = i
				p.Rows = append(p.Rows, PersonPoints{UserID: r.UserID})
			}
			row := &p.Rows[i]
			row.Name, row.Unit, row.Post = r.Name, r.Unit, r.Post
			row.Total += r.Total
			for _, x := range r.Reasons {
				j := slices.IndexFunc(row.Reasons, func(y PointReason) bool { return y.Kind == x.Kind })
				if j < 0 {
					row.Reasons = append(row.Reasons, PointReason{Kind: x.Kind, What: x.What, Each: x.Each})
					j = len(row.Reasons) - 1
				}
				row.Reasons[j].Count += x.Count
				row.Reasons[j].Sum += x.Sum
			}
		}
	}
	for i := range p.Rows {
		slices.SortStableFunc(p.Rows[i].Reasons, func(a, b PointReason) int { return kindRank(a.Kind) - kindRank(b.Kind) })
	}
	return p
}

func kindRank(kind string) int {
	return slices.IndexFunc(pointKinds, func(k struct{ kind, what string }) bool { return k.kind == kind })
}
