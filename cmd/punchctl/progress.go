package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows a long read of a clock's log: on a terminal, one line of stderr rewritten in
// place with the records read of the total, the rate and the time left; terminal or not, a final
// count when the read is done. Updates come from the reading goroutine only.
type progress struct {
	w     io.Writer
	tty   bool
	now   func() time.Time
	start time.Time
	last  time.Time // when the line was last drawn
	drawn bool
}

// progressEvery is how often the line is redrawn at most.
const progressEvery = 200 * time.Millisecond

func newProgress(w io.Writer, now func() time.Time) *progress {
	return &progress{w: w, tty: isTerminal(w), now: now, start: now()}
}

// isTerminal says whether w is a terminal, where a line rewritten in place reads well (a file or a
// pipe gets only the final count) and binary output would be garbage (report -o -). /dev/null is
// a character device but not a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// update is told that done of total records have arrived.
func (p *progress) update(done, total int) {
	if !p.tty {
		return
	}
	now := p.now()
	if p.drawn && now.Sub(p.last) < progressEvery && done < total {
		return
	}
	p.last, p.drawn = now, true
	line := fmt.Sprintf("%d/%d records", done, total)
	if el := now.Sub(p.start).Seconds(); el > 0 && done > 0 {
		rate := float64(done) / el
		left := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", %.0f records/s, %s left", rate, left)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

// clear takes the progress line off the terminal, so that what follows on stderr starts a line.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// finish ends the line and prints the final count: records written, and skipped ones if any.
func (p *progress) finish(records, skipped int) {
	p.clear()
	took := p.now().Sub(p.start).Round(time.Millisecond)
	if skipped > 0 {
		fmt.Fprintf(p.w, "%d records in %s (%d skipped)\n", records, took, skipped)
		return
	}
	fmt.Fprintf(p.w, "%d records in %s\n", records, took)
}
