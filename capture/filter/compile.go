package filter

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// maxInsns is the kernel's limit on the length of a classic BPF program;
// maxBuild bounds the program before redundant loads are dropped.
const (
	maxInsns = 4096
	maxBuild = 4 * maxInsns
)

// CompileNetwork returns a classic BPF program for AF_PACKET SOCK_DGRAM
// sockets, where packet data starts at the network header. The program
// accepts IPv4 and IPv6 packets that match e (a nil e: every IP packet),
// returning snaplen for them and 0 for everything else. It tells the IP
// versions apart by the version nibble of the first byte and uses no
// ancillary loads, so it also runs in golang.org/x/net/bpf's VM.
//
// Like libpcap's programs it reads the IPv4 header length from the packet
// (ldxb 4*([0]&0xf)) and gives up, rejecting the packet, when a load falls
// beyond the captured bytes.
func (e *Expr) CompileNetwork(snaplen uint32) ([]bpf.RawInstruction, error) {
	prog, err := e.program(snaplen)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("filter: assemble: %w", err)
	}
	return raw, nil
}

// program builds the instructions that CompileNetwork assembles.
func (e *Expr) program(snaplen uint32) ([]bpf.Instruction, error) {
	if snaplen == 0 {
		return nil, errors.New("filter: snaplen must be positive")
	}
	var b builder
	reject := b.emit(bpf.RetConstant{Val: 0})
	accept := b.emit(bpf.RetConstant{Val: snaplen})
	p := or(version(4), version(6))
	if e != nil && e.root != nil {
		p = and(p, lower(e.root))
	}
	entry := b.compile(p, accept, reject)
	if entry != len(b.rev)-1 {
		b.emit(bpf.Jump{Skip: uint32(len(b.rev) - entry - 1)})
	}
	tooLong := fmt.Errorf("filter: expression needs more than %d BPF instructions", maxInsns)
	if len(b.rev) > maxBuild {
		return nil, tooLong
	}
	if b.err != nil {
		return nil, b.err
	}
	prog := make([]bpf.Instruction, len(b.rev))
	for i, ins := range b.rev {
		prog[len(b.rev)-1-i] = ins
	}
	prog = dropReloads(prog)
	if len(prog) > maxInsns {
		return nil, tooLong
	}
	return prog, nil
}

// pred is the compiler's form of an expression: and/or/not over atomic
// tests of packet bytes.
type pred struct {
	op   predOp
	kids []pred
	a    atom
}

type predOp uint8

const (
	pAtom predOp = iota
	pAnd         // all kids; no kids is true
	pOr          // any kid; no kids is false
	pNot
)

// atom loads size bytes at off (after the IPv4 header when ind is set),
// optionally ands them with mask, and tests the result with cond and val.
type atom struct {
	ind    bool
	size   int
	off    uint32
	masked bool
	mask   uint32
	cond   bpf.JumpTest
	val    uint32
}

func and(ps ...pred) pred { return pred{op: pAnd, kids: ps} }
func or(ps ...pred) pred  { return pred{op: pOr, kids: ps} }
func not(p pred) pred     { return pred{op: pNot, kids: []pred{p}} }

func test(size int, off uint32, cond bpf.JumpTest, val uint32) pred {
	return pred{a: atom{size: size, off: off, cond: cond, val: val}}
}

func masked(size int, off, mask uint32, val uint32) pred {
	return pred{a: atom{size: size, off: off, masked: true, mask: mask, cond: bpf.JumpEqual, val: val}}
}

// version tests the version nibble of the first byte.
func version(v uint8) pred { return masked(1, 0, 0xf0, uint32(v)<<4) }

// IPv4 and IPv6 header offsets the programs read.
const (
	v4Proto = 9
	v4Frag  = 6
	v4Src   = 12
	v4Dst   = 16
	v6Next  = 6
	v6Src   = 8
	v6Dst   = 24
	v6Frag  = 40 // next header field of a Fragment header right after the fixed header
	v6Ports = 40
)

func lower(n *node) pred {
	switch n.kind {
	case kAnd, kOr:
		kids := make([]pred, len(n.kids))
		for i, k := range n.kids {
			kids[i] = lower(k)
		}
		if n.kind == kAnd {
			return and(kids...)
		}
		return or(kids...)
	case kNot:
		return not(lower(n.kids[0]))
	case kVersion:
		return version(n.version)
	case kProto:
		p := uint32(n.proto)
		v4 := and(version(4), test(1, v4Proto, bpf.JumpEqual, p))
		v6 := and(version(6), or(
			test(1, v6Next, bpf.JumpEqual, p),
			and(test(1, v6Next, bpf.JumpEqual, protoFragment), test(1, v6Frag, bpf.JumpEqual, p))))
		switch n.version {
		case 4:
			return v4
		case 6:
			return v6
		}
		return or(v4, v6)
	case kHost:
		return lowerAddr(n.dir, netip.PrefixFrom(n.addr, n.addr.BitLen()))
	case kNet:
		return lowerAddr(n.dir, n.prefix)
	}
	return lowerPort(n)
}

// lowerAddr tests the source and/or destination address against pfx.
func lowerAddr(d dir, pfx netip.Prefix) pred {
	if pfx.Addr().Is4() {
		return and(version(4), dirPred(d, prefixTest(v4Src, pfx), prefixTest(v4Dst, pfx)))
	}
	return and(version(6), dirPred(d, prefixTest(v6Src, pfx), prefixTest(v6Dst, pfx)))
}

// prefixTest compares the address at off with pfx a 32-bit word at a time,
// masking the word that the prefix ends in and skipping those after it.
func prefixTest(off uint32, pfx netip.Prefix) pred {
	addr := pfx.Addr().AsSlice()
	var tests []pred
	for i := 0; i*4 < len(addr); i++ {
		wbits := min(max(pfx.Bits()-32*i, 0), 32)
		if wbits == 0 {
			break
		}
		w := uint32(addr[4*i])<<24 | uint32(addr[4*i+1])<<16 | uint32(addr[4*i+2])<<8 | uint32(addr[4*i+3])
		woff := off + uint32(4*i)
		if wbits == 32 {
			tests = append(tests, test(4, woff, bpf.JumpEqual, w))
		} else {
			mask := ^uint32(0) << (32 - wbits)
			tests = append(tests, masked(4, woff, mask, w&mask))
		}
	}
	if len(tests) == 1 {
		return tests[0]
	}
	return and(tests...)
}

func dirPred(d dir, src, dst pred) pred {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return and(src, dst)
	}
	return or(src, dst)
}

// lowerPort compiles port and portrange the way libpcap does: IPv6 when the
// next header is directly the protocol, IPv4 in the fragment at offset 0,
// the ports read behind the header length the IPv4 header states.
func lowerPort(n *node) pred {
	protoTest := func(off uint32) pred {
		if n.proto != 0 {
			return test(1, off, bpf.JumpEqual, uint32(n.proto))
		}
		return or(
			test(1, off, bpf.JumpEqual, protoSCTP),
			test(1, off, bpf.JumpEqual, protoTCP),
			test(1, off, bpf.JumpEqual, protoUDP))
	}
	portTest := func(ind bool, off uint32) pred {
		t := func(cond bpf.JumpTest, v uint16) pred {
			p := test(2, off, cond, uint32(v))
			p.a.ind = ind
			return p
		}
		if n.kind == kPort {
			return t(bpf.JumpEqual, n.lo)
		}
		return and(t(bpf.JumpGreaterOrEqual, n.lo), not(t(bpf.JumpGreaterThan, n.hi)))
	}
	v6 := and(version(6), protoTest(v6Next),
		dirPred(n.dir, portTest(false, v6Ports), portTest(false, v6Ports+2)))
	v4 := and(version(4), protoTest(v4Proto),
		not(test(2, v4Frag, bpf.JumpBitsSet, 0x1fff)),
		dirPred(n.dir, portTest(true, 0), portTest(true, 2)))
	return or(v6, v4)
}

// builder emits a program back to front, so that every jump target is
// already placed when the jump is written. rev holds the instructions in
// reverse order; an instruction's index in rev is its distance from the end.
type builder struct {
	rev []bpf.Instruction
	err error
}

func (b *builder) emit(ins bpf.Instruction) int {
	b.rev = append(b.rev, ins)
	return len(b.rev) - 1
}

// compile emits p so that it continues at t when p holds and at f when it
// does not, and returns the index of p's first instruction.
func (b *builder) compile(p pred, t, f int) int {
	switch p.op {
	case pAnd:
		entry := t
		for i := len(p.kids) - 1; i >= 0; i-- {
			entry = b.compile(p.kids[i], entry, f)
		}
		return entry
	case pOr:
		entry := f
		for i := len(p.kids) - 1; i >= 0; i-- {
			entry = b.compile(p.kids[i], t, entry)
		}
		return entry
	case pNot:
		return b.compile(p.kids[0], f, t)
	}
	if len(b.rev) > maxBuild {
		// Already too long: stop growing, program reports the error.
		return t
	}
	return b.atom(p.a, t, f)
}

// atom emits one load-and-test. A conditional jump reaches at most 255
// instructions ahead; a farther target is reached through an unconditional
// jump placed right behind the test.
func (b *builder) atom(a atom, t, f int) int {
	if c := len(b.rev); c-t-1 > 254 {
		t = b.emit(bpf.Jump{Skip: uint32(c - t - 1)})
	}
	if c := len(b.rev); c-f-1 > 254 {
		f = b.emit(bpf.Jump{Skip: uint32(c - f - 1)})
	}
	c := len(b.rev)
	if c-t-1 > 255 || c-f-1 > 255 {
		b.err = errors.New("filter: internal error: conditional jump out of reach")
	}
	b.emit(bpf.JumpIf{Cond: a.cond, Val: a.val, SkipTrue: uint8(c - t - 1), SkipFalse: uint8(c - f - 1)})
	if a.masked {
		b.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: a.mask})
	}
	if a.ind {
		b.emit(bpf.LoadIndirect{Off: a.off, Size: a.size})
		return b.emit(bpf.LoadMemShift{Off: 0})
	}
	return b.emit(bpf.LoadAbsolute{Off: a.off, Size: a.size})
}

// regs is what the accumulator and index register are known to hold on
// entry to an instruction, over every path that reaches it.
type regs struct {
	reached bool
	a       loaded // a.known is false when A's content is unknown
	x       bool   // X holds 4*([0]&0xf)
}

// loaded names a value the accumulator was loaded with.
type loaded struct {
	known  bool
	ind    bool
	size   int
	off    uint32
	masked bool
	mask   uint32
}

func (r regs) meet(o regs) regs {
	if !r.reached {
		return o
	}
	if r.a != o.a {
		r.a = loaded{}
	}
	r.x = r.x && o.x
	return r
}

// dropReloads removes loads (with the mask that follows them) and index
// loads whose value every path into them has already put in the register:
// the repeated version, protocol and header-length loads that composing
// primitives leaves behind. Jumps only go forward, so one pass in program
// order sees every predecessor of an instruction before the instruction.
func dropReloads(prog []bpf.Instruction) []bpf.Instruction {
	n := len(prog)
	in := make([]regs, n+1)
	in[0].reached = true
	keep := make([]bool, n)
	flow := func(to int, r regs) {
		if to <= n {
			in[to] = in[to].meet(r)
		}
	}
	for i := 0; i < n; i++ {
		st := in[i]
		keep[i] = true
		if !st.reached {
			st = regs{reached: true}
		}
		out := st
		var v loaded
		switch ins := prog[i].(type) {
		case bpf.LoadAbsolute:
			v = loaded{known: true, size: ins.Size, off: ins.Off}
		case bpf.LoadIndirect:
			v = loaded{known: true, ind: true, size: ins.Size, off: ins.Off}
		case bpf.LoadMemShift:
			keep[i] = !st.x
			out.x = true
			flow(i+1, out)
			continue
		case bpf.JumpIf:
			flow(i+1+int(ins.SkipTrue), out)
			flow(i+1+int(ins.SkipFalse), out)
			continue
		case bpf.Jump:
			flow(i+1+int(ins.Skip), out)
			continue
		case bpf.RetConstant, bpf.RetA:
			continue
		default:
			out = regs{reached: true}
			flow(i+1, out)
			continue
		}
		// A load, possibly followed by the mask of the same test (which
		// no jump enters: tests are entered at their load).
		width := 1
		if alu, ok := nextAnd(prog, i); ok {
			v.masked, v.mask = true, alu.Val
			width = 2
		}
		if st.a == v {
			keep[i] = false
			if width == 2 {
				keep[i+1] = false
			}
		} else if width == 2 {
			keep[i+1] = true
		}
		out.a = v
		i += width - 1
		flow(i+1, out)
	}
	// Renumber: a jump to a dropped instruction lands on the next kept one.
	newIdx := make([]int, n+1)
	for i := 0; i < n; i++ {
		newIdx[i+1] = newIdx[i]
		if keep[i] {
			newIdx[i+1]++
		}
	}
	target := func(i, skip int) int {
		t := i + 1 + skip
		for t < n && !keep[t] {
			t++
		}
		return newIdx[t] - newIdx[i] - 1
	}
	out := make([]bpf.Instruction, 0, newIdx[n])
	for i, ins := range prog {
		if !keep[i] {
			continue
		}
		switch j := ins.(type) {
		case bpf.JumpIf:
			j.SkipTrue = uint8(target(i, int(j.SkipTrue)))
			j.SkipFalse = uint8(target(i, int(j.SkipFalse)))
			ins = j
		case bpf.Jump:
			j.Skip = uint32(target(i, int(j.Skip)))
			ins = j
		}
		out = append(out, ins)
	}
	return out
}

func nextAnd(prog []bpf.Instruction, i int) (bpf.ALUOpConstant, bool) {
	if i+1 < len(prog) {
		if alu, ok := prog[i+1].(bpf.ALUOpConstant); ok && alu.Op == bpf.ALUOpAnd {
			return alu, true
		}
	}
	return bpf.ALUOpConstant{}, false
}
