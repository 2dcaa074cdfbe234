package report

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// checkDimensions reads every sheet of an XLSX back and wants its <dimension> to be the used
// range: A1 to the last column and row holding a value (streaming readers such as openpyxl in
// read-only mode size the sheet from it; excelize alone leaves "A1").
func checkDimensions(t *testing.T, data []byte, wantSheets int) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != wantSheets {
		t.Fatalf("sheets %q", sheets)
	}
	for _, sh := range sheets {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		cols := 0
		for _, r := range rows {
			cols = max(cols, len(r))
		}
		want := "A1:" + cell(cols, len(rows))
		got, err := f.GetSheetDimension(sh)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("sheet %s: dimension %q, want %q (%d rows, %d columns used)", sh, got, want, len(rows), cols)
		}
	}
	// And in the file itself, as a streaming reader sees it.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/sheet") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(b, []byte(`<dimension ref="A1"/>`)) || !bytes.Contains(b, []byte(`<dimension ref="A1:`)) {
			t.Errorf("%s: dimension is not a range: %.200s", zf.Name, b)
		}
	}
}

func TestTableXLSXDimension(t *testing.T) {
	tb, err := BuildTable(goldenInput())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTableXLSX(&buf, tb); err != nil {
		t.Fatal(err)
	}
	checkDimensions(t, buf.Bytes(), 1)
	// Worked out by hand: TableCols columns; the rows end with the signature line under the legend.
	f, _ := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	defer f.Close()
	want := "A1:" + cell(TableCols, TableFirstDataRow+len(tb.Rows)+1)
	if got, _ := f.GetSheetDimension(TableSheet); got != want {
		t.Errorf("table dimension %q, want %q", got, want)
	}
}

func TestBulletinXLSXDimension(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBulletinXLSX(&buf, goldenBulletin(t, 0)); err != nil {
		t.Fatal(err)
	}
	checkDimensions(t, buf.Bytes(), 5)
}

func TestUsedRangeRef(t *testing.T) {
	var u usedRange
	if u.ref() != "A1" {
		t.Errorf("empty: %q", u.ref())
	}
	u.add(3, 2)
	u.add(1, 7)
	if u.ref() != "A1:C7" {
		t.Errorf("ref %q, want A1:C7", u.ref())
	}
}
