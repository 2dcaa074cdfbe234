package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "28ef7b7c1a2b"}, {Key: "vcs.modified", Value: "true"}}
	plat := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name    string
		version string
		bi      *debug.BuildInfo
		want    Info
	}{
		{"no build info", "", nil, Info{Version: "dev", Revision: "unknown", GoVersion: runtime.Version(), Platform: plat}},
		{"release build", "1.2.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			Info{Version: "1.2.0", Revision: "28ef7b7c1a2b", Modified: true, GoVersion: "go1.26.8", Platform: plat}},
		{"go build in a checkout", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261205171350-28ef7b7c1a2b+dirty"}, Settings: vcs},
			Info{Version: "v0.0.0-20261205171350-28ef7b7c1a2b+dirty", Revision: "28ef7b7c1a2b", Modified: true, GoVersion: "go1.26.8", Platform: plat}},
		{"go run without VCS", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{Version: "dev", Revision: "unknown", GoVersion: "go1.26.8", Platform: plat}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromBuildInfo(tc.version, tc.bi); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "1.2.0", Revision: "28ef7b7c1a2b", Modified: true, GoVersion: "go1.26.8", Platform: "linux/arm"}
	if got, want := i.String(), "1.2.0 (revision 28ef7b7c1a2b, modified, go1.26.8, linux/arm)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	i.Modified = false
	if got, want := i.String(), "1.2.0 (revision 28ef7b7c1a2b, go1.26.8, linux/arm)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
