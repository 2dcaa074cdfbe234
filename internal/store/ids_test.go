package store

import (
	"errors"
	"strings"
	"testing"
)

// TestSeqIDs: every numbered record's id reads back as its number; a wrong one is ErrInvalid
// naming the kind and the form it should have.
func TestSeqIDs(t *testing.T) {
	for _, k := range []seqID{registrationIDs, findingIDs, auditIDs} {
		for _, seq := range []uint64{1, 42, 99999999, 123456789} {
			id := k.format(seq)
			if got, err := k.parse(id); err != nil || got != seq {
				t.Errorf("%s: parse(%q) = %d, %v; want %d", k.what, id, got, err, seq)
			}
		}
		for _, bad := range []string{"", k.prefix, k.prefix + "42", k.prefix + "00000000", "X00000042", k.prefix + "0000004x"} {
			_, err := k.parse(bad)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), k.what+" id") ||
				!strings.Contains(err.Error(), "not "+k.prefix+" followed by 8 or more digits") {
				t.Errorf("%s: parse(%q) = %v, want ErrInvalid naming it", k.what, bad, err)
			}
		}
	}
	if RegistrationID(42) != "R00000042" || FindingID(7) != "F00000007" || AuditID(42) != "A00000042" {
		t.Errorf("ids %s %s %s", RegistrationID(42), FindingID(7), AuditID(42))
	}
}
