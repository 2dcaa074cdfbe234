package roster

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/jinbi/punchd/internal/attendance"
)

func TestParseCSVEnglish(t *testing.T) {
	src := "user_id,name,post,unit,tracking\n" +
		"1001,张三,主任,党政办,clock\n" +
		"\n" +
		"A1023, 李四 ,,便民服务中心,village\n" +
		"0007,\"王,五\",副镇长,镇政府,\n"
	got, err := ParseCSV(iotest.OneByteReader(strings.NewReader(src)), "roster.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []attendance.Person{
		{UserID: "1001", Name: "张三", Post: "主任", Unit: "党政办", Tracking: attendance.TrackClock},
		{UserID: "A1023", Name: "李四", Unit: "便民服务中心", Tracking: attendance.TrackVillage},
		{UserID: "0007", Name: "王,五", Post: "副镇长", Unit: "镇政府", Tracking: attendance.TrackClock},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d people, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("person %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseCSVChineseGBKWithExtraColumns(t *testing.T) {
	src := "序号,姓名,职务,单位,工号,考勤方式,起始日期,备注\r\n" +
		"1,张三,主任,党政办,1001,打卡,2026/03/01,\r\n" +
		"2,赵六,站长,农业站,2001,站所,,外围\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCSV(strings.NewReader(gbk), "花名册.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	if p := got[0]; p.UserID != "1001" || p.Name != "张三" || p.Tracking != attendance.TrackClock || p.From.String() != "2026-03-01" || !p.To.IsZero() {
		t.Errorf("row 1 = %+v", p)
	}
	if p := got[1]; p.UserID != "2001" || p.Unit != "农业站" || p.Tracking != attendance.TrackStation {
		t.Errorf("row 2 = %+v", p)
	}
}

func TestParseCSVBOMAndTabs(t *testing.T) {
	got, err := ParseCSV(strings.NewReader("\ufeffUser_ID\tName\tPost\tUnit\tTracking\n1\ta\tb\tc\texempt\n"), "r.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].UserID != "1" || got[0].Tracking != attendance.TrackExempt {
		t.Errorf("got %+v", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"missing column", "user_id,name,post,unit\n1,a,b,c\n",
			`roster r.csv:1: bad roster: missing column tracking (header is "user_id,name,post,unit"; want user_id,name,post,unit,tracking or 工号,姓名,职务,单位,考勤方式)`},
		{"missing id column", "姓名,职务,单位,考勤方式\n",
			`roster r.csv:1: bad roster: missing column user_id (header is "姓名,职务,单位,考勤方式"; want user_id,name,post,unit,tracking or 工号,姓名,职务,单位,考勤方式)`},
		{"duplicate id", "user_id,name,post,unit,tracking\n1,a,,,\n2,b,,,\n\n1,c,,,\n",
			`roster r.csv:5: bad roster: duplicate user_id "1" (first on line 2)`},
		{"bad tracking", "user_id,name,post,unit,tracking\n1,a,,,sometimes\n",
			`roster r.csv:2: bad roster: tracking "sometimes" is not one of clock, village, station, exempt`},
		{"empty id", "user_id,name,post,unit,tracking\n,a,,,\n", `roster r.csv:2: bad roster: user_id is empty`},
		{"duplicate column", "user_id,工号,name,post,unit,tracking\n", `roster r.csv:1: bad roster: columns 1 ("user_id") and 2 ("工号") are both user_id`},
		{"bad date", "user_id,name,post,unit,tracking,from\n1,a,,,,2026-02-30\n", `roster r.csv:2: bad roster: from "2026-02-30" is not a date YYYY-MM-DD`},
		{"to before from", "user_id,name,post,unit,tracking,from,to\n1,a,,,,2026-03-02,2026-03-01\n", `roster r.csv:2: bad roster: to 2026-03-01 is before from 2026-03-02`},
		{"quote", "user_id,name,post,unit,tracking\n1,\"a,,,\n", `roster r.csv:2: bad roster: extraneous or missing " in quoted-field`},
		{"short row", "user_id,name,post,unit,tracking\n1,a,b,c,clock\n2,b,c\n", `roster r.csv:3: bad roster: 3 columns, the header has 5 (a missing ","?)`},
		{"empty", "\n\n", `roster r.csv: bad roster: no header row (want user_id,name,post,unit,tracking or 工号,姓名,职务,单位,考勤方式)`},
		{"multi-line cell keeps line numbers", "user_id,name,post,unit,tracking\n1,\"a\nb\",,,\n1,c,,,\n", `roster r.csv:4: bad roster: duplicate user_id "1" (first on line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tt.src), "r.csv")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant  %s", err, tt.want)
			}
			if !errors.Is(err, ErrBadRoster) {
				t.Errorf("%v does not wrap ErrBadRoster", err)
			}
		})
	}
}

func TestParseRowsFromSheet(t *testing.T) {
	rows := []Row{
		{Line: 1, Cells: []string{"金碧镇机关人员花名册"}}, // a title row above the header is not a header
	}
	_, err := Parse(rows, "Sheet1")
	if err == nil || !strings.Contains(err.Error(), "roster Sheet1:1: bad roster: missing column user_id") {
		t.Fatalf("err = %v", err)
	}
	rows = []Row{
		{Line: 3, Cells: []string{"工号", "姓名", "职务", "单位", "考勤方式"}},
		{Line: 4, Cells: []string{"1001", "张三", "主任", "党政办", "包村挂点"}},
	}
	got, err := Parse(rows, "Sheet1")
	if err != nil || len(got) != 1 || got[0].Tracking != attendance.TrackVillage {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("user_id,name,post,unit,tracking\n1001,张三,主任,党政办,clock\n")
	f.Add("工号,姓名,职务,单位,考勤方式\n1,a,b,c,包村\n1,a,b,c,x\n")
	f.Fuzz(func(t *testing.T, s string) {
		people, err := ParseCSV(strings.NewReader(s), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "roster f.csv") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range people {
			if p.UserID == "" || seen[p.UserID] {
				t.Fatalf("accepted empty or duplicate id in %+v", people)
			}
			seen[p.UserID] = true
		}
	})
}
