package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/manpage"
)

// TestGenMan: punchd gen-man writes punchd(8) with every flag -h shows and every setting a reload
// refuses, and man (or groff) renders it without a warning.
func TestGenMan(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"gen-man", dir}, &out, Options{Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "punchd.8")
	if strings.TrimSpace(out.String()) != path {
		t.Errorf("gen-man printed %q, want the page's path %s", out.String(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	fs, _ := newFlags()
	for _, f := range manpage.Flags(fs) {
		if !strings.Contains(page, ".B \\-\\-"+manpage.Roff(f.Name)+"\n") && !strings.Contains(page, ".B \\-\\-"+manpage.Roff(f.Name)+" ") {
			t.Errorf("flag --%s missing from the page", f.Name)
		}
	}
	for _, k := range fixedKeys {
		if !strings.Contains(page, manpage.Roff(k.key)) {
			t.Errorf("the page does not say a reload refuses %s", k.key)
		}
	}
	for _, want := range []string{".TH PUNCHD 8 ", ".SH SIGNALS", ".B SIGHUP", ".SH FILES", "punchctl(1)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	if err := run(t.Context(), []string{"gen-man"}, io.Discard, Options{Stderr: io.Discard}); err == nil {
		t.Error("gen-man without DIR: no error")
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		out, err := exec.Command(groff, "-k", "-Tutf8", "-man", "-ww", "-z", path).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff: %v\n%s", err, out)
		}
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Skip("no man to render the page with")
	}
	cmd := exec.Command(man, "-l", path)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=100", "LANG=C.UTF-8")
	text, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("man -l: %v\n%s", err, text)
	}
	for _, want := range []string{"punchd - the attendance clock daemon", "SIGHUP", "--config file"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("man -l shows no %q:\n%s", want, text)
		}
	}
}
