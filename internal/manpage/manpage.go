// Package manpage writes the man pages of punchd's commands from the commands themselves: their
// flag sets give the options (name, argument, usage, default) exactly as -h prints them, so a page
// cannot drift from the program it describes. The prose sections are the commands' own text.
//
// It writes man(7) roff in UTF-8 (the help is partly Chinese; man-db and groff -k read the coding
// line). It does not gzip or install anything: scripts/dist.sh does.
package manpage

import (
	"flag"
	"fmt"
	"strings"
)

// Page is one man page.
type Page struct {
	Name     string // the command, e.g. punchd
	Section  int    // 1 user commands, 8 daemons
	Version  string // shown in the footer, e.g. "punchd 1.2.0"
	Summary  string // the NAME line after "\-"
	Synopsis string // after the bold name, e.g. "[\-\-config FILE]"; written as given (roff)
	// Description is plain text; a blank line starts a new paragraph.
	Description string
	// Options are the flags, in the order given, under OPTIONS.
	Options []*flag.Flag
	// Sections follow OPTIONS, in order (EXIT STATUS, FILES, SIGNALS, SEE ALSO, …).
	Sections []Section
}

// Section is a titled section. Its Body is plain text (a blank line starts a paragraph) unless Items
// are given, which become tagged paragraphs (.TP) after the body.
type Section struct {
	Title string
	Body  string
	Items []Item
}

// Item is a tagged paragraph: Tag in bold, then Text.
type Item struct{ Tag, Text string }

// Roff escapes plain text for a man page: backslashes, hyphens (so they stay ASCII hyphens that can
// be searched and pasted), and a leading dot or quote that roff would take for a request.
func Roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// Header starts a page: the coding line, .TH and NAME.
func Header(w *strings.Builder, name string, section int, version, summary string) {
	w.WriteString(".\\\" -*- coding: UTF-8 -*-\n")
	fmt.Fprintf(w, ".TH %s %d \"\" \"%s\" \"punchd manual\"\n", strings.ToUpper(Roff(name)), section, Roff(version))
	fmt.Fprintf(w, ".SH NAME\n%s \\- %s\n", Roff(name), Roff(summary))
}

// Option writes one flag as -h shows it: --name ARG, its usage and its default when it has one.
func Option(w *strings.Builder, f *flag.Flag) {
	arg, usage := flag.UnquoteUsage(f)
	fmt.Fprintf(w, ".TP\n.B \\-\\-%s", Roff(f.Name))
	if arg != "" {
		fmt.Fprintf(w, " \\fI%s\\fR", Roff(arg))
	}
	w.WriteString("\n" + Roff(usage))
	if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
		fmt.Fprintf(w, " (default %s)", Roff(f.DefValue))
	}
	w.WriteString("\n")
}

// Flags lists a flag set's flags in the order -h prints them (sorted by name).
func Flags(fs *flag.FlagSet) []*flag.Flag {
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// paragraphs writes plain text with a .PP between paragraphs.
func paragraphs(w *strings.Builder, text string) {
	for i, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			w.WriteString(".PP\n")
		}
		w.WriteString(Roff(strings.TrimSpace(p)) + "\n")
	}
}

// String is the page in roff.
func (p Page) String() string {
	var w strings.Builder
	Header(&w, p.Name, p.Section, p.Version, p.Summary)
	fmt.Fprintf(&w, ".SH SYNOPSIS\n.B %s\n%s\n", Roff(p.Name), p.Synopsis)
	if p.Description != "" {
		w.WriteString(".SH DESCRIPTION\n")
		paragraphs(&w, p.Description)
	}
	if len(p.Options) > 0 {
		w.WriteString(".SH OPTIONS\n")
		for _, f := range p.Options {
			Option(&w, f)
		}
	}
	for _, s := range p.Sections {
		fmt.Fprintf(&w, ".SH %s\n", Roff(strings.ToUpper(s.Title)))
		if s.Body != "" {
			paragraphs(&w, s.Body)
		}
		for _, it := range s.Items {
			fmt.Fprintf(&w, ".TP\n.B %s\n%s\n", Roff(it.Tag), Roff(it.Text))
		}
	}
	return w.String()
}
