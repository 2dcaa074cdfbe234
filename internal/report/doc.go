// Package report renders judged attendance days into the two documents the township's supervision
// office files every month: the attendance table (附件 1 of the 2021 order: 姓名 · 职务 · a mark for each
// day 1–31, totals, signature lines) and the monthly bulletin (月通报: who broke discipline, who had a
// clean month, per unit and person by person).
//
// It owns the layout and the marks, nothing else: it never reads the store, never judges a punch and
// never asks the clock for the time. Its inputs are judged days (internal/rules), the roster, the
// registrations, a calendar classification of each date passed as a function, and "today" (so a month in
// progress leaves the days not yet reached blank). The same inputs always give the same table.
//
// # Marks
//
// One mark per person and day:
//
//	✓  a working day with all four punches on time (a 补卡 make-up punch counts as a punch)
//	迟 late (including seriously late)           早 early departure
//	缺 a missing punch                           旷 absent (the whole day, or a half-day: a late arrival
//	                                                or early departure beyond absent_after)
//	外 off-site work registered (外出); a 会议 meeting registration also shows 外: the person was working
//	   away from the compound on a registered errand, which is what the paper form's 外 means
//	差 business trip (出差)                       假 leave (请假)
//	休 rest day or public holiday (also when the person punched that day: a rest-day punch is never an anomaly)
//	待 pending: the day is not decided yet (a slot's window is still open or a clock has not synced past it)
//	   or a working day for which no judged day exists — distinct from blank so nobody reads it as a clean day
//	△  after a mark (外△, 迟△): a registration recorded more than [rules] register_within after the
//	   slot excused something that day (事后补登): still excused, shown so nobody reads it as in time
//	(blank) a day not yet reached (after Options.Today), outside the person's roster dates, a day the rules
//	   did not judge (status not_judged), or past the month's length (columns 29–31 of short months, greyed)
//
// Precedence when several apply on one day: an unexcused anomaly always wins over an excuse, and among
// anomalies 旷 > 缺 > 迟 > 早; then 待 (pending); then the registration's mark when any slot was excused
// (a day partly off-site and otherwise punched on time shows 外); then ✓. Among excuses of different kinds
// on one day, the day's own Excuse kind (set by the rules) decides; failing that the kind that excused most
// slots, ties broken 假 > 差 > 外. A working day with no judged day but a registration overlapping it
// shows the registration's mark; otherwise 待.
//
// The totals count days per category, not marks: a day late in the morning and missing the noon punch
// shows 缺 but counts once under 缺卡 and once under 迟到. The legend printed under the table says so.
//
// # Rows
//
// One row per person who must punch this clock (tracking clock, or empty) on at least one day of the
// month, in user id order (numeric ids by number) whatever order the roster arrived in, so the table from
// the store equals the table from the roster file. Someone with judged days but no roster entry is added
// at the end as "<id>（未在册）": listed, never dropped. A user id on the roster twice (moved between
// units) is one row with the unit of their last active entry.
//
// # Bulletin period
//
// By default the bulletin covers the calendar month. With PeriodEndDay d (1–28) it covers the 26th-style
// window the order describes ("于月末25日左右整理汇总本月督查情况"): from day d+1 of the previous month to
// day d of the named month. Days after Today are not checked.
//
// # Bulletin counts
//
// Late, seriously late, early and missing are counted per occurrence (per slot); late and seriously late
// are disjoint. Absence is counted in half-days (a whole absent day is two); excused is counted in days
// with at least one excused slot. Nothing excused is ever listed as a violation. A half-day
// without any punch is one absence (上午/下午 旷工半天), not one per slot. Registrations recorded late
// (LateRegistered) are listed apart from the violations; the 通报 names them.
package report
