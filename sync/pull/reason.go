package pull

import (
	"context"
	"errors"
	"net"
	"os"
)

// Reasons maps driver sentinel errors to the metric reason they count under. Drivers add theirs at
// init (device/zk does); the map is read-only once loops run.
var Reasons = map[error]string{}

// Reason classifies err for the errors-by-reason metric: a registered driver sentinel first, then
// timeouts, then network failures.
func Reason(err error) string {
	for sentinel, reason := range Reasons {
		if errors.Is(err, sentinel) {
			return reason
		}
	}
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne):
		return "connect"
	}
	return "other"
}
