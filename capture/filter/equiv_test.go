package filter

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

var (
	genDirs   = []string{"", "", "src ", "dst ", "src or dst ", "src and dst ", "dst and src "}
	genProtos = []string{"ip", "ip6", "tcp", "udp", "sctp", "icmp", "icmp6"}
	genNets   = []string{
		"10.0.0.0/8", "10.0.0.0/24", "10.0.0.0/31", "192.168.0.0/16", "10", "192.168", "10.0.0.1",
		"10.0.0.0 mask 255.255.0.0", "0.0.0.0/0", "2001:db8::/32", "2001:db8::/127", "2001:db8::/48",
		"fe80::/10", "::/0", "::ffff:0:0/96", "2001:db8::1/128",
	}
	genRanges = []string{"80-443", "0-80", "8000-8100", "53-53", "1024-65535", "79-81", "443"}
	genNames  = []string{"http", "https", "domain", "ssh", "ntp", "postgresql", "http-alt"}
)

// genPrimitive returns a random primitive and a function that gives
// another value of the same kind, for qualifier repetition.
func genPrimitive(r *rand.Rand) (string, func() string) {
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	d := pick(genDirs)
	switch r.IntN(8) {
	case 0:
		return pick(genProtos), nil
	case 1, 2:
		v4 := func() string { return pick(poolV4) }
		v6 := func() string { return pick(poolV6) }
		switch r.IntN(4) {
		case 0:
			return "ip " + d + "host " + v4(), v4
		case 1:
			return "ip6 " + d + "host " + v6(), v6
		}
		any := func() string {
			if r.IntN(2) == 0 {
				return v4()
			}
			return v6()
		}
		return d + "host " + any(), any
	case 3:
		nets := func() string { return pick(genNets) }
		return d + "net " + nets(), nets
	case 4, 5:
		num := func() string { return fmt.Sprint(poolPorts[r.IntN(len(poolPorts))]) }
		if r.IntN(4) == 0 {
			return d + "port " + pick(genNames), num
		}
		return pick([]string{"", "", "tcp ", "udp ", "sctp "}) + d + "port " + num(), num
	case 6:
		rng := func() string { return pick(genRanges) }
		return pick([]string{"", "tcp ", "udp ", "sctp "}) + d + "portrange " + rng(), rng
	}
	return pick([]string{"ip", "ip6", "tcp", "udp"}), nil
}

// genExpr returns a random expression text of bounded depth, using every
// operator spelling, parentheses and pcap's qualifier repetition.
func genExpr(r *rand.Rand, depth int) string {
	ops := []string{" and ", " or ", " && ", " || "}
	if depth == 0 || r.IntN(4) == 0 {
		p, more := genPrimitive(r)
		if more == nil || r.IntN(3) != 0 {
			return p
		}
		// Repeat the qualifiers: "port 80 or 443", "host a and not b",
		// "host a or (b and c)".
		switch r.IntN(3) {
		case 0:
			return p + ops[r.IntN(4)] + more()
		case 1:
			return p + ops[r.IntN(4)] + "not " + more()
		}
		return p + ops[r.IntN(4)] + "(" + more() + ops[r.IntN(4)] + more() + ")"
	}
	switch r.IntN(6) {
	case 0:
		return []string{"not ", "!", "! "}[r.IntN(3)] + genExpr(r, depth-1)
	case 1:
		return "(" + genExpr(r, depth-1) + ")"
	}
	return genExpr(r, depth-1) + ops[r.IntN(4)] + genExpr(r, depth-1)
}

// testPacket is a generated packet with the Meta decoded from its bytes.
type testPacket struct {
	data []byte
	meta Meta
	ip   bool // an IPv4 or IPv6 packet
}

func genPackets(t testing.TB, r *rand.Rand, n int) []testPacket {
	t.Helper()
	pkts := make([]testPacket, 0, n)
	for i := range n {
		var p testPacket
		if i%25 == 24 {
			p.data = genNonIP(r)
		} else {
			p.data = genPacket(t, r)
		}
		p.meta, p.ip = gopacketMeta(t, p.data)
		pkts = append(pkts, p)
	}
	return pkts
}

// vmFor compiles e with CompileNetwork and loads the raw program into
// x/net/bpf's VM.
func vmFor(t testing.TB, e *Expr, snaplen uint32) (*bpf.VM, int) {
	t.Helper()
	raw, err := e.CompileNetwork(snaplen)
	if err != nil {
		t.Fatalf("compile %q: %v", e, err)
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("compile %q: program does not disassemble", e)
	}
	for i, in := range ins {
		if _, ext := in.(bpf.LoadExtension); ext {
			t.Fatalf("compile %q: instruction %d uses an ancillary load: %v", e, i, in)
		}
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("compile %q: VM rejects the program: %v", e, err)
	}
	return vm, len(raw)
}

// wantMatch is what the compiled program must do with p: accept IP
// packets that Match accepts, reject everything else.
func wantMatch(e *Expr, p *testPacket) bool {
	return p.ip && e.Match(&p.meta)
}

func runVM(t testing.TB, vm *bpf.VM, data []byte, snaplen uint32) bool {
	t.Helper()
	n, err := vm.Run(data)
	if err != nil {
		t.Fatalf("vm: %v", err)
	}
	if n != 0 && n != int(snaplen) {
		t.Fatalf("vm returned %d, want 0 or the snaplen %d", n, snaplen)
	}
	return n > 0
}

// TestCompiledAgreesWithMatch is the equivalence property: for random
// expressions and random real packets, the compiled program run in
// x/net/bpf's VM accepts exactly the packets that Match accepts on the Meta
// decoded from the same bytes; and the canonical form means the same.
func TestCompiledAgreesWithMatch(t *testing.T) {
	const snaplen = 262144
	var cases, matched, longest int
	for _, seed := range []uint64{1, 2, 3, 4} {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		pkts := genPackets(t, r, 250)
		for range 300 {
			s := genExpr(r, 4)
			e, err := Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			vm, n := vmFor(t, e, snaplen)
			longest = max(longest, n)
			canon := e.String()
			e2, err := Parse(canon)
			if err != nil {
				t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, canon, err)
			}
			if got := e2.String(); got != canon {
				t.Fatalf("canonical form not stable: %q -> %q -> %q", s, canon, got)
			}
			vm2, _ := vmFor(t, e2, snaplen)
			for i := range pkts {
				p := &pkts[i]
				want := wantMatch(e, p)
				got := runVM(t, vm, p.data, snaplen)
				if got != want {
					t.Fatalf("seed %d: %q (canonical %q) on packet %s (meta %+v, ip %v): program says %v, Match says %v",
						seed, s, canon, hex.EncodeToString(p.data), p.meta, p.ip, got, want)
				}
				if got2, want2 := runVM(t, vm2, p.data, snaplen), wantMatch(e2, p); got2 != got || want2 != want {
					t.Fatalf("%q and its canonical form %q disagree on packet %s", s, canon, hex.EncodeToString(p.data))
				}
				cases++
				if want {
					matched++
				}
			}
		}
	}
	t.Logf("%d cases, %d matched, longest program %d instructions", cases, matched, longest)
	if matched < cases/10 || matched > cases*9/10 {
		t.Errorf("only %d of %d cases matched: the generators no longer exercise both outcomes", matched, cases)
	}
}

// TestDecodeNetworkAgreesWithGopacket checks DecodeNetwork against the
// gopacket-based decoding on random packets, and that it survives every
// truncation of them.
func TestDecodeNetworkAgreesWithGopacket(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, p := range genPackets(t, r, 2000) {
		var m Meta
		ok := m.DecodeNetwork(p.data)
		if ok != p.ip || m != p.meta {
			t.Fatalf("DecodeNetwork(%s) = %+v, %v; gopacket gives %+v, %v",
				hex.EncodeToString(p.data), m, ok, p.meta, p.ip)
		}
		for n := range len(p.data) {
			var tm Meta
			ok := tm.DecodeNetwork(p.data[:n])
			if ok && n < 20 {
				t.Fatalf("DecodeNetwork accepted %d bytes", n)
			}
			if ok && tm.HasPorts && !p.meta.HasPorts {
				t.Fatalf("truncation to %d bytes invented ports: %+v", n, tm)
			}
		}
	}
}

// TestLongPrograms exercises jumps beyond the 255-instruction reach of a
// conditional jump, and the kernel's 4096-instruction limit. The long
// expressions are or-chains of rarely true groups and and-chains of mostly
// true ones, so that the outcome depends on jumps across the whole program.
func TestLongPrograms(t *testing.T) {
	const snaplen = 1500
	r := rand.New(rand.NewPCG(11, 11))
	pkts := genPackets(t, r, 400)
	group := func(op string) string {
		return "(" + genExpr(r, 1) + op + genExpr(r, 1) + op + genExpr(r, 1) + ")"
	}
	var cases, matched, jumps int
	for i := range 30 {
		var parts []string
		for range 15 + r.IntN(25) {
			if i%3 == 1 {
				parts = append(parts, group(" or "))
			} else {
				parts = append(parts, group(" and "))
			}
		}
		var s string
		switch i % 3 {
		case 0:
			s = strings.Join(parts, " or ")
		case 1:
			s = strings.Join(parts, " and ")
		default:
			s = "not (" + strings.Join(parts, " or ") + ")"
		}
		e, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		raw, err := e.CompileNetwork(snaplen)
		if err != nil {
			t.Fatalf("%d groups: %v", len(parts), err)
		}
		if len(raw) < 300 {
			t.Fatalf("program of %d instructions is too short for this test", len(raw))
		}
		ins, _ := bpf.Disassemble(raw)
		for _, in := range ins {
			if _, ok := in.(bpf.Jump); ok {
				jumps++
			}
		}
		vm, _ := vmFor(t, e, snaplen)
		for j := range pkts {
			got, want := runVM(t, vm, pkts[j].data, snaplen), wantMatch(e, &pkts[j])
			if got != want {
				t.Fatalf("%q on %s: program says %v, Match says %v", s, hex.EncodeToString(pkts[j].data), got, want)
			}
			cases++
			if want {
				matched++
			}
		}
	}
	t.Logf("%d cases, %d matched, %d long jumps", cases, matched, jumps)
	if matched < cases/10 || matched > cases*9/10 || jumps == 0 {
		t.Errorf("%d of %d cases matched, %d long jumps: the test no longer exercises long programs", matched, cases, jumps)
	}

	huge := strings.TrimSuffix(strings.Repeat("portrange 1-2 or ", 400), " or ")
	e, err := Parse(huge)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CompileNetwork(snaplen); err == nil || !strings.Contains(err.Error(), "more than 4096 BPF instructions") {
		t.Fatalf("compiling 400 port ranges: err = %v, want the instruction limit", err)
	}
}
