package marks_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
	"github.com/jinbi/punchd/internal/marks"
)

var people = []attendance.Person{
	{UserID: "2001", Name: "张三", Post: "组长", Unit: "金碧村"},
	{UserID: "2002", Name: "李四", Post: "组员", Unit: "金碧村"},
	{UserID: "3001", Name: "王五", Post: "站长", Unit: "水务站"},
}

func sheet(file string) marks.Sheet {
	return marks.Sheet{File: file, Unit: "金碧村", Year: 2021, Month: time.April, People: people,
		Units: []string{"党政办", "水务站", "金碧村", "东山村"}}
}

// form is 附件1 as a village fills it in: title, village line, the two header rows, people, the note
// and the signatures.
func form(village string, rows ...string) string {
	days := make([]string, 31)
	for i := range days {
		days[i] = itoa(i + 1)
	}
	return "金碧镇包村挂点工作组4月考勤表\n" + village + "\n" +
		"姓名,职务,考勤情况记录" + strings.Repeat(",", 30) + "\n" +
		",," + strings.Join(days, ",") + "\n" +
		strings.Join(rows, "\n") + "\n" +
		"备注：1. “√”表示在村开展工作，“×”表示未在村开展工作。\n党组织书记签字：\n包村挂点领导签字：\n"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseForm(t *testing.T) {
	p := write(t, "金碧村.csv", form("金碧村（居）委会",
		"张三,组长,√,√,×,,假,差,休",
		"",
		"李四,组员,✓,x"))
	got, err := marks.ParseFile(p, sheet(p))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2001 1 √", "2001 2 √", "2001 3 ×", "2001 5 假", "2001 6 差", "2001 7 休", "2002 1 √", "2002 2 ×"}
	if len(got) != len(want) {
		t.Fatalf("got %d marks %+v, want %v", len(got), got, want)
	}
	for i, m := range got {
		if s := m.UserID + " " + itoa(m.Date.Day) + " " + string(m.Mark); s != want[i] || m.Unit != "金碧村" || m.Source != "金碧村.csv" {
			t.Errorf("mark %d = %+v, want %s", i, m, want[i])
		}
	}
}

func TestParseXLSX(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"金碧镇包村挂点工作组4月考勤表"},
		{"金碧村（居）委会"},
		{"姓名", "职务", "考勤情况记录"},
		{nil, nil, 1, 2, 3},
		{"李四", "组员", "√", nil, "×"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "金碧村.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	got, err := marks.ParseFile(p, sheet(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Mark != attendance.MarkPresent || got[1].Date.Day != 3 || got[1].Mark != attendance.MarkAbsent {
		t.Fatalf("marks = %+v", got)
	}
}

func TestParseBadSheets(t *testing.T) {
	days32 := "金碧村（居）委会\n姓名,职务,1,2,32\n张三,组长,√,√,√\n"
	tests := []struct {
		name, text, want string
	}{
		{"unknown name", form("金碧村（居）委会", "张三,组长,√", "赵六,组员,√"),
			`marks F: row 6, column A (姓名): bad marks sheet: "赵六" is not on the roster of 金碧村`},
		{"day 32", days32, `marks F: row 2, column E (day 32): bad marks sheet: 32 is not a day 1..31`},
		{"bad mark", form("金碧村（居）委会", "张三,组长,√,√,O"),
			`marks F: row 5, column E (day 3): bad marks sheet: mark "O" is not one of √ × 假 差 休`},
		{"unit not in config", form("西山村（居）委会", "张三,组长,√"),
			`marks F: row 2, column A: bad marks sheet: unit "西山" is not a [[unit]] of the config (known: 党政办, 水务站, 金碧村, 东山村)`},
		{"another unit's sheet", form("东山村（居）委会", "张三,组长,√"),
			`marks F: row 2, column A: bad marks sheet: the sheet is 东山村's, not 金碧村's`},
		{"another month", strings.Replace(form("金碧村（居）委会", "张三,组长,√"), "4月", "3月", 1),
			`marks F: row 1, column A: bad marks sheet: the title "金碧镇包村挂点工作组3月考勤表" is for month 3, not 2021-04`},
		{"day 31 of April", form("金碧村（居）委会", "张三,组长"+strings.Repeat(",", 31)+"√"),
			`marks F: row 5, column AG (day 31): bad marks sheet: 2021-04 has 30 days, but day 31 is marked √`},
		{"person of another unit", form("金碧村（居）委会", "王五,站长,√"),
			`marks F: row 5, column A (姓名): bad marks sheet: "王五" is not on the roster of 金碧村`},
		{"twice", form("金碧村（居）委会", "张三,组长,√", "张三,组长,×"),
			`marks F: row 6, column A (姓名): bad marks sheet: 张三 (2001) is already on row 5`},
		{"no header", "张三,√\n", `marks F: bad marks sheet: no header row with 姓名 (want 姓名, 职务, 1 … 31 as on 附件1)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, "F.csv", tc.text)
			s := sheet("F")
			got, err := marks.ParseFile(p, s)
			if !errors.Is(err, marks.ErrBadSheet) || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant  %s", err, tc.want)
			}
			if got != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("marks from a refused sheet: %+v / multi-line error", got)
			}
		})
	}
}
