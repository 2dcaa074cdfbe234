package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: any input gives a config or an error naming the file, never a panic; a config that
// validates survives Validate again unchanged in its verdict.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "punchd.example.toml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	f.Add("[[schedule]]\nname=\"s\"\nam_in=\"8:3\"\n")
	f.Add("[[clock]]\nname=\"a\"\nurl=\"zk+serial:///dev/ttyS0?baud=9600&id=2\"\n[rules.windows]\nclose=\"24:00\"\n")
	f.Add("[calendar]\noverrides=[{date=\"2026-05-06\",type=\"holiday\"}]\n[reports]\nfile_at=\"01 08:00\"\n")
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := Parse([]byte(src), "f.toml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config f.toml: ") {
				t.Fatalf("error without the file name: %v", err)
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrSyntax) {
				t.Fatalf("error is neither ErrInvalid nor ErrSyntax: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("validation error not ErrInvalid: %v", err)
			}
			return
		}
		// A valid config converts without surprises.
		_ = cfg.Location()
		_ = cfg.RulesParams()
		if len(cfg.Schedules()) == 0 {
			t.Fatal("valid config without schedules")
		}
	})
}
