package config

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinbi/punchd/device"
)

func TestPathsFor(t *testing.T) {
	for _, tc := range []struct {
		goos, programData string
		want              Paths
	}{
		{"linux", `C:\ignored`, Paths{OS: "linux", Dir: "/var/lib/punchd", Config: "/etc/punchd/punchd.toml",
			Store: "/var/lib/punchd/punchd.db", Reports: "/var/lib/punchd/reports"}},
		{"windows", "", Paths{OS: "windows", Dir: `C:\ProgramData\punchd`, Config: `C:\ProgramData\punchd\punchd.toml`,
			Store: `C:\ProgramData\punchd\punchd.db`, Reports: `C:\ProgramData\punchd\reports`, Logs: `C:\ProgramData\punchd\logs`}},
		{"windows", `D:\Data\`, Paths{OS: "windows", Dir: `D:\Data\punchd`, Config: `D:\Data\punchd\punchd.toml`,
			Store: `D:\Data\punchd\punchd.db`, Reports: `D:\Data\punchd\reports`, Logs: `D:\Data\punchd\logs`}},
	} {
		if got := PathsFor(tc.goos, tc.programData); got != tc.want {
			t.Errorf("PathsFor(%q, %q) =\n %+v\nwant %+v", tc.goos, tc.programData, got, tc.want)
		}
		def := defaultFor(tc.want)
		if def.Store.Path != tc.want.Store || def.Reports.Dir != tc.want.Reports {
			t.Errorf("%s: Default() store %q reports %q, want the platform's %q %q",
				tc.goos, def.Store.Path, def.Reports.Dir, tc.want.Store, tc.want.Reports)
		}
	}
}

// TestExampleIsTheFile: on Linux the example is the file the packages install, byte for byte.
func TestExampleIsTheFile(t *testing.T) {
	file, err := os.ReadFile(filepath.Join("testdata", "punchd.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := Example(PathsFor("linux", "")); !bytes.Equal(got, file) {
		t.Errorf("Example(linux) differs from testdata/punchd.example.toml")
	}
}

// TestExampleWindows: the config `punchd service install` writes is the same file with the paths
// under %ProgramData%\punchd, reads as every default with those paths, and its commented clock
// (a COM port there) validates when switched on.
func TestExampleWindows(t *testing.T) {
	p := PathsFor("windows", `D:\PD`)
	data := Example(p)
	for _, unix := range []string{"/etc/", "/var/", "/dev/", "/run/", "punchd.sock"} {
		if i := bytes.Index(data, []byte(unix)); i >= 0 {
			line := data[bytes.LastIndexByte(data[:i], '\n')+1:]
			t.Errorf("the Windows example still has a Linux path: %s", line[:bytes.IndexByte(line, '\n')])
		}
	}
	for _, want := range []string{
		`# punchd configuration — D:\PD\punchd\punchd.toml`,
		`path = 'D:\PD\punchd\punchd.db'`,
		`dir = 'D:\PD\punchd\reports'`,
		`roster = 'D:\PD\punchd\roster.csv'`,
		`zk+serial://COM3?baud=115200&id=1`,
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("the Windows example lacks %q", want)
		}
	}
	cfg, err := Parse(data, "punchd.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	def := defaultFor(p)
	if cfg.Store != def.Store || cfg.Reports.Dir != def.Reports.Dir || cfg.MQTT != def.MQTT || cfg.HTTP != def.HTTP || cfg.Rules != def.Rules {
		t.Errorf("the Windows example differs from the Windows defaults:\n got %+v\nwant %+v", cfg, def)
	}

	// Its clock, switched on and pointed at COM3 as the comment shows, validates and names COM3.
	on := bytes.Replace(uncommentClock(data), []byte(`url = "zk+tcp://192.168.1.201:4370"`), []byte(`url = "zk+serial://COM3?baud=115200&id=1"`), 1)
	cfg, err = Parse(on, "punchd.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Clock) != 1 {
		t.Fatalf("clocks = %+v, want the one switched on", cfg.Clock)
	}
	u, err := url.Parse(cfg.Clock[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := device.SerialPort(u)
	if baud, id, perr := device.SerialParams(u); err != nil || perr != nil || port != "COM3" || baud != 115200 || id != 1 {
		t.Errorf("clock url %q: port %q baud %d id %d (%v, %v), want COM3 115200 1", cfg.Clock[0].URL, port, baud, id, err, perr)
	}
	if strings.Contains(string(on), `"D:\`) {
		t.Errorf("a Windows path in double quotes (its backslashes would be escapes)")
	}
}
