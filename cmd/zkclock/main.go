// Command zkclock is a simulated ZKTeco-family time clock on the real wire protocol: TCP and UDP on
// loopback and a pty for the serial wrapper. It generates a realistic office log (or loads one),
// can write the ground truth as JSON, injects punches and faults. See device/zk/zksim.
//
// Once listening it prints one line per endpoint on stdout ("tcp 127.0.0.1:4370", "udp …",
// "pty /dev/pts/3") and then "ready", so scripts can use port 0. With --push URL it is a ZK PUSH
// terminal as well: it uploads its log to a loopback iclock server (punchd's zk+push) and then
// every --push-every what is new (device/zkpush/pushsim).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // --tz must load where there is no zoneinfo database: Windows, a -trimpath build

	"github.com/jinbi/punchd/device/zk/zksim"
	"github.com/jinbi/punchd/device/zkpush/pushsim"
	"github.com/jinbi/punchd/internal/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // -h asked for the usage, which is printed: not a failure
		}
		fmt.Fprintln(os.Stderr, "zkclock:", err)
		os.Exit(1)
	}
}

type options struct {
	tcp, udp      string
	pty           bool
	people, days  int
	records       int
	seed          uint64
	start         string
	recordSize    int
	userSize      int
	freeSizesLen  int
	commKey       uint
	load, truth   string
	pacing        time.Duration
	replyDelay    time.Duration
	packetSize    int
	eventLen      int
	deviceID      uint
	rs485         bool
	tz            string
	offset        time.Duration
	realtimeEvery time.Duration
	serial        string
	logLevel      string
	version       bool

	dropAfter     int
	corruptPacket int
	faultOnce     bool
	busy          bool
	badDates      string
	badDatesCount int
	cleared       bool
	bus           int
	clocks        int
	corruptEvery  int
	loseEvery     int
	badChecksums  bool
	push          string
	pushEvery     time.Duration
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("zkclock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.tcp, "tcp", "127.0.0.1:4370", "TCP listen address on loopback (\"\" = off)")
	fs.StringVar(&o.udp, "udp", "127.0.0.1:4370", "UDP listen address on loopback (\"\" = off)")
	fs.BoolVar(&o.pty, "pty", false, "serve the serial wrapper on a pty and print its path")
	fs.IntVar(&o.bus, "bus", 1, "clocks on the pty's RS485 bus, device ids --device-id upwards (each with its own data; truth FILE.idN.json)")
	fs.IntVar(&o.people, "people", 60, "staff to generate")
	fs.IntVar(&o.days, "days", 30, "calendar days of punches to generate (ignored with --records)")
	fs.IntVar(&o.records, "records", 0, "generate exactly this many attendance records")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	fs.StringVar(&o.start, "start", "", "first generated day (YYYY-MM-DD); default: the data ends yesterday, clock time")
	fs.IntVar(&o.recordSize, "record-size", 40, "attendance record size: 40, 16 or 8")
	fs.IntVar(&o.userSize, "user-size", 72, "user entry size: 72 or 28")
	fs.IntVar(&o.freeSizesLen, "free-sizes", 92, "GET_FREE_SIZES reply length: 92 or 80")
	fs.UintVar(&o.commKey, "comm-key", 0, "comm key (0 = none)")
	fs.StringVar(&o.load, "load", "", "load users and records from a ground-truth JSON file instead of generating")
	fs.StringVar(&o.truth, "truth", "", "write the ground truth JSON to this file")
	fs.DurationVar(&o.pacing, "pacing", 0, "pause before each packet of a multi-packet transfer (a real clock: ~20ms)")
	fs.DurationVar(&o.replyDelay, "reply-delay", 0, "delay before answering each command (a real clock: a few ms)")
	fs.IntVar(&o.packetSize, "packet-size", 1008, "CMD_DATA payload per packet over TCP")
	fs.IntVar(&o.eventLen, "event-len", 36, "EF_ATTLOG realtime event payload length")
	fs.UintVar(&o.deviceID, "device-id", 1, "serial device id (1..254)")
	fs.BoolVar(&o.rs485, "rs485", false, "ignore serial frames for other device ids")
	fs.StringVar(&o.tz, "tz", "Asia/Shanghai", "the clock's time zone")
	fs.DurationVar(&o.offset, "offset", 0, "clock drift: the clock's time = host time + offset")
	fs.DurationVar(&o.realtimeEvery, "realtime-every", 0, "inject a punch (and realtime event) this often")
	fs.StringVar(&o.serial, "serial-number", "", "~SerialNumber (default the simulator's)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&o.dropAfter, "drop-after", 0, "fault: drop the connection after N data packets of a transfer")
	fs.IntVar(&o.corruptPacket, "corrupt-packet", 0, "fault: corrupt data packet K (1-based) of a transfer")
	fs.BoolVar(&o.faultOnce, "fault-once", false, "fault: drop/corrupt only the first time")
	fs.BoolVar(&o.busy, "busy", false, "fault: ignore CONNECT (someone at the keypad)")
	fs.IntVar(&o.corruptEvery, "corrupt-every", 0, "fault: damage one data packet in N at random (a noisy line)")
	fs.IntVar(&o.loseEvery, "lose-every", 0, "fault: lose one UDP datagram in N at random, both ways")
	fs.BoolVar(&o.badChecksums, "bad-checksums", false, "fault: every packet sent carries a wrong checksum")
	fs.IntVar(&o.clocks, "clocks", 1, "serve this many independent clocks over TCP, each on its own port of --tcp's host (own staff and log: seed + i, own serial number)")
	fs.StringVar(&o.badDates, "bad-dates", "", "fault: append records dated year2000 or future")
	fs.IntVar(&o.badDatesCount, "bad-dates-count", 3, "how many wrongly dated records --bad-dates appends")
	fs.BoolVar(&o.cleared, "cleared", false, "fault: the attendance log has been cleared (users kept)")
	fs.StringVar(&o.push, "push", "", "also be a ZK PUSH terminal pushing to this loopback iclock server `URL` (http://127.0.0.1:8088)")
	fs.DurationVar(&o.pushEvery, "push-every", 10*time.Second, "with --push: how often to push what is new and ask for commands")
	fs.BoolVar(&o.version, "version", false, "print the version, VCS revision and Go version, and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.version {
		return o, nil
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.tcp == "" && o.udp == "" && !o.pty && o.push == "" {
		return o, errors.New("nothing to serve: give --tcp, --udp, --pty or --push")
	}
	if o.push != "" && o.pushEvery <= 0 {
		return o, fmt.Errorf("--push-every %s: want a positive duration", o.pushEvery)
	}
	if o.bus < 1 || o.bus > 1 && !o.pty || int(o.deviceID)+o.bus-1 > 254 {
		return o, fmt.Errorf("--bus %d: want 1.., with --pty, device ids up to 254", o.bus)
	}
	if o.clocks < 1 || o.clocks > 1 && (o.tcp == "" || o.udp != "" || o.pty || o.bus > 1 || o.truth != "") || int(o.deviceID)+o.clocks-1 > 254 {
		return o, fmt.Errorf("--clocks %d: want 1..254, and more than one only with --tcp alone (--udp \"\", no --pty, --bus or --truth)", o.clocks)
	}
	if o.corruptEvery < 0 || o.loseEvery < 0 {
		return o, errors.New("--corrupt-every and --lose-every: want 0 (off) or N > 0")
	}
	if o.deviceID < 1 || o.deviceID > 254 {
		return o, fmt.Errorf("--device-id %d: want 1..254", o.deviceID)
	}
	if o.commKey > 0xFFFFFFFF {
		return o, fmt.Errorf("--comm-key %d: does not fit 32 bits", o.commKey)
	}
	if o.badDates != "" && o.badDates != "year2000" && o.badDates != "future" {
		return o, fmt.Errorf("--bad-dates %q: want year2000 or future", o.badDates)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, "zkclock", buildinfo.Read())
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return fmt.Errorf("--tz %q: %w", o.tz, err)
	}

	cfg := zksim.Config{
		Serial: o.serial, RecordSize: o.recordSize, UserSize: o.userSize, FreeSizesLen: o.freeSizesLen,
		CommKey: uint32(o.commKey), DeviceID: uint8(o.deviceID), RS485: o.rs485, PacketSize: o.packetSize,
		EventLen: o.eventLen, Pacing: o.pacing, ReplyDelay: o.replyDelay, Offset: o.offset, Location: loc,
		Logger: log,
		Faults: zksim.Faults{DropAfterPackets: o.dropAfter, CorruptPacket: o.corruptPacket, Once: o.faultOnce, Busy: o.busy,
			CorruptEvery: o.corruptEvery, LoseEvery: o.loseEvery, BadChecksums: o.badChecksums},
	}
	if o.load != "" {
		gt, err := zksim.LoadTruthFile(o.load)
		if err != nil {
			return err
		}
		if cfg.Data, err = gt.Data(loc); err != nil {
			return fmt.Errorf("--load %s: %w", o.load, err)
		}
		if cfg.Serial == "" {
			cfg.Serial = gt.Info.Serial
		}
		cfg.Firmware, cfg.Platform, cfg.DeviceName, cfg.MAC = gt.Info.Firmware, gt.Info.Platform, gt.Info.DeviceName, gt.Info.MAC
	} else {
		var start, end time.Time
		if o.start != "" {
			if start, err = time.ParseInLocation("2006-01-02", o.start, loc); err != nil {
				return fmt.Errorf("--start %q: %w", o.start, err)
			}
		} else {
			end = time.Now().Add(o.offset).In(loc) // nothing in the clock's future
		}
		maxName := 24
		if o.userSize == 28 {
			maxName = 8
		}
		cfg.Data, err = zksim.Generate(zksim.GenConfig{
			People: o.people, Days: o.days, Records: o.records, Seed: o.seed, Start: start, End: end, Location: loc,
			NumericIDs: o.recordSize == 16 || o.userSize == 28, MaxNameBytes: maxName,
		})
		if err != nil {
			return err
		}
	}
	if o.cleared {
		cfg.Data.Records = nil
	}
	sim, err := zksim.New(cfg)
	if err != nil {
		return err
	}
	switch o.badDates {
	case "year2000":
		err = sim.AppendBadDates(zksim.Year2000, o.badDatesCount)
	case "future":
		err = sim.AppendBadDates(zksim.FarFuture, o.badDatesCount)
	}
	if err != nil {
		return err
	}
	if o.truth != "" {
		if err := zksim.WriteTruthFile(busTruthPath(o, 0), sim.Truth()); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3+o.clocks)
	servers := 0
	if o.tcp != "" {
		ln, err := zksim.ListenTCP(o.tcp)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "tcp %s\n", ln.Addr())
		servers++
		go func() { errc <- sim.ServeTCP(ctx, ln) }()
		host, _, _ := net.SplitHostPort(o.tcp)
		for i := 1; i < o.clocks; i++ {
			other, err := busClock(cfg, o, i)
			if err != nil {
				return err
			}
			ln, err := zksim.ListenTCP(net.JoinHostPort(host, "0"))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "tcp %s\n", ln.Addr())
			servers++
			go func() { errc <- other.ServeTCP(ctx, ln) }()
		}
	}
	if o.udp != "" {
		pc, err := zksim.ListenUDP(o.udp)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "udp %s\n", pc.LocalAddr())
		servers++
		go func() { errc <- sim.ServeUDP(ctx, pc) }()
	}
	if o.pty {
		p, err := zksim.OpenPTY()
		if err != nil {
			return err
		}
		defer p.Close()
		fmt.Fprintf(stdout, "pty %s\n", p.Path)
		servers++
		if o.bus == 1 {
			go func() { errc <- sim.ServeSerial(ctx, p) }()
		} else {
			clocks := []*zksim.Sim{sim}
			for i := 1; i < o.bus; i++ {
				other, err := busClock(cfg, o, i)
				if err != nil {
					return err
				}
				clocks = append(clocks, other)
			}
			fmt.Fprintf(stdout, "bus ids %d..%d\n", o.deviceID, int(o.deviceID)+o.bus-1)
			go func() { errc <- zksim.ServeBus(ctx, p, clocks...) }()
		}
	}
	if o.push != "" {
		dev, err := pushsim.New(sim.Truth().Info.Serial, o.push, 100)
		if err != nil {
			return fmt.Errorf("--push: %w", err)
		}
		fmt.Fprintf(stdout, "push %s\n", o.push)
		servers++
		go func() { errc <- pushLoop(ctx, sim, dev, o.pushEvery, log) }()
	}
	st := sim.Truth().Info
	log.Info("clock ready", "serial", st.Serial, "users", st.Users, "records", st.Records,
		"record_size", st.RecordSize, "comm_key", cfg.CommKey != 0, "pacing", o.pacing, "reply_delay", o.replyDelay)
	fmt.Fprintln(stdout, "ready")

	if o.realtimeEvery > 0 {
		go injectLoop(ctx, sim, o.realtimeEvery, log)
	}
	var first error
	for i := 0; i < servers; i++ {
		var err error
		select {
		case err = <-errc:
		case <-ctx.Done():
			err = <-errc
		}
		if err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// pushLoop hands the clock's records and its user table (its changes become the terminal's
// operation log) to the PUSH terminal and syncs it every interval, as a terminal in ADMS mode does;
// a refused or failed sync is logged and retried at the next one.
func pushLoop(ctx context.Context, sim *zksim.Sim, dev *pushsim.Device, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		data := sim.Data()
		for _, r := range data.Records[min(dev.Records(), len(data.Records)):] {
			dev.Punch(pushsim.Record{UserID: r.UserID, Time: r.Time, State: r.State, Verify: r.Verify, WorkCode: r.WorkCode})
		}
		users := make([]pushsim.User, len(data.Users))
		for i, u := range data.Users {
			users[i] = pushsim.User{UserID: u.UserID, Name: u.Name, Privilege: u.Privilege, Card: u.Card}
		}
		dev.SetUsers(users, sim.Now())
		if n, err := dev.Sync(ctx); err != nil && ctx.Err() == nil {
			log.Warn("push", "sent", n, "err", err)
		} else if n > 0 {
			log.Info("pushed", "records", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// injectLoop punches users in turn, as staff walking past the clock would.
func injectLoop(ctx context.Context, sim *zksim.Sim, every time.Duration, log *slog.Logger) {
	users := sim.Data().Users
	if len(users) == 0 {
		log.Warn("no users: realtime punches disabled")
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		u := users[i%len(users)]
		now := sim.Now()
		state := uint8(0)
		if now.Hour() >= 12 {
			state = 1
		}
		if err := sim.InjectPunch(u.UserID, now, state, 1); err != nil {
			log.Error("inject punch", "user_id", u.UserID, "err", err)
			continue
		}
		log.Info("punch", "user_id", u.UserID, "time", now.Format(time.RFC3339), "state", state)
	}
}

// busClock builds the i-th extra clock of an RS485 bus (or of --clocks): the next device id, its
// own serial number and its own generated staff and log (seed + i).
func busClock(base zksim.Config, o options, i int) (*zksim.Sim, error) {
	cfg := base
	cfg.DeviceID = uint8(int(o.deviceID) + i)
	cfg.RS485 = true
	if cfg.Serial == "" {
		cfg.Serial = zksim.Default().Serial
	}
	cfg.Serial = fmt.Sprintf("%s%02d", cfg.Serial[:len(cfg.Serial)-2], int(cfg.DeviceID)%100)
	maxName := 24
	if o.userSize == 28 {
		maxName = 8
	}
	var err error
	cfg.Data, err = zksim.Generate(zksim.GenConfig{
		People: o.people, Days: o.days, Records: o.records, Seed: o.seed + uint64(i), End: time.Now().Add(o.offset),
		Location: base.Location, NumericIDs: o.recordSize == 16 || o.userSize == 28, MaxNameBytes: maxName,
	})
	if err != nil {
		return nil, err
	}
	sim, err := zksim.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("bus clock id %d: %w", cfg.DeviceID, err)
	}
	if o.truth != "" {
		if err := zksim.WriteTruthFile(busTruthPath(o, i), sim.Truth()); err != nil {
			return nil, err
		}
	}
	return sim, nil
}

// busTruthPath names the truth file of the i-th clock: --truth itself for a single clock, else
// FILE.idN.json for each clock on the bus.
func busTruthPath(o options, i int) string {
	if o.bus == 1 {
		return o.truth
	}
	return fmt.Sprintf("%s.id%d.json", strings.TrimSuffix(o.truth, ".json"), int(o.deviceID)+i)
}
