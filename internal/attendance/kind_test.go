package attendance

import "testing"

// TestKindLabel: each kind that excuses has its own Chinese name, the one every form, page and
// report shows; return (it excuses nothing) and an unknown kind have none.
func TestKindLabel(t *testing.T) {
	want := map[Kind]string{KindOffsite: "外出", KindTrip: "出差", KindLeave: "请假", KindMeeting: "会议", KindMakeup: "补卡",
		KindReturn: "", Kind("holiday"): ""}
	for k, w := range want {
		if got := k.Label(); got != w {
			t.Errorf("%q.Label() = %q, want %q", k, got, w)
		}
	}
	for _, s := range []string{"offsite", "trip", "leave", "meeting", "makeup", "return"} {
		if _, err := ParseKind(s); err != nil {
			t.Errorf("ParseKind(%q): %v", s, err)
		}
		if _, ok := want[Kind(s)]; !ok {
			t.Errorf("kind %q has no expected label in this test", s)
		}
	}
}

// TestViaLabel: the Chinese name of each way a registration reaches the office, which ParseVia
// also reads.
func TestViaLabel(t *testing.T) {
	for v, w := range map[Via]string{ViaWritten: "书面", ViaPhone: "电话", "": ""} {
		if got := v.Label(); got != w {
			t.Errorf("%q.Label() = %q, want %q", v, got, w)
		}
		if w == "" {
			continue
		}
		if got, err := ParseVia(w); err != nil || got != v {
			t.Errorf("ParseVia(%q) = %q, %v; want %q", w, got, err, v)
		}
	}
}
