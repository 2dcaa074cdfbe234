// Package buildinfo says which punchd a binary is: its version, the VCS revision it was built from and
// the Go version, all read from the build information the go command records in every binary
// (runtime/debug.ReadBuildInfo). Every command's --version and the daemon's punchd_build_info metric
// and status read it here, so they cannot disagree.
//
// It must not import anything of punchd's: every floor may ask it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version is set by release builds (scripts/dist.sh):
//
//	go build -ldflags "-X github.com/jinbi/punchd/internal/buildinfo.Version=1.2.0"
//
// Left empty, the version is the one the go command recorded for the main module: a pseudo-version
// from the VCS for `go build` in a checkout (v0.0.0-20261205171350-28ef7b7c1a2b+dirty), a tag for
// `go install …@v1.2.0`, and "dev" when it recorded none.
var Version string

// Info identifies a binary. Fields the build did not record are "unknown" (Revision) or as the
// runtime reports them (GoVersion).
type Info struct {
	Version   string // release version, module version, or "dev"
	Revision  string // VCS revision (full hash), "unknown" when not recorded
	Modified  bool   // built from a working tree with uncommitted changes
	GoVersion string // e.g. go1.26.8
	Platform  string // GOOS/GOARCH, e.g. linux/arm64
}

// Read returns this binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return fromBuildInfo(Version, bi)
}

// fromBuildInfo is Read with its inputs as parameters; bi may be nil.
func fromBuildInfo(version string, bi *debug.BuildInfo) Info {
	i := Info{Version: version, Revision: "unknown", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		if i.Version == "" {
			i.Version = "dev"
		}
		return i
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	if i.Version == "" {
		i.Version = bi.Main.Version
	}
	if i.Version == "" || i.Version == "(devel)" {
		i.Version = "dev"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the one line every --version prints after the program's name:
//
//	1.2.0 (revision 28ef7b7c1a2b5e0f…, modified, go1.26.8, linux/arm64)
func (i Info) String() string {
	rev := i.Revision
	if i.Modified {
		rev += ", modified"
	}
	return i.Version + " (revision " + rev + ", " + i.GoVersion + ", " + i.Platform + ")"
}
