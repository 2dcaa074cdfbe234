// Package zk speaks the ZK binary protocol of ZKTeco-family time clocks (port 4370 over TCP and UDP,
// and the RS232/RS485 serial wrapper) as a client.
//
// It owns the frame codec (inner packet, checksum, the TCP and serial wrappers), the packed time,
// the comm-key scrambling, the record layouts (attendance 8/16/40/49 bytes, users 28/72 bytes,
// realtime EF_ATTLOG events of every known length) and the client that drives a clock through
// them. It registers the URL schemes zk+tcp, zk+udp and zk+serial with package device. The device
// side lives in zksim; this package must not import it, nor anything above package device.
//
// Byte layouts and their sources are in shared/zk-protocol.md; section numbers in comments (§1.2 …)
// refer to it.
//
// # Concurrency
//
// A Client is safe for concurrent use. One goroutine per connection reads every frame: realtime
// events (cmd 500) are ACKed at once and queued for Listen, everything else goes to the one request
// in flight (calls are serialised, as the clock runs one command at a time). Several clocks on one
// RS485 line share one open port; an operation holds the line until its reply is complete.
//
// # Caveats
//
//   - A clock serves one client at a time; a second session from this process is refused with
//     ErrInUse, and one from another program makes CONNECT time out (ErrNoAnswer).
//   - The record size is total/count from GET_FREE_SIZES; a punch between the count and the read
//     makes the split fail, and the read is repeated (twice at most).
//   - Tail reads (ReadLog with a mark): after PREPARE_BUFFER, READ_BUFFER starts at the mark's
//     last record (offset 4 + (count-1) × size) and that record must come back byte for byte as
//     the mark holds it; else the log was cleared, shrunk or rewritten and the rest of the buffer
//     is read too: the whole log, never a guess.
//   - Implausible records: a record whose date cannot be real (no such day, a year before 2001,
//     more than a day after the clock's or this computer's time) is skipped as bad_date; one whose
//     user id is empty or holds control bytes as malformed. "Most" means more than half of the
//     records read: then the layout is wrong (a misreported record size shifts every record) and
//     the read fails with ErrImplausibleDates; otherwise the few are skipped, listed in Log.Skipped
//     with their positions, and every other record is returned. A tail that is mostly implausible
//     is judged again over the whole log before the read is refused.
//   - A failed chunk (a packet lost or dropped for its checksum, a timeout) keeps what arrived
//     whole and in order (data packets are numbered, §1.6) and is asked for again from there with
//     a new reply id and half the chunk, down to one packet (MinChunk, answered inline); each
//     success doubles the chunk back. A damaged reply is asked for again at once with the same
//     reply id (the clock replays it from its cache). Over UDP a request waits a few smoothed round
//     trips before it is sent again, not the whole timeout. On UDP and serial, a clock that stops
//     answering mid-read gets a fresh CONNECT and one more read; a TCP connection that dies
//     mid-read is an error (dial again).
//   - A clock that answers CONNECT only with bad checksums fails with ErrChecksum, not
//     ErrNoAnswer: it is there, its packets are broken.
//   - 8-byte records carry only the internal uid: the user table is read to map it to the user id;
//     a uid missing from the table (deleted user) is kept as its decimal value and counted.
//   - Events flagged invalid/repeat by the clock (bit 7 of the state) are not delivered; a pull
//     reconciles anything an event missed. Listen returns on a dead link; the caller reconnects.
package zk
