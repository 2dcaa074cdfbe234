package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jinbi/punchd/internal/account"
	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/marks"
	"github.com/jinbi/punchd/internal/report"
)

// markUnits are the [[unit]]s that keep their people by marks (villages, stations without a clock).
func (s *Server) markUnits() []attendance.Unit {
	var out []attendance.Unit
	for _, u := range s.o.Units {
		if !u.HasClock {
			out = append(out, u)
		}
	}
	return out
}

// markUnit is ?unit=, default the first unit kept by marks.
func (s *Server) markUnit(name string) (attendance.Unit, error) {
	units := s.markUnits()
	if len(units) == 0 {
		return attendance.Unit{}, fmt.Errorf("%w: no [[unit]] keeps its people by marks (a village, or a station without a clock)", errBadParam)
	}
	if name == "" {
		return units[0], nil
	}
	for _, u := range units {
		if u.Name == name {
			return u, nil
		}
	}
	return attendance.Unit{}, fmt.Errorf("%w: unit %q does not keep its people by marks", errBadParam, name)
}

// markCell is one person's day in the grid.
type markCell struct {
	Name   string // the form field: m|USER|DAY
	Mark   string
	Future bool
}

type markRow struct {
	UserID, Name string
	Cells        []markCell
}

// marksPage is the grid of a unit's month: every person × day with the stored mark, each cell a
// choice of √ × 假 差 休; one save stores the changed cells, all or none.
func (s *Server) marksPage(w http.ResponseWriter, r *http.Request) {
	s.renderMarks(w, r, http.StatusOK, "", r.URL.Query().Get("done"))
}

func (s *Server) renderMarks(w http.ResponseWriter, r *http.Request, status int, formErr, done string) {
	ctx := r.Context()
	u, err := s.markUnit(r.FormValue("unit"))
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	m, err := s.monthValue(r.FormValue("month"))
	if err != nil {
		s.errorPage(w, r, statusOf(err), err)
		return
	}
	people, err := s.b.Roster(ctx)
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	stored, err := s.b.Marks(ctx, u.Name, m.First(), m.Last())
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	have := map[string]attendance.UnitMark{}
	for _, x := range stored {
		have[x.UserID+"|"+strconv.Itoa(x.Date.Day)] = x.Mark
	}
	today := attendance.DateOf(s.now().In(s.o.Location))
	var rows []markRow
	for _, p := range people {
		if p.Unit != u.Name || !(p.Active(m.First()) || p.Active(m.Last())) {
			continue
		}
		row := markRow{UserID: p.UserID, Name: p.Name}
		for d := 1; d <= m.Len(); d++ {
			date := attendance.Date{Year: m.Year, Month: m.Month, Day: d}
			row.Cells = append(row.Cells, markCell{Name: "m|" + p.UserID + "|" + strconv.Itoa(d),
				Mark: string(have[p.UserID+"|"+strconv.Itoa(d)]), Future: date.After(today)})
		}
		rows = append(rows, row)
	}
	days := make([]int, m.Len())
	for i := range days {
		days[i] = i + 1
	}
	canEdit := false
	if usr, ok := userFrom(ctx); ok {
		canEdit = usr.role.Can(account.Mark)
	}
	s.render(w, r, status, "marks", "村站记录", map[string]any{"Unit": u, "Units": s.markUnits(), "Month": m.String(),
		"Days": days, "Rows": rows, "Marks": attendance.UnitMarks, "CanEdit": canEdit, "Error": formErr, "Done": done})
}

// monthValue is a month as the pages take it: default this month, never a future one.
func (s *Server) monthValue(v string) (report.Month, error) {
	q := url.Values{}
	if v != "" {
		q.Set("month", v)
	}
	return s.monthParam(&http.Request{URL: &url.URL{RawQuery: q.Encode()}})
}

// setMarks stores the cells the form changed through the service (`punchctl marks set`'s path),
// recorded by the account logged in.
func (s *Server) setMarks(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	usr, _ := userFrom(ctx)
	u, err := s.markUnit(r.PostFormValue("unit"))
	if err == nil {
		var m report.Month
		if m, err = s.monthValue(r.PostFormValue("month")); err == nil {
			var changed []attendance.DayMark
			if changed, err = s.changedMarks(r, u.Name, m, usr.account); err == nil {
				if len(changed) == 0 {
					http.Redirect(w, r, marksURL(u.Name, m, "没有改动"), http.StatusSeeOther)
					return
				}
				if err = s.b.SetMarks(ctx, changed); err == nil {
					http.Redirect(w, r, marksURL(u.Name, m, fmt.Sprintf("已保存 %d 个标记", len(changed))), http.StatusSeeOther)
					return
				}
			}
		}
	}
	s.renderMarks(w, r, http.StatusBadRequest, err.Error(), "")
}

func marksURL(unit string, m report.Month, done string) string {
	return "/marks?" + url.Values{"unit": {unit}, "month": {m.String()}, "done": {done}}.Encode()
}

// changedMarks reads the grid's cells and keeps those that differ from what is stored.
func (s *Server) changedMarks(r *http.Request, unit string, m report.Month, by string) ([]attendance.DayMark, error) {
	stored, err := s.b.Marks(r.Context(), unit, m.First(), m.Last())
	if err != nil {
		return nil, err
	}
	have := map[string]attendance.UnitMark{}
	for _, x := range stored {
		have[x.UserID+"|"+strconv.Itoa(x.Date.Day)] = x.Mark
	}
	var out []attendance.DayMark
	for name, vals := range r.PostForm {
		rest, ok := strings.CutPrefix(name, "m|")
		if !ok || len(vals) != 1 || strings.TrimSpace(vals[0]) == "" {
			continue
		}
		i := strings.LastIndexByte(rest, '|')
		if i < 0 {
			return nil, fmt.Errorf("%w: cell %q", errBadParam, name)
		}
		user := rest[:i]
		day, err := strconv.Atoi(rest[i+1:])
		if err != nil || day < 1 || day > m.Len() {
			return nil, fmt.Errorf("%w: cell %q", errBadParam, name)
		}
		mk, err := attendance.ParseUnitMark(vals[0])
		if err != nil {
			return nil, fmt.Errorf("--mark %q is not one of √ × 假 差 休", vals[0])
		}
		if have[rest] == mk {
			continue
		}
		out = append(out, attendance.DayMark{Unit: unit, UserID: user, Date: attendance.Date{Year: m.Year, Month: m.Month, Day: day},
			Mark: mk, RecordedBy: by})
	}
	return out, nil
}

// importMarks reads an uploaded sheet with internal/marks, as `punchctl marks import` does, and
// stores it all or none.
func (s *Server) importMarks(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	usr, _ := userFrom(ctx)
	fail := func(err error) { s.renderMarks(w, r, http.StatusBadRequest, err.Error(), "") }
	u, err := s.markUnit(r.FormValue("unit"))
	if err != nil {
		fail(err)
		return
	}
	m, err := s.monthValue(r.FormValue("month"))
	if err != nil {
		fail(err)
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		fail(fmt.Errorf("请选择要导入的文件（CSV 或 XLSX）: %w", err))
		return
	}
	defer f.Close()
	// internal/marks reads a file by its extension: keep the upload's.
	tmp, err := os.CreateTemp("", "punchd-marks-*"+strings.ToLower(filepath.Ext(hdr.Filename)))
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, io.LimitReader(f, 16<<20))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	people, err := s.b.Roster(ctx)
	if err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, err)
		return
	}
	var names []string
	for _, x := range s.o.Units {
		names = append(names, x.Name)
	}
	got, err := marks.ParseFile(tmp.Name(), marks.Sheet{File: hdr.Filename, Unit: u.Name, Year: m.Year, Month: m.Month, People: people, Units: names})
	if err != nil {
		fail(fmt.Errorf("%s: %w", hdr.Filename, err))
		return
	}
	for i := range got {
		got[i].RecordedBy = usr.account
	}
	if err := s.b.SetMarks(ctx, got); err != nil {
		fail(fmt.Errorf("marks %s: nothing stored: %w", hdr.Filename, err))
		return
	}
	http.Redirect(w, r, marksURL(u.Name, m, fmt.Sprintf("已导入 %s：%d 个标记", hdr.Filename, len(got))), http.StatusSeeOther)
}
