package live

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Copies the kernel drops before they reach a ring.
//
// A packet is handed to every packet socket once per interface it crosses
// in the namespace, and each copy is copied into the ring by the thread
// that sends or receives it: on a busy node that copying is paid by the
// workload being observed. Two kinds of copies carry nothing the capture
// does not get from another copy, so the socket's filter rejects them
// before anything is copied:
//
//   - the outgoing copy of a loopback packet: the same packet comes back in
//     on the same loopback interface (libpcap skips it the same way);
//   - on an "any" socket, every copy on a bridge device: a bridge receives
//     only what one of its ports received (and that port's copy was taken
//     first), and sends only through its ports (whose copies follow). The
//     ports see each connection in both directions with the same addresses
//     (NAT happens between interfaces, never between the two directions
//     of one port), while the bridge itself may see a connection in one
//     direction only (bridged replies never reach it), so nothing is lost.
//     A bridge created after the socket was opened is not known to the
//     filter: its copies are still taken, and absorbed by reassembly.
//
// Every other copy is kept: the outgoing copy of a packet that a process
// of the namespace sends (a probe, a hostNetwork pod) is its only copy, and
// so is the incoming copy of one delivered to such a process.

// maxCopyRules bounds the interfaces the prefix names: a jump in classic BPF
// reaches at most 255 instructions ahead, and a namespace with more bridges
// than this only loses the optimisation.
const maxCopyRules = 200

// copyFilter returns the instructions put before the user's filter on the
// socket of t: they reject the copies described above and fall through to
// the user's program for every other packet. loopIdx and bridgeIdx are the
// namespace's loopback and bridge interfaces (used for "any" sockets).
func copyFilter(t target, loopIdx, bridgeIdx []int32) []bpf.Instruction {
	var drops []int32 // interfaces whose every copy is rejected
	var outLoops []int32
	outAll := false // reject every outgoing copy (a loopback socket)
	switch {
	case t.loopback:
		outAll = true
	case t.ifindex == 0:
		outLoops = loopIdx
		if len(bridgeIdx) <= maxCopyRules {
			drops = bridgeIdx
		}
	}
	if len(outLoops) > maxCopyRules {
		outLoops = nil
	}
	if len(drops) == 0 && len(outLoops) == 0 && !outAll {
		return nil
	}

	// The program is laid out as the steps below, then "reject", then the
	// user's filter; skip counts the instructions between a jump and the
	// reject instruction.
	var prog []bpf.Instruction
	var toReject []int // the jumps to reject, their targets set at the end
	if len(drops) > 0 {
		prog = append(prog, bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
		for _, i := range drops {
			toReject = append(toReject, len(prog))
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(i)})
		}
	}
	if outAll || len(outLoops) > 0 {
		prog = append(prog, bpf.LoadExtension{Num: bpf.ExtType})
		if outAll {
			toReject = append(toReject, len(prog))
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING})
		} else {
			// not outgoing: straight to the user's filter, past the
			// interface checks, the jump over reject and reject
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: uint8(len(outLoops) + 3)})
			prog = append(prog, bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
			for _, i := range outLoops {
				toReject = append(toReject, len(prog))
				prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(i)})
			}
		}
	}
	prog = append(prog, bpf.Jump{Skip: 1})
	rejectAt := len(prog)
	prog = append(prog, bpf.RetConstant{Val: 0})
	for _, at := range toReject {
		ji := prog[at].(bpf.JumpIf)
		ji.SkipTrue = uint8(rejectAt - at - 1)
		prog[at] = ji
	}
	return prog
}

// withCopyFilter puts copyFilter's instructions before the user's program
// (already in the kernel's form, its returns capped at the snap length).
func withCopyFilter(pre []bpf.Instruction, user []unix.SockFilter) ([]unix.SockFilter, error) {
	if len(pre) == 0 {
		return user, nil
	}
	raw, err := bpf.Assemble(pre)
	if err != nil {
		return nil, fmt.Errorf("live capture: assembling the copy filter: %w", err)
	}
	if len(raw)+len(user) > 4096 {
		return user, nil // the user's filter needs the room: keep every copy
	}
	out := make([]unix.SockFilter, 0, len(raw)+len(user))
	for _, ins := range raw {
		out = append(out, unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K})
	}
	return append(out, user...), nil
}

// bridgeIndexes returns the indexes of the bridge devices of the current
// network namespace, from the kernel's link list (sysfs shows the
// namespace it was mounted in, not necessarily this one).
func bridgeIndexes() ([]int32, error) {
	rib, err := syscall.NetlinkRIB(unix.RTM_GETLINK, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("live capture: listing links: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("live capture: listing links: %w", err)
	}
	var out []int32
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		index := int32(binary.NativeEndian.Uint32(m.Data[4:8])) // ifi_index
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type == unix.IFLA_LINKINFO && linkKind(a.Value) == "bridge" {
				out = append(out, index)
			}
		}
	}
	return out, nil
}

// linkKind returns IFLA_INFO_KIND from the nested attributes of an
// IFLA_LINKINFO attribute.
func linkKind(b []byte) string {
	for len(b) >= unix.SizeofRtAttr {
		n := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4])
		if n < unix.SizeofRtAttr || n > len(b) {
			return ""
		}
		if typ == unix.IFLA_INFO_KIND {
			v := b[unix.SizeofRtAttr:n]
			if i := bytes.IndexByte(v, 0); i >= 0 {
				v = v[:i]
			}
			return string(v)
		}
		b = b[min(len(b), (n+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1)):]
	}
	return ""
}
