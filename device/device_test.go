package device_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
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

// TestUserJSON: an id that is not valid UTF-8 crosses JSON whole (user_id_hex), so the daemon's
// socket and the store keep two such ids apart; a text id is written as it always was.
func TestUserJSON(t *testing.T) {
	for _, u := range []device.User{
		{UID: 1, UserID: "X\xff", Name: "张三", Privilege: 14, Card: 7},
		{UID: 2, UserID: "X\xfe"},
		{UID: 3, UserID: "A1023", Name: "李四", Password: "secret", RawName: []byte{1}},
	} {
		b, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		if hex := device.IDHex(u.UserID); hex != "" != strings.Contains(string(b), `"user_id_hex":"`+hex+`"`) || strings.Contains(string(b), "secret") {
			t.Errorf("%q as JSON: %s", u.UserID, b)
		}
		var got device.User
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		u.Password, u.RawName = "", nil
		if !reflect.DeepEqual(got, u) {
			t.Errorf("%s read back as %+v, want %+v", b, got, u)
		}
	}
	if err := json.Unmarshal([]byte(`{"user_id":"?","user_id_hex":"zz"}`), new(device.User)); err == nil || !strings.Contains(err.Error(), "user_id_hex") {
		t.Errorf("bad user_id_hex: %v", err)
	}
}
