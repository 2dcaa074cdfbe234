package device_test

import (
	"errors"
	"net/url"
	"strings"
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

// TestSerialPort: a Linux device path or a Windows COM port; anything else names the two forms.
func TestSerialPort(t *testing.T) {
	for raw, want := range map[string]string{
		"zk+serial:///dev/ttyUSB0?baud=9600": "/dev/ttyUSB0",
		"zk+serial://COM3?baud=9600&id=2":    "COM3",
		"zk+serial://com12":                  "COM12",
		"zk+serial:///COM3":                  "COM3",
		"zk+serial://ttyUSB0":                "",
		"zk+serial://COM0":                   "",
		"zk+serial://COM":                    "",
		"zk+serial:":                         "",
		"zk+serial://COM3/x":                 "",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := device.SerialPort(u)
		if want == "" {
			if !errors.Is(err, device.ErrBadURL) || !strings.Contains(err.Error(), "zk+serial://COM3 (Windows)") {
				t.Errorf("%s: %q, %v; want ErrBadURL naming both forms", raw, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", raw, got, err, want)
		}
	}
}
