package live

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/specgate/specgate/capture"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Source is a live capture on one or more interfaces. It implements
// capture.PacketSource and capture.KernelStatser. ReadPacket is meant for
// one goroutine; KernelStats and Close may be called from any goroutine,
// and Close wakes a ReadPacket that is waiting.
type Source struct {
	names   []string
	snaplen int
	poll    time.Duration

	mu     sync.Mutex // held by ReadPacket; Close takes it to unmap the rings
	rings  []*ring
	pfds   []unix.PollFd // one per ring, then the wake eventfd
	closed atomic.Bool

	wakeMu sync.Mutex // guards efd against a late wake after Close
	efd    int

	statsMu sync.Mutex
	packets uint64
	drops   uint64
}

var (
	_ capture.PacketSource  = (*Source)(nil)
	_ capture.KernelStatser = (*Source)(nil)
)

// target is one socket to open.
type target struct {
	name     string
	ifindex  int
	loopback bool
}

// Open starts capturing as cfg says. Each socket gets its filter before it
// is bound, so only filtered packets are ever queued.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	names, err := interfaceNames(cfg.Interfaces)
	if err != nil {
		return nil, err
	}
	prog, err := kernelFilter(cfg.Filter, cfg.Snaplen)
	if err != nil {
		return nil, err
	}
	geo := ringGeometry(cfg.Snaplen, cfg.BufferBytes, cfg.PollInterval)
	s := &Source{names: names, snaplen: cfg.Snaplen, poll: cfg.PollInterval, efd: -1}
	err = inNetns(cfg.Netns, func() error {
		targets, loopIdx, err := resolve(names, cfg.Netns)
		if err != nil {
			return err
		}
		var bridges []int32
		if len(targets) == 1 && targets[0].ifindex == 0 {
			// Without the list the bridges' copies are kept: more work,
			// nothing lost.
			bridges, _ = bridgeIndexes()
		}
		for i, t := range targets {
			if err := ctx.Err(); err != nil {
				return err
			}
			full, err := withCopyFilter(copyFilter(t, loopIdx, bridges), prog)
			if err != nil {
				return err
			}
			r, err := openRing(t, full, geo)
			if err != nil {
				return err
			}
			r.index = i
			if t.ifindex == 0 {
				r.loopIdx = loopIdx
			}
			s.rings = append(s.rings, r)
		}
		return nil
	})
	if err != nil {
		s.closeRings()
		return nil, err
	}
	s.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		s.closeRings()
		return nil, fmt.Errorf("live capture: creating an eventfd: %w", err)
	}
	for _, r := range s.rings {
		s.pfds = append(s.pfds, unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN})
	}
	s.pfds = append(s.pfds, unix.PollFd{Fd: int32(s.efd), Events: unix.POLLIN})
	return s, nil
}

// withDefaults returns cfg with defaults in place of unset fields.
func (cfg Config) withDefaults() Config {
	if cfg.Snaplen <= 0 {
		cfg.Snaplen = DefaultSnaplen
	}
	cfg.Snaplen = min(cfg.Snaplen, maxSnaplen)
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	cfg.BufferBytes = min(cfg.BufferBytes, maxBuffer)
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	return cfg
}

// interfaceNames checks the requested names: nil stands for "any".
func interfaceNames(in []string) ([]string, error) {
	var names []string
	for _, n := range in {
		if n == "" {
			return nil, errors.New("live capture: empty interface name")
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 || (len(names) == 1 && names[0] == AnyInterface) {
		return []string{AnyInterface}, nil
	}
	if slices.Contains(names, AnyInterface) {
		return nil, fmt.Errorf("live capture: %q already means every interface; give it alone or name the interfaces", AnyInterface)
	}
	return names, nil
}

// resolve looks the names up in the current namespace; it also returns the
// loopback ifindexes, which an "any" socket needs to drop outgoing copies.
func resolve(names []string, netns string) ([]target, []int32, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("live capture: listing interfaces: %w", err)
	}
	var loopIdx []int32
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			loopIdx = append(loopIdx, int32(ifc.Index))
		}
	}
	if len(names) == 1 && names[0] == AnyInterface {
		return []target{{name: AnyInterface}}, loopIdx, nil
	}
	targets := make([]target, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(ifs, func(ifc net.Interface) bool { return ifc.Name == n })
		if i < 0 {
			return nil, nil, unknownInterface(n, netns, ifs)
		}
		targets = append(targets, target{name: n, ifindex: ifs[i].Index, loopback: ifs[i].Flags&net.FlagLoopback != 0})
	}
	return targets, nil, nil
}

// unknownInterface names the interfaces that do exist.
func unknownInterface(name, netns string, ifs []net.Interface) error {
	avail := make([]string, 0, len(ifs))
	for _, ifc := range ifs {
		avail = append(avail, ifc.Name)
	}
	slices.Sort(avail)
	where := "the network namespace"
	if netns != "" {
		where += " " + netns
	}
	return wrapf(unix.ENODEV, "no interface %q in %s (available: %s)", name, where, strings.Join(avail, ", "))
}

// kernelFilter turns the user's program into the kernel's form, capping
// the length of accepted packets at snaplen; nil accepts every packet.
func kernelFilter(in []bpf.RawInstruction, snaplen int) ([]unix.SockFilter, error) {
	const retK = 0x06 // BPF_RET | BPF_K
	if len(in) == 0 {
		return []unix.SockFilter{{Code: retK, K: uint32(snaplen)}}, nil
	}
	if len(in) > 4096 {
		return nil, fmt.Errorf("live capture: the filter has %d instructions; the kernel takes at most 4096", len(in))
	}
	out := make([]unix.SockFilter, len(in))
	for i, ins := range in {
		out[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
		if ins.Op == retK && ins.K > uint32(snaplen) {
			out[i].K = uint32(snaplen)
		}
	}
	return out, nil
}

// openRing creates a socket for t: filter, ring, then bind.
func openRing(t target, prog []unix.SockFilter, g geometry) (_ *ring, err error) {
	// Protocol 0: the socket receives nothing until bind names one.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, socketError(t.name, err)
	}
	r := &ring{fd: fd, blockSize: g.blockSize, blocks: g.blocks, name: t.name, loopback: t.loopback}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return nil, wrapf(err, "live capture on %s: the kernel rejected the filter (%d instructions): %v", t.name, len(prog), err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, wrapf(err, "live capture on %s: selecting TPACKET_V3 (Linux 3.2 or later): %v", t.name, err)
	}
	req := unix.TpacketReq3{
		Block_size:     uint32(g.blockSize),
		Block_nr:       uint32(g.blocks),
		Frame_size:     uint32(g.frameSize),
		Frame_nr:       uint32(g.blockSize / g.frameSize * g.blocks),
		Retire_blk_tov: uint32(g.tovMillis),
	}
	size := g.blockSize * g.blocks
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, wrapf(err, "live capture on %s: setting up a %d MiB ring: %v; try a smaller buffer", t.name, size>>20, err)
	}
	r.mem, err = unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, wrapf(err, "live capture on %s: mapping a %d MiB ring: %v; try a smaller buffer", t.name, size>>20, err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: t.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		switch {
		case errors.Is(err, unix.ENETDOWN):
			return nil, wrapf(err, "live capture on %s: the interface is down; bring it up ('ip link set %s up')", t.name, t.name)
		case errors.Is(err, unix.ENODEV):
			return nil, wrapf(err, "live capture on %s: the interface is gone", t.name)
		}
		return nil, wrapf(err, "live capture on %s: binding the socket: %v", t.name, err)
	}
	// Bound to a down interface, the socket reports ENETDOWN here rather
	// than from bind on some kernels.
	if serr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && unix.Errno(serr) == unix.ENETDOWN {
		return nil, wrapf(unix.ENETDOWN, "live capture on %s: the interface is down; bring it up ('ip link set %s up')", t.name, t.name)
	}
	return r, nil
}

// socketError explains a failed socket(AF_PACKET).
func socketError(name string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return wrapf(err, "live capture on %s: permission denied: capturing needs CAP_NET_RAW; "+
			"run as root, with sudo, or grant it with 'sudo setcap cap_net_raw,cap_net_admin=eip $(command -v specgate)', "+
			"or read a capture file with -r", name)
	case errors.Is(err, unix.EAFNOSUPPORT):
		return wrapf(err, "live capture on %s: this kernel has no AF_PACKET sockets; read a capture file with -r", name)
	}
	return wrapf(err, "live capture on %s: opening a packet socket: %v", name, err)
}

// htons converts to network byte order.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// ReadPacket returns the next packet, from whichever interface captured it
// first. Data starts at the IP header and points into the ring: it is valid
// until the next ReadPacket. Interface is the index of the interface in
// Interfaces() (0 for "any"). It returns capture.ErrTimeout after
// PollInterval without a packet, and ctx.Err() once ctx is done. An
// interface that goes down is reported once (an error wrapping ENETDOWN);
// reading may go on, and resumes if it comes back up.
func (s *Source) ReadPacket(ctx context.Context) (capture.Packet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return capture.Packet{}, errClosed
	}
	if err := ctx.Err(); err != nil {
		return capture.Packet{}, err
	}
	var deadline time.Time
	for {
		if p, ok := s.next(); ok {
			return p, nil
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(s.poll)
		}
		if !now.Before(deadline) {
			return capture.Packet{}, capture.ErrTimeout
		}
		if err := s.wait(ctx, deadline.Sub(now)); err != nil {
			return capture.Packet{}, err
		}
	}
}

// next returns the earliest ready packet of all rings, if there is one.
func (s *Source) next() (capture.Packet, bool) {
	for {
		var best *ring
		for _, r := range s.rings {
			if r.peek() && (best == nil || r.cur.before(&best.cur)) {
				best = r
			}
		}
		if best == nil {
			return capture.Packet{}, false
		}
		if best.skip() {
			best.advance()
			continue
		}
		data := best.data()
		if len(data) > s.snaplen {
			data = data[:s.snaplen]
		}
		p := capture.Packet{
			Data:      data,
			Timestamp: time.Unix(int64(best.cur.sec), int64(best.cur.nsec)),
			Length:    int(best.cur.length),
			LinkType:  layers.LinkTypeRaw,
			Interface: best.index,
		}
		best.advance()
		return p, true
	}
}

// wait polls the sockets for up to d, waking early when ctx is done or the
// source is closed.
func (s *Source) wait(ctx context.Context, d time.Duration) error {
	for i := range s.pfds {
		s.pfds[i].Revents = 0
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, s.wake)
	}
	_, err := unix.Poll(s.pfds, int((d+time.Millisecond-1)/time.Millisecond))
	if stop != nil {
		stop()
	}
	if err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("live capture: poll: %w", err)
	}
	if s.pfds[len(s.pfds)-1].Revents != 0 {
		var buf [8]byte
		_, _ = unix.Read(s.efd, buf[:]) // reset the counter; a late wake only costs a loop
	}
	if s.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, r := range s.rings {
		if s.pfds[i].Revents&(unix.POLLERR|unix.POLLNVAL) == 0 {
			continue
		}
		serr, err := unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return wrapf(err, "live capture on %s: %v", r.name, err)
		}
		if serr != 0 {
			errno := unix.Errno(serr)
			if errno == unix.ENETDOWN {
				return wrapf(errno, "live capture on %s: the interface went down or away", r.name)
			}
			return wrapf(errno, "live capture on %s: %v", r.name, errno)
		}
	}
	return nil
}

// wake interrupts a waiting ReadPacket.
func (s *Source) wake() {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if s.efd >= 0 {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = unix.Write(s.efd, one[:])
	}
}

// KernelStats returns the packets the kernel's filter accepted on all
// sockets (copies it rejects, see copies_linux.go, are not counted) and the
// packets dropped because a ring was full, both cumulative since Open.
// After Close it returns the final counts.
func (s *Source) KernelStats() (packets, drops uint64, err error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	err = s.collectStats()
	return s.packets, s.drops, err
}

// collectStats adds the kernel's counters, which reset on every read, to
// the totals; statsMu must be held.
func (s *Source) collectStats() error {
	var errs []error
	for _, r := range s.rings {
		if r.fd < 0 {
			continue
		}
		st, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			errs = append(errs, fmt.Errorf("live capture on %s: reading kernel statistics: %w", r.name, err))
			continue
		}
		s.packets += uint64(st.Packets)
		s.drops += uint64(st.Drops)
	}
	return errors.Join(errs...)
}

// Interfaces returns the interface names the source captures on ("any"
// for all of them).
func (s *Source) Interfaces() []string { return slices.Clone(s.names) }

// Close stops the capture and releases the sockets and rings. It wakes a
// waiting ReadPacket, which then returns an error wrapping net.ErrClosed.
func (s *Source) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.wake()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.closeRings()
	s.wakeMu.Lock()
	if s.efd >= 0 {
		if cerr := unix.Close(s.efd); cerr != nil {
			err = errors.Join(err, fmt.Errorf("live capture: closing the eventfd: %w", cerr))
		}
		s.efd = -1
	}
	s.wakeMu.Unlock()
	return err
}

// closeRings takes the final statistics and closes every ring.
func (s *Source) closeRings() error {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	err := s.collectStats()
	for _, r := range s.rings {
		err = errors.Join(err, r.close())
	}
	return err
}

// close unmaps the ring and closes the socket.
func (r *ring) close() error {
	var errs []error
	if r.mem != nil {
		if err := unix.Munmap(r.mem); err != nil {
			errs = append(errs, fmt.Errorf("live capture on %s: unmapping the ring: %w", r.name, err))
		}
		r.mem = nil
	}
	if r.fd >= 0 {
		if err := unix.Close(r.fd); err != nil {
			errs = append(errs, fmt.Errorf("live capture on %s: closing the socket: %w", r.name, err))
		}
		r.fd = -1
	}
	return errors.Join(errs...)
}
