package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jinbi/punchd/internal/attendance"
)

// Masthead is the 通报's masthead: 「金碧政务督查」 for the township 金碧镇.
const Masthead = "{short}政务督查"

// DefaultIssuer issues the 通报 when none is given ([reports] bulletin_issuer).
const DefaultIssuer = "镇督查室"

// Notice is the monthly 通报 as the 督查室 issues it: masthead, issue number, issuer and date, a
// title, then sections by unit kind (机关, 站所, 村（社区）) naming each person once with all their
// facts, the good examples, and the problems and suggestions.
type Notice struct {
	Masthead  string          `json:"masthead"`
	Issue     int             `json:"issue"`
	Issuer    string          `json:"issuer"`
	Date      attendance.Date `json:"date"`
	Title     string          `json:"title"`
	Addressee string          `json:"addressee"`
	Intro     string          `json:"intro"`
	Month     Month           `json:"month"`
	From      attendance.Date `json:"from"`
	To        attendance.Date `json:"to"`
	Sections  []NoticeSection `json:"sections"`
	Positive  []NoticeEntry   `json:"positive"`
	Problems  []string        `json:"problems"`
	Bulletin  Bulletin        `json:"-"` // the clock figures behind the 机关 and clock stations' entries
}

// NoticeSection is one kind of unit.
type NoticeSection struct {
	Kind    attendance.UnitKind `json:"kind"`
	Heading string              `json:"heading"` // 机关, 站所, 村（社区）
	Summary string              `json:"summary"`
	Entries []NoticeEntry       `json:"entries"` // named once each, in unit and roster order
}

// NoticeEntry names a person (or, with Name empty, a unit) with the facts found.
type NoticeEntry struct {
	Name   string   `json:"name,omitempty"`
	UserID string   `json:"user_id,omitempty"`
	Unit   string   `json:"unit"`
	Post   string   `json:"post,omitempty"`
	Facts  []string `json:"facts"`
}

// Text is the entry as one sentence of the 通报: "张三（党政办 科员）：迟到2次（…）；缺卡1次（…）。"
func (e NoticeEntry) Text() string {
	who := e.Unit
	if e.Name != "" {
		who = e.Name + "（" + strings.TrimSpace(e.Unit+" "+e.Post) + "）"
	}
	return who + "：" + strings.Join(e.Facts, "；") + "。"
}

// NoticeInput is what the 通报 is built from. Bulletin holds the clock facts of the period
// (BuildBulletin over everyone judged from punches); the rest are the units' own records.
type NoticeInput struct {
	Bulletin  Bulletin
	Month     Month
	Site      string // display name (金碧镇)
	Issue     int    // 0: no number printed
	Issuer    string // "" = DefaultIssuer
	Date      attendance.Date
	Units     []attendance.Unit
	Roster    []attendance.Person
	Marks     []attendance.DayMark
	Conflicts []attendance.Conflict
	Findings  []attendance.Finding
	Problems  []string // paragraphs of 存在问题及意见建议 (--notes)
	Unit      string   // only this unit's entries and section; "" = the whole township
}

var kindOrder = []attendance.UnitKind{attendance.UnitOffice, attendance.UnitStation, attendance.UnitVillage}

// BuildNotice builds the 通报. Units not configured count as 机关 (a site without [[unit]]).
func BuildNotice(in NoticeInput) (Notice, error) {
	b := in.Bulletin
	issuer := in.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	n := Notice{
		Masthead:  strings.ReplaceAll(Masthead, "{short}", shortName(in.Site)),
		Issue:     in.Issue,
		Issuer:    issuer,
		Date:      in.Date,
		Title:     fmt.Sprintf("关于%d年%d月干部职工工作纪律督查情况的通报", in.Month.Year, int(in.Month.Month)),
		Addressee: "各村（社区），镇属各办公室（中心）、站（所）：",
		Month:     in.Month,
		From:      b.From,
		To:        b.To,
		Problems:  in.Problems,
		Bulletin:  b,
	}
	unitKind := map[string]attendance.UnitKind{}
	unitOrder := map[string]int{}
	for i, u := range in.Units {
		unitKind[u.Name], unitOrder[u.Name] = u.Kind, i
	}
	kindOf := func(unit string) attendance.UnitKind {
		if k, ok := unitKind[unit]; ok {
			return k
		}
		return attendance.UnitOffice
	}
	inPeriod := func(d attendance.Date) bool { return !d.Before(b.From) && !d.After(b.CheckedTo) }

	// Everyone named, once: key user id, or "unit:" + unit for a unit's own finding.
	type named struct {
		entry NoticeEntry
		kind  attendance.UnitKind
		order int
	}
	byKey := map[string]*named{}
	var keys []string
	person := map[string]attendance.Person{}
	rosterAt := map[string]int{}
	for i, p := range in.Roster {
		person[p.UserID] = p
		if _, ok := rosterAt[p.UserID]; !ok {
			rosterAt[p.UserID] = i
		}
	}
	entry := func(userID, unit string) *named {
		k := "user:" + userID
		if userID == "" {
			k = "unit:" + unit
		}
		if e, ok := byKey[k]; ok {
			return e
		}
		e := &named{entry: NoticeEntry{UserID: userID, Unit: unit}, kind: kindOf(unit), order: len(in.Roster) + len(keys)}
		if userID != "" {
			p, ok := person[userID]
			e.entry.Name, e.entry.Post = p.Name, p.Post
			if !ok || p.Name == "" {
				e.entry.Name = userID
			}
			if i, ok := rosterAt[userID]; ok {
				e.order = i
			}
		} else {
			e.order = -1 // a unit's own finding before its people
		}
		byKey[k] = e
		keys = append(keys, k)
		return e
	}

	// Clock facts (the office, stations with a clock).
	for _, p := range b.Persons {
		if p.Counts.Violations() == 0 && len(p.LateRegistered) == 0 {
			continue
		}
		e := entry(p.UserID, p.Unit)
		if p.Unknown {
			e.entry.Name = p.DisplayName()
		}
		e.entry.Facts = append(e.entry.Facts, clockFacts(p)...)
	}
	// Unit marks: × days.
	absent := map[string][]attendance.Date{}
	absentUnit := map[string]string{}
	for _, m := range in.Marks {
		if m.Mark == attendance.MarkAbsent && inPeriod(m.Date) {
			absent[m.UserID] = append(absent[m.UserID], m.Date)
			absentUnit[m.UserID] = m.Unit
		}
	}
	for _, id := range slices.Sorted(maps.Keys(absent)) {
		ds := absent[id]
		slices.SortFunc(ds, attendance.Date.Compare)
		unit := absentUnit[id]
		what := "缺勤"
		if kindOf(unit) == attendance.UnitVillage {
			what = "未在村开展工作"
		}
		e := entry(id, unit)
		e.entry.Facts = append(e.entry.Facts, fmt.Sprintf("%s%d天（%s）", what, len(ds), joinDates(ds)))
	}
	// Conflicts.
	conf := map[string][]attendance.Conflict{}
	for _, c := range in.Conflicts {
		if inPeriod(c.Date) {
			conf[c.UserID] = append(conf[c.UserID], c)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(conf)) {
		cs := conf[id]
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = DateCN(c.Date) + " " + c.Punch.Format("15:04")
		}
		e := entry(id, cs[0].Unit)
		e.entry.Facts = append(e.entry.Facts, fmt.Sprintf("村记在村，但%d次工作时间在镇上打卡且无挂点领导同意的返岗登记（%s）", len(cs), strings.Join(parts, "、")))
	}
	// Findings on site: negative ones under their unit, positive ones as good examples.
	for _, f := range in.Findings {
		if f.Revoked() || !inPeriod(f.Date) {
			continue
		}
		fact := DateCN(f.Date) + "督查发现：" + strings.TrimRight(f.Text, "。；;. ")
		if f.Kind == attendance.FindingPositive {
			pe := NoticeEntry{UserID: f.UserID, Unit: f.Unit, Facts: []string{fact}}
			if p, ok := person[f.UserID]; ok {
				pe.Name, pe.Post = p.Name, p.Post
			} else if f.UserID != "" {
				pe.Name = f.UserID
			}
			n.Positive = append(n.Positive, pe)
			continue
		}
		e := entry(f.UserID, f.Unit)
		e.entry.Facts = append(e.entry.Facts, fact)
	}

	// Sections, by kind, each listing its units in config order and their people in roster order.
	counts := map[attendance.UnitKind]map[string]int{}
	for _, p := range in.Roster {
		if p.Tracking == attendance.TrackExempt || !activeIn(p, b.From, b.CheckedTo) {
			continue
		}
		k := kindOf(p.Unit)
		if in.Unit != "" && p.Unit != in.Unit {
			continue
		}
		if counts[k] == nil {
			counts[k] = map[string]int{}
		}
		counts[k][p.Unit]++
	}
	for _, k := range kindOrder {
		if in.Unit != "" && kindOf(in.Unit) != k {
			continue
		}
		var es []*named
		for _, key := range keys {
			if byKey[key].kind == k && (in.Unit == "" || byKey[key].entry.Unit == in.Unit) {
				es = append(es, byKey[key])
			}
		}
		if len(es) == 0 && len(counts[k]) == 0 {
			continue
		}
		slices.SortStableFunc(es, func(a, b *named) int {
			ua, oka := unitOrder[a.entry.Unit]
			ub, okb := unitOrder[b.entry.Unit]
			if oka && okb && ua != ub {
				return ua - ub
			}
			if c := strings.Compare(a.entry.Unit, b.entry.Unit); !(oka && okb) && c != 0 {
				return c
			}
			return a.order - b.order
		})
		s := NoticeSection{Kind: k, Heading: k.KindCN()}
		people := 0
		for _, c := range counts[k] {
			people += c
		}
		offenders := 0
		for _, e := range es {
			if e.entry.Name != "" {
				offenders++
			}
			s.Entries = append(s.Entries, e.entry)
		}
		s.Summary = fmt.Sprintf("%s%d个单位在册%d人，本期被点名%d人", s.Heading, len(counts[k]), people, offenders)
		if k == attendance.UnitOffice && b.WorkingDays > 0 {
			s.Summary += fmt.Sprintf("；镇机关指纹考勤%d个工作日，迟到%d次、严重迟到%d次、早退%d次、缺卡%d次、旷工%s天",
				b.WorkingDays, b.Totals.Late, b.Totals.SeriousLate, b.Totals.Early, b.Totals.Missing, HalfDays(b.Totals.AbsentHalves))
		}
		if len(es) == 0 {
			s.Summary += "，未发现违反工作纪律情况"
		}
		s.Summary += "。"
		n.Sections = append(n.Sections, s)
	}
	n.Intro = fmt.Sprintf("根据%s工作督查制度，%s对%s至%s全镇干部职工工作纪律执行情况进行了督查，结合机关指纹考勤、站所和村（社区）考勤表及实地督查情况，现将有关情况通报如下：",
		in.Site, issuer, dateLongCN(b.From), dateLongCN(b.CheckedTo))
	return n, nil
}

// clockFacts are a judged person's unexcused anomalies grouped by kind, each with its dates.
func clockFacts(p PersonRecord) []string {
	groups := []struct {
		name    string
		results []attendance.Result
	}{
		{"旷工", []attendance.Result{attendance.ResultAbsent}},
		{"缺卡", []attendance.Result{attendance.ResultMissing}},
		{"严重迟到", []attendance.Result{attendance.ResultSeriousLate}},
		{"迟到", []attendance.Result{attendance.ResultLate}},
		{"早退", []attendance.Result{attendance.ResultEarly}},
	}
	var out []string
	for _, g := range groups {
		var as []Anomaly
		for _, a := range p.Anomalies {
			if slices.Contains(g.results, a.Result) {
				as = append(as, a)
			}
		}
		if len(as) == 0 {
			continue
		}
		count := fmt.Sprintf("%d次", len(as))
		if g.name == "旷工" {
			count = HalfDays(p.Counts.AbsentHalves) + "天"
		}
		out = append(out, g.name+count+"（"+describeAll(as)+"）")
	}
	if len(p.LateRegistered) > 0 {
		parts := describeLateRegs(p.LateRegistered)
		out = append(out, fmt.Sprintf("外出等登记不及时%d次（%s）", len(parts), strings.Join(parts, "；")))
	}
	return out
}

// describeLateRegs names each late registration once a day it excused, with when it was
// recorded: "3月2日 外出，3月9日补登".
func describeLateRegs(lrs []LateRegistration) []string {
	var parts []string
	seen := map[string]bool{}
	for _, lr := range lrs {
		key := lr.Registration + " " + lr.Date.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		part := DateCN(lr.Date) + " " + kindCN(lr.Kind)
		if !lr.RegisteredAt.IsZero() {
			part += "，" + DateCN(attendance.DateOf(lr.RegisteredAt)) + "补登"
		}
		parts = append(parts, part)
	}
	return parts
}

// kindCN names a late registration's kind; one the report could not find is named 外出, the
// commonest.
func kindCN(k attendance.Kind) string {
	if l := k.Label(); l != "" {
		return l
	}
	return "外出"
}

func joinDates(ds []attendance.Date) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = DateCN(d)
	}
	return strings.Join(parts, "、")
}

// shortName is the township's name without 镇/乡 for the masthead: 金碧镇 -> 金碧.
func shortName(site string) string {
	for _, s := range []string{"镇", "乡", "街道"} {
		if t, ok := strings.CutSuffix(site, s); ok && t != "" {
			return t
		}
	}
	return site
}
