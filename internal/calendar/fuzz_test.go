package calendar

import (
	"bytes"
	"io/fs"
	"testing"
)

// FuzzLoadHolidayJSON: any input yields a file or an ErrBadHolidayFile error, never a panic, and a
// file that loads can be given to New.
func FuzzLoadHolidayJSON(f *testing.F) {
	names, _ := fs.Glob(embedded, "holidays/*.json")
	for _, n := range names {
		b, _ := fs.ReadFile(embedded, n)
		f.Add(b)
	}
	f.Add([]byte(`{"year": 2027, "days": [{"name": "x", "date": "2027-02-29", "isOffDay": true}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hf, err := LoadHolidayJSON(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := New(Options{Schedules: testSchedules, Extra: []HolidayFile{hf}, NoEmbedded: true}); err != nil {
			t.Fatalf("a loaded file was refused by New: %v", err)
		}
	})
}
