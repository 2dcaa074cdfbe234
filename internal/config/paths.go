package config

import (
	_ "embed"
	"regexp"
	"runtime"
	"strings"
)

// Paths are where punchd keeps its files when neither the command line nor the config says
// otherwise. They differ by platform and are decided here only: Default() takes the store and
// reports from them, punchd and punchctl the config file, `punchd service install` the directory
// it creates on Windows and the log directory.
type Paths struct {
	OS      string // the GOOS they are for
	Dir     string // the data directory: store, reports, socket (on Windows the config and logs too)
	Config  string // the config file (--config when not given)
	Store   string // [store] path
	Reports string // [reports] dir
	// Logs is the directory of the rotating log files of the Windows service; "" where the
	// service manager keeps the logs (systemd's journal).
	Logs string
}

// DefaultProgramData is %ProgramData% when the environment does not say.
const DefaultProgramData = `C:\ProgramData`

// PathsFor gives the paths on goos. programData is %ProgramData% (only Windows asks; "" =
// DefaultProgramData). It is a pure function so that every platform's paths are tested anywhere.
func PathsFor(goos, programData string) Paths {
	if goos != "windows" {
		return Paths{OS: goos, Dir: "/var/lib/punchd", Config: "/etc/punchd/punchd.toml",
			Store: "/var/lib/punchd/punchd.db", Reports: "/var/lib/punchd/reports"}
	}
	if programData == "" {
		programData = DefaultProgramData
	}
	dir := strings.TrimRight(programData, `\/`) + `\punchd`
	return Paths{OS: goos, Dir: dir, Config: dir + `\punchd.toml`, Store: dir + `\punchd.db`,
		Reports: dir + `\reports`, Logs: dir + `\logs`}
}

// platform are this machine's paths, read once (%ProgramData% does not change under a process).
var platform = PathsFor(runtime.GOOS, programData())

// Platform is PathsFor this platform.
func Platform() Paths { return platform }

// DefaultPath is where punchd and punchctl look for the config when --config is not given.
var DefaultPath = platform.Config

// example is the commented example configuration: every key with its default value, as the
// packages install it (/etc/punchd/punchd.toml). It lives with the tests that keep it true.
//
//go:embed testdata/punchd.example.toml
var example []byte

// linuxPath is a path of the Linux layout in the example, in double quotes (a TOML value) or bare
// (in a comment).
var linuxPath = regexp.MustCompile(`"(/etc/punchd|/var/lib/punchd)((?:/[\w.-]+)*)"|(/etc/punchd|/var/lib/punchd)((?:/[\w.-]+)*)`)

// unixSocketNote is the [api] comment's Linux default, which Windows does not have (api.DefaultAddress).
var unixSocketNote = regexp.MustCompile(`punchd\.sock beside the store \(here [^)]*\); on Windows a named pipe\n# named after`)

// Example is the commented example configuration with p's paths: the one the packages install on
// Linux, and the one `punchd service install` writes on Windows when there is none. On Windows
// paths are written as TOML literal strings ('C:\ProgramData\punchd\punchd.db'), where a
// backslash is itself, and the serial clock's example is a COM port.
func Example(p Paths) []byte {
	if p.OS != "windows" {
		return append([]byte(nil), example...)
	}
	linux := PathsFor("linux", "")
	confDir := p.Config[:strings.LastIndexByte(p.Config, '\\')]
	out := linuxPath.ReplaceAllStringFunc(string(example), func(m string) string {
		sm := linuxPath.FindStringSubmatch(m)
		quoted := sm[1] != ""
		root, rest := sm[1]+sm[3], sm[2]+sm[4]
		dir := p.Dir
		if root+"/" == linux.Config[:strings.LastIndexByte(linux.Config, '/')+1] {
			dir = confDir
		}
		w := dir + strings.ReplaceAll(rest, "/", `\`)
		if quoted {
			return "'" + w + "'"
		}
		return w
	})
	out = strings.ReplaceAll(out, "zk+serial:///dev/ttyUSB0", "zk+serial://COM3")
	out = unixSocketNote.ReplaceAllString(out, "a named pipe named after")
	first, rest, _ := strings.Cut(out, "\n")
	return []byte(first + "\n" +
		"#\n" +
		"# Windows paths go in single quotes, where a backslash is itself: 'C:\\ProgramData\\punchd\\roster.csv'.\n" +
		"# In double quotes every backslash must be doubled (\"C:\\\\ProgramData\\\\punchd\\\\roster.csv\").\n" +
		rest)
}
