package zk

import (
	"testing"
	"time"
)

// BenchmarkDecodeAttLog100k is the client's CPU work on a 100,000-record log once the bytes are in:
// split, date checks and conversion to punches (no network).
func BenchmarkDecodeAttLog100k(b *testing.B) {
	const n = 100000
	loc := time.FixedZone("CST", 8*3600)
	start := time.Date(2025, 1, 6, 8, 0, 0, 0, loc)
	recs := make([][]byte, n)
	for i := range recs {
		r, err := EncodeAttRecord(40, AttRecord{UID: uint16(i % 200), UserID: "10" + string(rune('0'+i%10)) + string(rune('0'+i/10%20)), Verify: 1, Time: EncodeTime(start.Add(time.Duration(i) * 7 * time.Minute))})
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	blob := EncodeBlob(recs)
	now := start.Add(time.Duration(n) * 7 * time.Minute)
	b.SetBytes(int64(len(blob)))
	for b.Loop() {
		got, size, err := DecodeAttLog(blob, n)
		if err != nil {
			b.Fatal(err)
		}
		if err := checkDates(got, size, now); err != nil {
			b.Fatal(err)
		}
		td := timeDecoder{loc: loc}
		var last time.Time
		for _, r := range got {
			last = td.decode(r.Time)
		}
		_ = last
	}
}
