package zkpush_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jinbi/punchd/device"
	"github.com/jinbi/punchd/device/zkpush"
)

func BenchmarkParseAttLog(b *testing.B) {
	line := "1001\t2026-03-02 08:41:00\t0\t1\t0\t0\t0"
	for b.Loop() {
		if _, err := zkpush.ParseAttLog(line, "SN1", cst); err != nil {
			b.Fatal(err)
		}
	}
}

type nopSink struct{}

func (nopSink) Upload(context.Context, string, string, []device.Punch, []device.Skipped) error {
	return nil
}
func (nopSink) Seen(context.Context, string, string) {}
func (nopSink) Users(context.Context, string, string, []zkpush.UserChange) error {
	return nil
}

// BenchmarkUpload1000 is one 1000-line ATTLOG upload through the handler (no store).
func BenchmarkUpload1000(b *testing.B) {
	h := zkpush.Handler(zkpush.Config{Devices: map[string]string{"PUSH0001": "c"}, Location: cst}, nopSink{}, &stamps{m: map[string][]byte{}})
	var sb strings.Builder
	for i := range 1000 {
		sb.WriteString(punchAt(i).Line() + "\n")
	}
	body := sb.String()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest("POST", "/iclock/cdata?SN=PUSH0001&table=ATTLOG&Stamp=1", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
