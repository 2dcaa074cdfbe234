package roster

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/jinbi/punchd/internal/attendance"
)

// workbook builds an XLSX whose first sheet holds rows (any cell type excelize accepts).
func workbook(t *testing.T, sheet string, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if sheet != "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.NewSheet("其他"); err != nil { // a second sheet that must not be read
		t.Fatal(err)
	}
	if err := f.SetSheetRow("其他", "A1", &[]any{"user_id", "name", "post", "unit", "tracking"}); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseXLSXChineseWithTitleRow(t *testing.T) {
	data := workbook(t, "花名册", [][]any{
		{"金碧镇机关干部职工花名册"},
		{},
		{"序号", "姓名", "工号", "职务", "单位", "考勤方式", "起始日期", "备注"},
		{1, "张三", 1001, "党政办主任", "党政办", "打卡", time.Date(2021, 3, 15, 0, 0, 0, 0, time.UTC), ""},
		{2, "李四", "A1023", "站长", "农技中心", "外围站所", "", "外围站所自行考勤"},
		{},
		{3, "王五", "0012", "干事", "党政办", "包村挂点", "2021-01-04", ""},
	})
	got, err := ParseXLSX(bytes.NewReader(data), "花名册.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	want := []attendance.Person{
		{UserID: "1001", Name: "张三", Post: "党政办主任", Unit: "党政办", Tracking: attendance.TrackClock, From: attendance.Date{Year: 2021, Month: 3, Day: 15}},
		{UserID: "A1023", Name: "李四", Post: "站长", Unit: "农技中心", Tracking: attendance.TrackStation},
		{UserID: "0012", Name: "王五", Post: "干事", Unit: "党政办", Tracking: attendance.TrackVillage, From: attendance.Date{Year: 2021, Month: 1, Day: 4}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d people: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("person %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseXLSXEnglish(t *testing.T) {
	data := workbook(t, "Sheet1", [][]any{
		{"user_id", "name", "post", "unit", "tracking"},
		{"1", "Zhang", "clerk", "office", "clock"},
		{"2", "Li", "head", "station", "exempt"},
	})
	got, err := ParseXLSX(bytes.NewReader(data), "r.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Tracking != attendance.TrackExempt || got[0].Name != "Zhang" {
		t.Errorf("%+v", got)
	}
}

func TestParseXLSXErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows [][]any
		want []string
	}{
		{"missing column", [][]any{{"标题"}, {"姓名", "工号", "单位", "考勤方式"}, {"张三", "1", "党政办", "打卡"}},
			[]string{"r.xlsx[花名册]:2:", "missing column post"}},
		{"duplicate id", [][]any{{"工号", "姓名", "职务", "单位", "考勤方式"}, {"1", "张三", "", "", ""}, {"2", "李四", "", "", ""}, {"1", "王五", "", "", ""}},
			[]string{"r.xlsx[花名册]:4:", "duplicate user_id \"1\" (first on line 2)"}},
		{"bad tracking", [][]any{{"工号", "姓名", "职务", "单位", "考勤方式"}, {"1", "张三", "", "", "偶尔"}},
			[]string{"r.xlsx[花名册]:2:", "偶尔"}},
		{"no header", [][]any{{"a", "b"}, {"1", "2"}},
			[]string{"r.xlsx[花名册]:1:", "missing column user_id"}},
		{"empty id", [][]any{{"工号", "姓名", "职务", "单位", "考勤方式"}, {"", "张三", "", "", ""}},
			[]string{"r.xlsx[花名册]:2:", "user_id is empty"}},
	} {
		_, err := ParseXLSX(bytes.NewReader(workbook(t, "花名册", tc.rows)), "r.xlsx")
		if !errors.Is(err, ErrBadRoster) {
			t.Errorf("%s: err %v, want ErrBadRoster", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines", tc.name)
		}
	}
	if _, err := ParseXLSX(strings.NewReader("user_id,name\n"), "r.xlsx"); !errors.Is(err, ErrBadRoster) || !strings.Contains(err.Error(), "r.xlsx") {
		t.Errorf("not a workbook: %v", err)
	}
}

func TestParseFileByExtension(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "roster.CSV")
	if err := os.WriteFile(csvPath, []byte("工号,姓名,职务,单位,考勤方式\n7,张三,科员,党政办,打卡\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	xlsxPath := filepath.Join(dir, "roster.xlsx")
	if err := os.WriteFile(xlsxPath, workbook(t, "Sheet1", [][]any{{"工号", "姓名", "职务", "单位", "考勤方式"}, {8, "李四", "科员", "党政办", "打卡"}}), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, id := range map[string]string{csvPath: "7", xlsxPath: "8"} {
		got, err := ParseFile(path)
		if err != nil || len(got) != 1 || got[0].UserID != id {
			t.Errorf("%s: %+v %v", path, got, err)
		}
	}
	if _, err := ParseFile(filepath.Join(dir, "old.xls")); !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "old.xls") {
		t.Errorf("xls: %v", err)
	}
	if _, err := ParseFile(filepath.Join(dir, "absent.xlsx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
