package filter

import (
	"math/rand/v2"
	"testing"
)

// FuzzParse feeds arbitrary text to Parse: it must never panic, and an
// expression it accepts must print to a canonical form that parses to the
// same canonical form, compiles, and means the same on sample packets both
// in the compiled program and in Match.
func FuzzParse(f *testing.F) {
	for _, s := range tcpdumpExprs {
		f.Add(s)
	}
	for _, s := range []string{
		"", "(", ")", "!", "&&", "||", "not", "host", "net 10 mask", "port 80 or (443 and not 8080)",
		"host 10.0.0.1 or (10.0.0.2 and not (10.0.0.3))", "src or dst port 80", "dst and src net ::/0",
		"tcp or udp and icmp", "portrange 90-80", "net 0.0.0.0 mask 0.0.0.0", "host localhost",
		"((((tcp))))", "!!!tcp", "ip6 src net 2001:db8::/32 || ip dst net 10", "port 70000",
	} {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(99, 99))
	pkts := genPackets(f, r, 60)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if e != nil {
				t.Fatalf("Parse(%q) returned an expression and an error", s)
			}
			return
		}
		canon := e.String()
		e2, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, canon, err)
		}
		if got := e2.String(); got != canon {
			t.Fatalf("canonical form not stable: %q -> %q -> %q", s, canon, got)
		}
		raw, err := e.CompileNetwork(1500)
		if err != nil {
			return // too long for the kernel: an error, not a crash
		}
		if len(raw) > maxInsns {
			t.Fatalf("%q compiles to %d instructions", s, len(raw))
		}
		vm, _ := vmFor(t, e, 1500)
		vm2, _ := vmFor(t, e2, 1500)
		for i := range pkts {
			p := &pkts[i]
			want := wantMatch(e, p)
			if wantMatch(e2, p) != want {
				t.Fatalf("%q and %q disagree in Match on %+v", s, canon, p.meta)
			}
			if runVM(t, vm, p.data, 1500) != want || runVM(t, vm2, p.data, 1500) != want {
				t.Fatalf("%q: compiled program and Match disagree on %+v", s, p.meta)
			}
		}
	})
}
