package zk

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// vectors loads testdata/vectors.txt: name → bytes.
func vectors(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 2 {
			t.Fatalf("vectors.txt:%d: want name and hex", ln)
		}
		b, err := hex.DecodeString(fs[1])
		if err != nil {
			t.Fatalf("vectors.txt:%d: %v", ln, err)
		}
		out[fs[0]] = b
	}
	return out
}

func vec(t testing.TB, v map[string][]byte, name string) []byte {
	t.Helper()
	b, ok := v[name]
	if !ok {
		t.Fatalf("no vector %q", name)
	}
	return b
}

func TestChecksumVectors(t *testing.T) {
	// [adro] vectors from §1.2 (checksum field removed from the input).
	b, _ := hex.DecodeString("0b00f38d03005a4b4661636556657273696f6e00")
	in := append(append([]byte{}, b[:2]...), append([]byte{0, 0}, b[2:]...)...)
	if got := Checksum(in); got != 0x175A {
		t.Errorf("adro options vector: got %#04x want 0x175a", got)
	}
	odd, _ := hex.DecodeString("d0070000f38d0a0009")
	if got := Checksum(odd); got != 0x6A29 {
		t.Errorf("adro odd vector: got %#04x want 0x6a29", got)
	}
}

func TestInnerVectors(t *testing.T) {
	v := vectors(t)
	cases := []struct {
		name string
		want Packet
	}{
		{"connect_request_udp", Packet{Cmd: CmdConnect}},
		{"connect_reply_udp", Packet{Cmd: AckOK, Session: 0xFB2F}},
		{"options_platform_request_inner", Packet{Cmd: CmdOptionsRRQ, Session: 0x8DF3, Reply: 12, Payload: []byte("~Platform\x00")}},
		{"options_platform_reply_inner", Packet{Cmd: AckOK, Session: 0x8DF3, Reply: 12, Payload: []byte("~Platform=ZEM760_TFT\x00")}},
		{"event12_inner", Packet{Cmd: CmdRegEvent, Session: EFAttLog, Payload: vec(t, v, "event12_inner")[8:]}},
	}
	for _, c := range cases {
		raw := vec(t, v, c.name)
		p, err := ParseInner(raw)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if p.Cmd != c.want.Cmd || p.Session != c.want.Session || p.Reply != c.want.Reply || !bytes.Equal(p.Payload, c.want.Payload) {
			t.Errorf("%s: parsed %v %q, want %v %q", c.name, p, p.Payload, c.want, c.want.Payload)
		}
		if got := c.want.AppendInner(nil); !bytes.Equal(got, raw) {
			t.Errorf("%s: encoded % x, want % x", c.name, got, raw)
		}
	}
}

func TestTCPVectorsEncode(t *testing.T) {
	v := vectors(t)
	k12 := CommKey(12, 0x45CF, 50)
	k45 := CommKey(45, 0x45CF, 50)
	cases := []struct {
		name string
		p    Packet
	}{
		{"connect_request_tcp", Packet{Cmd: CmdConnect}},
		{"connect_reply_tcp", Packet{Cmd: AckOK, Session: 0xFB2F}},
		{"exit_request_tcp", Packet{Cmd: CmdExit, Session: 0xFB2F, Reply: 1}},
		{"unauth_reply_tcp", Packet{Cmd: AckUnauth, Session: 0x45CF}},
		{"auth_key12_tcp", Packet{Cmd: CmdAuth, Session: 0x45CF, Reply: 1, Payload: k12[:]}},
		{"auth_key45_tcp", Packet{Cmd: CmdAuth, Session: 0x45CF, Reply: 1, Payload: k45[:]}},
		{"get_free_sizes_request_tcp", Packet{Cmd: CmdGetFreeSizes, Session: 0x45CF, Reply: 2}},
		{"prepare_buffer_users_tcp", Packet{Cmd: CmdPrepareBuffer, Session: 0x45CF, Reply: 20, Payload: []byte{1, 9, 0, 5, 0, 0, 0, 0, 0, 0, 0}}},
	}
	for _, c := range cases {
		if got := AppendTCP(nil, c.p); !bytes.Equal(got, vec(t, v, c.name)) {
			t.Errorf("%s: encoded % x\nwant        % x", c.name, got, vec(t, v, c.name))
		}
	}
}

func TestCommKeyVectors(t *testing.T) {
	v := vectors(t)
	for _, c := range []struct {
		key  uint32
		name string
	}{{0, "commkey_0"}, {12, "commkey_12"}, {45, "commkey_45"}} {
		got := CommKey(c.key, 0x45CF, 50)
		if !bytes.Equal(got[:], vec(t, v, c.name)) {
			t.Errorf("key %d: got % x want % x", c.key, got, vec(t, v, c.name))
		}
	}
}

func TestPackedTimeVectors(t *testing.T) {
	for _, c := range []struct {
		v    uint32
		want time.Time
	}{
		{0x2368B36B, time.Date(2018, 6, 25, 17, 50, 35, 0, time.UTC)},
		{0x23040D58, time.Date(2018, 4, 11, 9, 35, 20, 0, time.UTC)},
		{0, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got := DecodeTime(c.v, time.UTC); !got.Equal(c.want) {
			t.Errorf("DecodeTime(%#x) = %v want %v", c.v, got, c.want)
		}
		if got := EncodeTime(c.want); got != c.v {
			t.Errorf("EncodeTime(%v) = %#x want %#x", c.want, got, c.v)
		}
		if !TimeValid(c.v) {
			t.Errorf("TimeValid(%#x) = false", c.v)
		}
	}
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	got := DecodeTime(0x2368B36B, sh)
	if got.Location() != sh || got.Hour() != 17 || got.Day() != 25 {
		t.Errorf("zone: %v", got)
	}
	// 30 February is representable but not a real day.
	feb30 := EncodeTime(time.Date(2021, 2, 28, 8, 0, 0, 0, time.UTC)) + 2*86400
	if TimeValid(feb30) {
		t.Errorf("TimeValid(30 Feb) = true")
	}
}

func TestFrameReaderVectors(t *testing.T) {
	v := vectors(t)
	names := []string{"connect_reply_tcp", "free_sizes_92_tcp", "prepare_buffer_ack_5044_tcp", "prepare_data_5044_tcp", "users72_k20_tcp", "unauth_reply_tcp", "free_sizes_80_tcp"}
	var stream []byte
	for _, n := range names {
		stream = append(stream, vec(t, v, n)...)
	}
	for _, mk := range []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(stream) }},
		{"onebyte", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"half", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		{"dataerr", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
	} {
		fr := NewTCPFrameReader(mk.r())
		for _, n := range names {
			p, err := fr.Next()
			if err != nil {
				t.Fatalf("%s: frame %s: %v", mk.name, n, err)
			}
			want := vec(t, v, n)
			if got := AppendTCP(nil, p); !bytes.Equal(got, want) {
				t.Fatalf("%s: frame %s re-encodes as % x", mk.name, n, got)
			}
		}
		if _, err := fr.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("%s: after last frame: %v, want EOF", mk.name, err)
		}
	}
}

func TestFrameReaderErrors(t *testing.T) {
	v := vectors(t)
	good := vec(t, v, "connect_reply_tcp")

	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 0xFF // corrupt the inner packet: checksum fails, stream stays in step
	fr := NewTCPFrameReader(bytes.NewReader(append(bad, good...)))
	if _, err := fr.Next(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("corrupt frame: %v, want ErrChecksum", err)
	}
	if p, err := fr.Next(); err != nil || p.Cmd != AckOK {
		t.Fatalf("frame after corrupt one: %v %v", p, err)
	}

	magic := bytes.Clone(good)
	magic[2] = 0x83
	if _, err := NewTCPFrameReader(bytes.NewReader(magic)).Next(); !errors.Is(err, ErrBadMagic) {
		t.Fatalf("bad magic: %v", err)
	}
	huge := bytes.Clone(good)
	huge[6] = 0x7F
	if _, err := NewTCPFrameReader(bytes.NewReader(huge)).Next(); !errors.Is(err, ErrOversize) {
		t.Fatalf("oversize: %v", err)
	}
	if _, err := NewTCPFrameReader(bytes.NewReader(good[:12])).Next(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut frame: %v", err)
	}
	if _, err := NewTCPFrameReader(bytes.NewReader(good[:5])).Next(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut header: %v", err)
	}
	short := bytes.Clone(good)
	short[4] = 4
	if _, err := NewTCPFrameReader(bytes.NewReader(short)).Next(); !errors.Is(err, ErrShort) {
		t.Fatalf("short length: %v", err)
	}
}

func TestSerialFrames(t *testing.T) {
	pkts := []struct {
		id uint8
		p  Packet
	}{
		{1, Packet{Cmd: AckOK, Session: 0x1234, Reply: 1}},
		{7, Packet{Cmd: CmdData, Session: 2, Reply: 9, Payload: bytes.Repeat([]byte{0x81, 0x7E, 7, 7}, 300)}},
		{1, Packet{Cmd: CmdRegEvent, Session: EFAttLog, Payload: []byte("x")}},
	}
	var stream []byte
	stream = append(stream, 0x01, 0x01, 0x81, 0x7E, 0xFF) // garbage that looks like a header start
	for i, c := range pkts {
		stream = AppendSerial(stream, c.id, c.p)
		if i == 0 {
			// A frame with a broken wrapper checksum: skipped by resync.
			broken := AppendSerial(nil, 3, Packet{Cmd: AckOK})
			broken[7] ^= 1
			stream = append(stream, broken...)
			stream = append(stream, "noise\r\n"...)
		}
	}
	for _, mk := range []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(stream) }},
		{"onebyte", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"half", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
	} {
		sr := NewSerialFrameReader(mk.r())
		for i, c := range pkts {
			id, p, err := sr.Next()
			if err != nil {
				t.Fatalf("%s: frame %d: %v", mk.name, i, err)
			}
			if id != c.id || p.Cmd != c.p.Cmd || p.Session != c.p.Session || p.Reply != c.p.Reply || !bytes.Equal(p.Payload, c.p.Payload) {
				t.Fatalf("%s: frame %d: id %d %v", mk.name, i, id, p)
			}
		}
		if _, _, err := sr.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("%s: end: %v", mk.name, err)
		}
	}
	// Inner checksum bad, wrapper good: reported, not skipped.
	f := AppendSerial(nil, 1, Packet{Cmd: AckOK, Payload: []byte{1, 2}})
	f[8+2] ^= 0xFF
	binaryPutWrapperSum(f)
	if _, _, err := NewSerialFrameReader(bytes.NewReader(f)).Next(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("inner checksum: %v", err)
	}
}

// binaryPutWrapperSum recomputes a serial wrapper checksum after a test edited the inner packet.
func binaryPutWrapperSum(f []byte) {
	f[6], f[7] = 0, 0
	s := Checksum(f)
	f[6], f[7] = byte(s), byte(s>>8)
}

func TestDaysIn(t *testing.T) {
	for y := 1999; y <= 2134; y++ {
		for m := time.January; m <= time.December; m++ {
			if got, want := daysIn(y, m), time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); got != want {
				t.Fatalf("%d-%02d: %d want %d", y, m, got, want)
			}
		}
	}
}

// refChecksum is §1.2 word by word, as the notes state it.
func refChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i]) | uint32(b[i+1])<<8
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1])
	}
	for sum > 0xFFFF {
		sum = (sum & 0xFFFF) + (sum >> 16)
	}
	return ^uint16(sum)
}

func TestChecksumMatchesReference(t *testing.T) {
	b := make([]byte, 3000)
	seed := uint32(1)
	for i := range b {
		seed = seed*1664525 + 1013904223
		b[i] = byte(seed >> 24)
	}
	for _, fill := range []byte{0, 0xFF} {
		all := bytes.Repeat([]byte{fill}, 3000)
		for n := 0; n <= len(all); n += 7 {
			if got, want := Checksum(all[:n]), refChecksum(all[:n]); got != want {
				t.Fatalf("fill %#x len %d: %#04x want %#04x", fill, n, got, want)
			}
		}
	}
	for n := 0; n <= len(b); n++ {
		if got, want := Checksum(b[:n]), refChecksum(b[:n]); got != want {
			t.Fatalf("len %d: %#04x want %#04x", n, got, want)
		}
		if n >= 8 {
			c := bytes.Clone(b[:n])
			c[2], c[3] = 0, 0
			if got, want := innerChecksum(b[:n]), refChecksum(c); got != want {
				t.Fatalf("inner len %d: %#04x want %#04x", n, got, want)
			}
			if n%2 == 0 {
				if got, want := checksumParts(b[:8], b[8:n]), refChecksum(b[:n]); got != want {
					t.Fatalf("parts len %d: %#04x want %#04x", n, got, want)
				}
			}
		}
	}
}
