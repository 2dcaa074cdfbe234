package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/manpage"
)

// TestGenMan: the page has every visible command with its synopsis and every flag its -h shows,
// and roff reads it without a warning (when groff is installed).
func TestGenMan(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCmd(t, "", "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(dir, "punchctl.1"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		`.SS "punchctl clock dump \-\-clock URL`, `.B \-\-clock`, `.B \-\-comm\-key`,
		`.SS "punchctl report table`, `.B \-\-month`, `.SS "punchctl version"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the man page has no %q", want)
		}
	}
	cmds, err := describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if c.Hidden || !strings.Contains(page, `.SS "`+manpage.Roff(strings.TrimSpace("punchctl "+c.Name+" "+c.Args))+`"`) {
			t.Errorf("command %q missing from the page (or hidden but listed)", c.Name)
		}
	}
	if strings.Contains(page, "gen-man") {
		t.Error("the hidden gen-man is on the page")
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		out, err := exec.Command(groff, "-k", "-Tutf8", "-man", "-ww", "-z", filepath.Join(dir, "punchctl.1")).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff: %v\n%s", err, out)
		}
	}
}

// TestCompletionBash: the script parses, and completes command words and a command's flags.
func TestCompletionBash(t *testing.T) {
	code, script, errs := runCmd(t, "", "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: exit %d: %s", code, errs)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	path := writeFile(t, t.TempDir(), "punchctl.bash", script)
	for _, tc := range []struct{ words, want string }{
		{"punchctl cl", "clock"},
		{"punchctl clock ''", "dump info time users"},
		{"punchctl --config x.toml clock dump --c", "--config --clock --comm-key"},
		{"punchctl judge --pu", "--punches"},
	} {
		prog := "source " + path + "; COMP_WORDS=(" + tc.words + "); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _punchctl; echo \"${COMPREPLY[*]}\""
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("completing %s: %q (%v), want %q", tc.words, out, err, tc.want)
		}
	}
	if code, _, _ := runCmd(t, "", "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
}
