package device_test

import (
	"testing"

	"github.com/jinbi/punchd/device"
)

func TestVerifyMethod(t *testing.T) {
	for code, want := range map[uint8]string{0: "password", 1: "fingerprint", 2: "card", 4: "card", 15: "face", 25: "palm", 3: "other", 9: "other", 255: "other"} {
		if got := device.VerifyMethod(code); got != want {
			t.Errorf("VerifyMethod(%d) = %q, want %q", code, got, want)
		}
	}
}
