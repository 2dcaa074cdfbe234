package main

import (
	"strings"
	"testing"

	"github.com/jinbi/punchd/device/zk/zksim"
)

// TestTextTableAlignsByDisplayWidth: a Chinese character is two columns on a terminal.
func TestTextTableAlignsByDisplayWidth(t *testing.T) {
	var b strings.Builder
	tb := newTextTable(&b, "USER_ID", "NAME", "PRIVILEGE", "CARD")
	tb.row("1", "张三", "0", "0")
	tb.rowf("%d\t%s\t%d\t%d", 1007, "欧阳晓明", 14, 8812)
	tb.row("12", "Li Wei", "0", "0")
	want := "" +
		"USER_ID  NAME      PRIVILEGE  CARD\n" +
		"1        张三      0          0\n" +
		"1007     欧阳晓明  14         8812\n" +
		"12       Li Wei    0          0\n"
	if err := tb.flush(); err != nil || b.String() != want {
		t.Errorf("got (%v)\n%s\nwant\n%s", err, b.String(), want)
	}
}

// TestClockUsersTextAligned: in `clock users --text` every row's PRIVILEGE starts in the header's
// display column, whatever the names.
func TestClockUsersTextAligned(t *testing.T) {
	_, url := startSim(t, zksim.Config{Data: simData(t, 15, 1)})
	code, out, errs := runCmd(t, "", "clock", "users", "--clock", url, "--text")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	col := strings.Index(lines[0], "PRIVILEGE")
	wide := 0
	for _, line := range lines[1:] {
		fields := strings.Fields(line) // USER_ID NAME… PRIVILEGE CARD: names may hold a space
		priv := strings.LastIndex(line, "  "+fields[len(fields)-2]+" ") + 2
		if got := cells.StringWidth(line[:priv]); got != col {
			t.Errorf("PRIVILEGE of %q at display column %d, header's at %d", line, got, col)
		}
		if cells.StringWidth(line) != len([]rune(line)) {
			wide++
		}
	}
	if wide == 0 {
		t.Fatalf("no name with wide characters among %d users: the test shows nothing\n%s", len(lines)-1, out)
	}
}
