package zk

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func innerPayload(t *testing.T, tcpFrame []byte) []byte {
	t.Helper()
	p, err := ParseInner(tcpFrame[TCPHeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	return p.Payload
}

func TestFreeSizesFixtures(t *testing.T) {
	v := vectors(t)
	f92, err := DecodeFreeSizes(innerPayload(t, vec(t, v, "free_sizes_92_tcp")))
	if err != nil {
		t.Fatal(err)
	}
	want92 := FreeSizes{Users: 7, Fingers: 6, Records: 605, OpLogs: 3087, Admins: 1, FingerCap: 3000, UserCap: 10000, RecordCap: 100000,
		FingerAvail: 2994, UserAvail: 9993, RecordAvail: 99395}
	if f92 != want92 {
		t.Errorf("92-byte: got %+v\nwant %+v", f92, want92)
	}
	if got := f92.Encode(92); !bytes.Equal(got, innerPayload(t, vec(t, v, "free_sizes_92_tcp"))) {
		t.Errorf("92-byte re-encode differs:\n% x", got)
	}
	raw80 := innerPayload(t, vec(t, v, "free_sizes_80_tcp"))
	f80, err := DecodeFreeSizes(raw80)
	if err != nil {
		t.Fatal(err)
	}
	want80 := FreeSizes{Users: 2, OpLogs: 7, FingerCap: 500, UserCap: 500, RecordCap: 50000, FingerAvail: 500, UserAvail: 498, RecordAvail: 50000}
	if f80 != want80 {
		t.Errorf("80-byte: %+v", f80)
	}
	if got := f80.Encode(80); !bytes.Equal(got, raw80) {
		t.Errorf("80-byte re-encode differs:\n% x\n% x", got, raw80)
	}
	if _, err := DecodeFreeSizes(raw80[:40]); !errors.Is(err, ErrShort) {
		t.Errorf("short: %v", err)
	}
}

func TestAttRecord40Adro(t *testing.T) {
	v := vectors(t)
	raw := vec(t, v, "att40_adro")
	blob := EncodeBlob([][]byte{raw})
	recs, size, err := DecodeAttLog(blob, 1)
	if err != nil || size != 40 || len(recs) != 1 {
		t.Fatalf("decode: %v size %d n %d", err, size, len(recs))
	}
	r := recs[0]
	if r.UID != 13 || r.UserID != "999111333" || r.Verify != 1 || r.State != 0 || r.Time != 0x2368B36B || r.WorkCode != 0 {
		t.Errorf("fields: %+v", r)
	}
	if got := DecodeTime(r.Time, time.UTC); !got.Equal(time.Date(2018, 6, 25, 17, 50, 35, 0, time.UTC)) {
		t.Errorf("time %v", got)
	}
	enc, err := EncodeAttRecord(40, r)
	if err != nil || !bytes.Equal(enc, raw) {
		t.Errorf("re-encode: %v\n% x\n% x", err, enc, raw)
	}
}

func TestAttLogSizes(t *testing.T) {
	base := AttRecord{UID: 300, UserID: "4822257", Verify: 15, State: 1, Time: EncodeTime(time.Date(2024, 3, 1, 8, 29, 59, 0, time.UTC)), WorkCode: 7}
	for _, size := range []int{8, 16, 40, 49} {
		var recs [][]byte
		var want []AttRecord
		for i := 0; i < 5; i++ {
			r := base
			r.UID += uint16(i)
			r.UserID = fmt.Sprint(4822257 + i)
			r.Time += uint32(i * 61)
			switch size {
			case 8:
				r.UserID, r.WorkCode = "", 0
			case 16:
				r.UID = 0
			}
			b, err := EncodeAttRecord(size, r)
			if err != nil {
				t.Fatal(size, err)
			}
			recs = append(recs, b)
			r.Raw = b
			want = append(want, r)
		}
		got, gotSize, err := DecodeAttLog(EncodeBlob(recs), len(recs))
		if err != nil || gotSize != size {
			t.Fatalf("size %d: %v (got size %d)", size, err, gotSize)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("size %d:\n got %+v\nwant %+v", size, got, want)
		}
	}
}

func TestAttLogErrors(t *testing.T) {
	rec := make([]byte, 40)
	blob := EncodeBlob([][]byte{rec, rec, rec})
	if _, _, err := DecodeAttLog(blob, 4); !errors.Is(err, ErrUnknownRecordSize) {
		t.Errorf("120/4: %v", err)
	}
	_, _, err := DecodeAttLog(EncodeBlob([][]byte{make([]byte, 36), make([]byte, 36)}), 3)
	if !errors.Is(err, ErrUnknownRecordSize) || !bytes.Contains([]byte(err.Error()), []byte("24 bytes per record")) {
		t.Errorf("72/3 should name size 24: %v", err)
	}
	if _, _, err := DecodeAttLog(blob[:len(blob)-1], 3); !errors.Is(err, ErrTruncated) {
		t.Errorf("cut blob: %v", err)
	}
	if _, _, err := DecodeAttLog(blob[:2], 3); !errors.Is(err, ErrTruncated) {
		t.Errorf("no prefix: %v", err)
	}
	if recs, _, err := DecodeAttLog(EncodeBlob(nil), 0); err != nil || len(recs) != 0 {
		t.Errorf("empty: %v %d", err, len(recs))
	}
	if _, err := EncodeAttRecord(16, AttRecord{UserID: "A1023"}); !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("alnum id in 16-byte record: %v", err)
	}
	if _, err := EncodeAttRecord(40, AttRecord{UserID: "1234567890123456789012345"}); !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("25-char id: %v", err)
	}
	if _, err := EncodeAttRecord(12, AttRecord{}); !errors.Is(err, ErrUnknownRecordSize) {
		t.Errorf("size 12: %v", err)
	}
}

func TestUsers72K20(t *testing.T) {
	v := vectors(t)
	blob := innerPayload(t, vec(t, v, "users72_k20_tcp"))
	users, size, err := DecodeUsers(blob, 2)
	if err != nil || size != 72 {
		t.Fatalf("%v size %d", err, size)
	}
	want := []UserRecord{
		{UID: 1, Name: []byte("cfulano"), UserID: "100001lp"},
		{UID: 2, Name: []byte("rmengano"), UserID: "222222cb"},
	}
	for i := range want {
		u := users[i]
		if u.UID != want[i].UID || !bytes.Equal(u.Name, want[i].Name) || u.UserID != want[i].UserID || u.Privilege != 0 || u.Password != "" {
			t.Errorf("user %d: %+v", i, u)
		}
		enc, err := EncodeUserRecord(72, u)
		if err != nil || !bytes.Equal(enc, blob[4+72*i:4+72*(i+1)]) {
			t.Errorf("user %d re-encode: %v\n% x\n% x", i, err, enc, blob[4+72*i:4+72*(i+1)])
		}
	}
}

func TestUsers28RoundTrip(t *testing.T) {
	in := []UserRecord{
		{UID: 1, Privilege: 14, Password: "123", Name: []byte{0xd5, 0xc5, 0xc8, 0xfd}, Card: 99887766, Group: 1, UserID: "1001"},
		{UID: 2, Name: []byte("Li Si"), UserID: "4294967295"},
	}
	var recs [][]byte
	for _, u := range in {
		b, err := EncodeUserRecord(28, u)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
	}
	out, size, err := DecodeUsers(EncodeBlob(recs), 2)
	if err != nil || size != 28 {
		t.Fatal(err, size)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("got %+v\nwant %+v", out, in)
	}
	if _, err := EncodeUserRecord(28, UserRecord{UserID: "A1"}); !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("alnum in 28: %v", err)
	}
	if _, _, err := DecodeUsers(EncodeBlob(recs), 3); !errors.Is(err, ErrUnknownRecordSize) {
		t.Errorf("56/3: %v", err)
	}
}

func TestEventFixtures(t *testing.T) {
	v := vectors(t)
	p, err := ParseInner(vec(t, v, "event12_inner"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeAttEvent(p.Payload, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if e.UserID != "4822257" || e.Verify != 0 || e.State != 0 || !e.Time.Equal(time.Date(2018, 12, 7, 19, 9, 6, 0, time.UTC)) {
		t.Errorf("12-byte: %+v", e)
	}
	if b, err := EncodeAttEvent(12, e); err != nil || !bytes.Equal(b, p.Payload) {
		t.Errorf("12-byte re-encode %v % x", err, b)
	}
	raw32 := vec(t, v, "event32_payload")
	e, err = DecodeAttEvent(raw32, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if e.UserID != "1140064" || e.Verify != 15 || e.State != 0 || !e.Time.Equal(time.Date(2018, 11, 29, 12, 55, 3, 0, time.UTC)) {
		t.Errorf("32-byte: %+v", e)
	}
	if b, err := EncodeAttEvent(32, e); err != nil || !bytes.Equal(b, raw32) {
		t.Errorf("32-byte re-encode %v % x", err, b)
	}
}

func TestEventLengths(t *testing.T) {
	e := Event{UserID: "4021", Verify: 1, State: 2, Time: time.Date(2025, 1, 31, 23, 59, 58, 0, time.UTC), WorkCode: 9}
	for _, n := range []int{10, 12, 14, 32, 36, 37, 52, 60} {
		b, err := EncodeAttEvent(n, e)
		if err != nil {
			t.Fatal(n, err)
		}
		got, err := DecodeAttEvent(b, time.UTC)
		if err != nil {
			t.Fatal(n, err)
		}
		if got.UserID != e.UserID || got.Verify != 1 || got.State != 2 || !got.Time.Equal(e.Time) {
			t.Errorf("len %d: %+v", n, got)
		}
		if (n >= 36) != (got.WorkCode == 9) {
			t.Errorf("len %d: workcode %d", n, got.WorkCode)
		}
	}
	inv := e
	inv.Invalid = true
	b, _ := EncodeAttEvent(36, inv)
	if b[25] != 0x82 {
		t.Errorf("invalid flag byte %#x", b[25])
	}
	if got, _ := DecodeAttEvent(b, time.UTC); !got.Invalid || got.State != 2 {
		t.Errorf("invalid flag decode %+v", got)
	}
	for _, n := range []int{0, 9, 11, 13, 20, 33, 40, 51} {
		if _, err := DecodeAttEvent(make([]byte, n), time.UTC); !errors.Is(err, ErrUnknownEventLength) {
			t.Errorf("len %d: %v", n, err)
		}
	}
	bad, _ := EncodeAttEvent(12, e)
	bad[7] = 2
	bad[8] = 30 // 30 February
	if _, err := DecodeAttEvent(bad, time.UTC); !errors.Is(err, ErrBadTime) {
		t.Errorf("30 Feb: %v", err)
	}
}

func TestTimeDecoderMatchesDecodeTime(t *testing.T) {
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Asia/Shanghai", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe"} {
		if l, err := time.LoadLocation(name); err == nil {
			zones = append(zones, l)
		}
	}
	for _, loc := range zones {
		td := timeDecoder{loc: loc}
		// Every 17 minutes over several years, crossing DST changes both ways.
		start := EncodeTime(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC))
		for v := start; v < start+4*372*86400; v += 17 * 60 {
			if !TimeValid(v) {
				continue
			}
			want := DecodeTime(v, loc)
			if got := td.decode(v); !got.Equal(want) || got.Location() != loc {
				t.Fatalf("%v %#x: got %v want %v", loc, v, got, want)
			}
		}
	}
}

func TestAttLogUIDReusedForAnotherID(t *testing.T) {
	// The uid is a device index: a deleted user's index can be given to someone else, so the same
	// uid may carry two user ids in one log. Each record keeps its own.
	var recs [][]byte
	for _, id := range []string{"A1023", "B77", "A1023", "", "B77"} {
		b, err := EncodeAttRecord(40, AttRecord{UID: 5, UserID: id, Time: 0x2368B36B})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
	}
	got, _, err := DecodeAttLog(EncodeBlob(recs), len(recs))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"A1023", "B77", "A1023", "", "B77"} {
		if got[i].UserID != want {
			t.Errorf("record %d: %q want %q", i, got[i].UserID, want)
		}
	}
}
