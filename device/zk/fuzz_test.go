package zk

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"
)

// One fuzz target per decoder. Where there is an encoder, what decodes must re-encode to the same
// fields (round trip). Corpora found by `go test -fuzz` are checked in under testdata/fuzz.

func FuzzParseInner(f *testing.F) {
	v := vectors(f)
	for _, n := range []string{"connect_request_udp", "connect_reply_udp", "event12_inner", "options_platform_reply_inner"} {
		f.Add(vec(f, v, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseInner(b)
		if err != nil {
			return
		}
		if got := p.AppendInner(nil); !bytes.Equal(got, b) {
			t.Fatalf("round trip: % x -> % x", b, got)
		}
	})
}

func FuzzTCPFrameReader(f *testing.F) {
	v := vectors(f)
	f.Add(append(vec(f, v, "connect_reply_tcp"), vec(f, v, "free_sizes_80_tcp")...))
	f.Add(vec(f, v, "users72_k20_tcp"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := NewTCPFrameReader(bytes.NewReader(b))
		var re []byte
		for {
			p, err := fr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
			re = AppendTCP(re, p)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("frames re-encode differently")
		}
	})
}

func FuzzSerialFrameReader(f *testing.F) {
	f.Add(AppendSerial(nil, 1, Packet{Cmd: AckOK, Session: 5, Reply: 1}))
	f.Add(append([]byte("garbage\x02\x02\x81\x7e"), AppendSerial(nil, 2, Packet{Cmd: CmdData, Payload: []byte("abc")})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		sr := NewSerialFrameReader(bytes.NewReader(b))
		for i := 0; i < 1000; i++ {
			id, p, err := sr.Next()
			if err != nil {
				if !errors.Is(err, ErrChecksum) {
					return
				}
				continue
			}
			got := AppendSerial(nil, id, p)
			if !bytes.Contains(b, got) {
				t.Fatalf("frame % x not in input", got)
			}
		}
	})
}

func FuzzDecodeFreeSizes(f *testing.F) {
	v := vectors(f)
	f.Add(vec(f, v, "free_sizes_92_tcp")[16:])
	f.Add(vec(f, v, "free_sizes_80_tcp")[16:])
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := DecodeFreeSizes(b)
		if err != nil {
			return
		}
		back, err := DecodeFreeSizes(fs.Encode(92))
		if err != nil || back != fs {
			t.Fatalf("round trip %+v -> %+v %v", fs, back, err)
		}
	})
}

func FuzzDecodeAttLog(f *testing.F) {
	v := vectors(f)
	f.Add(EncodeBlob([][]byte{vec(f, v, "att40_adro")}), 1)
	r16, _ := EncodeAttRecord(16, AttRecord{UserID: "77", Time: 0x2368B36B, State: 1, Verify: 1})
	f.Add(EncodeBlob([][]byte{r16, r16}), 2)
	r8, _ := EncodeAttRecord(8, AttRecord{UID: 3, Time: 0x2368B36B})
	f.Add(EncodeBlob([][]byte{r8, r8, r8}), 3)
	f.Fuzz(func(t *testing.T, blob []byte, count int) {
		recs, size, err := DecodeAttLog(blob, count)
		if err != nil {
			return
		}
		for i, r := range recs {
			b, err := EncodeAttRecord(size, r)
			if err != nil {
				t.Fatalf("record %d re-encode: %v", i, err)
			}
			back, err := decodeAttRecord(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			back.Raw, r.Raw = nil, nil
			if !reflect.DeepEqual(back, r) {
				t.Fatalf("record %d: %+v -> %+v", i, r, back)
			}
		}
	})
}

func FuzzDecodeUsers(f *testing.F) {
	v := vectors(f)
	f.Add(vec(f, v, "users72_k20_tcp")[16:], 2)
	u28, _ := EncodeUserRecord(28, UserRecord{UID: 1, Name: []byte("ab"), UserID: "12"})
	f.Add(EncodeBlob([][]byte{u28}), 1)
	f.Fuzz(func(t *testing.T, blob []byte, count int) {
		users, size, err := DecodeUsers(blob, count)
		if err != nil {
			return
		}
		for i, u := range users {
			b, err := EncodeUserRecord(size, u)
			if err != nil {
				t.Fatalf("user %d re-encode: %v", i, err)
			}
			if back := decodeUser(b); !reflect.DeepEqual(back, u) {
				t.Fatalf("user %d: %+v -> %+v", i, u, back)
			}
		}
	})
}

func FuzzDecodeAttEvent(f *testing.F) {
	v := vectors(f)
	f.Add(vec(f, v, "event12_inner")[8:])
	f.Add(vec(f, v, "event32_payload"))
	e36, _ := EncodeAttEvent(36, Event{UserID: "A1023", Verify: 1, State: 0x81, Time: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), WorkCode: 3})
	f.Add(e36)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeAttEvent(b, time.UTC)
		if err != nil {
			return
		}
		enc, err := EncodeAttEvent(len(b), e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeAttEvent(enc, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		back.Raw, e.Raw = nil, nil
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("%+v -> %+v", e, back)
		}
	})
}

func FuzzPackedTime(f *testing.F) {
	f.Add(uint32(0x2368B36B))
	f.Add(uint32(0))
	f.Fuzz(func(t *testing.T, v uint32) {
		if !TimeValid(v) {
			return
		}
		if got := EncodeTime(DecodeTime(v, time.UTC)); got != v {
			t.Fatalf("%#x -> %#x", v, got)
		}
	})
}
