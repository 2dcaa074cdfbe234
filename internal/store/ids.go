package store

import (
	"fmt"
	"strconv"
	"strings"
)

// seqID is how the store names the records it numbers in sequence: a letter, then the sequence
// number in 8 or more digits ("R00000042").
type seqID struct{ prefix, what string }

var (
	registrationIDs = seqID{"R", "registration"}
	findingIDs      = seqID{"F", "finding"}
	auditIDs        = seqID{"A", "audit entry"}
)

func (k seqID) format(seq uint64) string { return fmt.Sprintf("%s%08d", k.prefix, seq) }

// parse is the sequence number of id; ErrInvalid when id is not one of k's.
func (k seqID) parse(id string) (uint64, error) {
	digits, ok := strings.CutPrefix(id, k.prefix)
	n, err := strconv.ParseUint(digits, 10, 64)
	if !ok || err != nil || n == 0 || len(digits) < 8 {
		return 0, fmt.Errorf("%w: %s id %q is not %s followed by 8 or more digits", ErrInvalid, k.what, id, k.prefix)
	}
	return n, nil
}
