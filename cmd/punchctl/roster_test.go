package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jinbi/punchd/internal/store"
)

// TestRosterImportWarnsAboutConfiguredRoster: with [site] roster set, the daemon reloads that file
// at start and on SIGHUP, so importing another file warns (naming the configured file and how to
// copy the import there) and still imports; importing the configured file itself does not warn.
func TestRosterImportWarnsAboutConfiguredRoster(t *testing.T) {
	dir := t.TempDir()
	const csv = "user_id,name,post,unit,tracking\n1,张三,主任,党政办,clock\n2,李四,干事,党政办,clock\n"
	conf := writeFile(t, dir, "roster.csv", csv)
	other := writeFile(t, dir, "new roster.csv", csv+"3,王五,干事,农技中心,station\n")
	cfg := writeFile(t, dir, "punchd.toml", "[site]\nname = \"jinbi\"\nroster = \""+conf+"\"\n")
	dbPath := filepath.Join(dir, "punchd.db")
	db, err := store.Open(dbPath, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, errs := runAt(t, reportNow, "roster", "import", other, "--config", cfg, "--store", dbPath)
	if code != 0 || !strings.Contains(out, "imported 3 people") {
		t.Fatalf("import: exit %d stdout %q stderr %q", code, out, errs)
	}
	want := "punchctl roster import: warning: " + cfg + " sets [site] roster = " + conf +
		": punchd loads that file at start and on SIGHUP and will replace this import with it; to keep " + other +
		", copy it there (cp '" + other + "' " + conf + ")\n"
	if warnings(errs) != want {
		t.Errorf("warnings on stderr\n got %q\nwant %q", warnings(errs), want)
	}

	// The dry run warns too; importing the configured file itself does not.
	code, _, errs = runAt(t, reportNow, "roster", "import", "--dry-run", other, "--config", cfg, "--store", dbPath)
	if code != 0 || !strings.Contains(errs, "[site] roster = "+conf) {
		t.Errorf("dry run: exit %d stderr %q", code, errs)
	}
	code, out, errs = runAt(t, reportNow, "roster", "import", filepath.Join(dir, ".", "roster.csv"), "--config", cfg, "--store", dbPath)
	if code != 0 || warnings(errs) != "" || !strings.Contains(out, "imported 2 people") {
		t.Errorf("importing the configured file: exit %d stdout %q stderr %q", code, out, errs)
	}

	// No [site] roster: no warning.
	plain := writeFile(t, dir, "plain.toml", "[site]\nname = \"jinbi\"\n")
	code, _, errs = runAt(t, reportNow, "roster", "import", other, "--config", plain, "--store", dbPath)
	if code != 0 || warnings(errs) != "" {
		t.Errorf("without [site] roster: exit %d stderr %q", code, errs)
	}
}

// warnings are the lines of stderr that are warnings (the backend also says which store it used).
func warnings(stderr string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if strings.Contains(l, "warning:") {
			b.WriteString(l)
		}
	}
	return b.String()
}
