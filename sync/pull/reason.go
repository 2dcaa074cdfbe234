package pull

import (
	"context"
	"errors"
	"net"
	"os"
)

// The reasons Reason gives of its own.
const (
	reasonTimeout = "timeout" // a deadline passed
	reasonConnect = "connect" // any other network failure
	reasonOther   = "other"   // anything else

	reasonProtocol = "protocol" // the clock refused to have its time set
)

// ErrorReason is one rule of a classification of errors for the errors-by-reason metrics: an
// error that is (errors.Is) Err counts under Reason.
type ErrorReason struct {
	Err    error
	Reason string
}

// Reason classifies err: the first rule of reasons it matches, in order (a driver's sentinels, as
// NewMetrics is given them), then timeouts, then network failures, else "other". One error gets
// one reason, the same every time.
func Reason(err error, reasons []ErrorReason) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.Err) {
			return r.Reason
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return reasonTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return reasonTimeout
	case errors.As(err, &ne):
		return reasonConnect
	}
	return reasonOther
}
