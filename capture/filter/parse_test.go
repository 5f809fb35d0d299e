package filter

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// Protocols.
		{"tcp", "tcp"},
		{"udp", "udp"},
		{"icmp", "icmp"},
		{"icmp6", "icmp6"},
		{"sctp", "sctp"},
		{"ip", "ip"},
		{"ip6", "ip6"},
		// Hosts: qualifiers spelled out, the ip/ip6 qualifier implied by
		// the address.
		{"host 10.0.0.1", "host 10.0.0.1"},
		{"src host 10.0.0.1", "src host 10.0.0.1"},
		{"dst host 2001:db8::1", "dst host 2001:db8::1"},
		{"src or dst host 10.0.0.1", "host 10.0.0.1"},
		{"dst or src host 10.0.0.1", "host 10.0.0.1"},
		{"src and dst host 10.0.0.1", "src and dst host 10.0.0.1"},
		{"ip host 10.0.0.1", "host 10.0.0.1"},
		{"ip6 src host 2001:DB8::1", "src host 2001:db8::1"},
		{"10.0.0.1", "host 10.0.0.1"},
		{"src 10.0.0.1", "src host 10.0.0.1"},
		{"ip 10.0.0.1", "host 10.0.0.1"},
		{"host ::ffff:10.0.0.1", "host ::ffff:10.0.0.1"},
		{"host localhost", "host 127.0.0.1 or host ::1"},
		{"ip host localhost", "host 127.0.0.1"},
		{"ip6 dst host localhost", "dst host ::1"},
		// Networks.
		{"net 10.0.0.0/8", "net 10.0.0.0/8"},
		{"net 10", "net 10.0.0.0/8"},
		{"net 192.168", "net 192.168.0.0/16"},
		{"net 192.168.1", "net 192.168.1.0/24"},
		{"net 192.168.1.7", "net 192.168.1.7/32"},
		{"src net 10.0.0.0 mask 255.255.0.0", "src net 10.0.0.0/16"},
		{"net 0.0.0.0 mask 0.0.0.0", "net 0.0.0.0/0"},
		{"dst net fe80::/10", "dst net fe80::/10"},
		{"net 2001:db8::1", "net 2001:db8::1/128"},
		{"ip6 net ::/0", "net ::/0"},
		// Ports.
		{"port 80", "port 80"},
		{"tcp port 80", "tcp port 80"},
		{"udp dst port 53", "udp dst port 53"},
		{"sctp src or dst port 9", "sctp port 9"},
		{"src and dst port 0", "src and dst port 0"},
		{"port 65535", "port 65535"},
		{"portrange 80-90", "portrange 80-90"},
		{"portrange 90-80", "portrange 80-90"},
		{"portrange 443", "portrange 443-443"},
		{"tcp src portrange 1-1024", "tcp src portrange 1-1024"},
		// Port names: registered for TCP only makes the primitive TCP only.
		{"port http", "tcp port 80"},
		{"port https", "port 443"},
		{"port domain", "port 53"},
		{"udp port domain", "udp port 53"},
		{"port ntp", "udp port 123"},
		{"tcp port http-alt", "tcp port 8080"},
		{"dst port postgresql", "tcp dst port 5432"},
		// Operators: not binds tightest, and/or group from the left.
		{"tcp and port 80", "tcp and port 80"},
		{"tcp && port 80", "tcp and port 80"},
		{"tcp || udp", "tcp or udp"},
		{"!tcp", "not tcp"},
		{"not not tcp", "not not tcp"},
		{"! ! tcp", "not not tcp"},
		{"tcp or udp and host ::1", "(tcp or udp) and host ::1"},
		{"tcp and udp or icmp", "(tcp and udp) or icmp"},
		{"tcp and (udp or icmp)", "tcp and (udp or icmp)"},
		{"not tcp and udp", "not tcp and udp"},
		{"not (tcp and udp)", "not (tcp and udp)"},
		{"tcp and (udp and (icmp and ip))", "tcp and udp and icmp and ip"},
		{"((((tcp))))", "tcp"},
		{"(tcp)and(udp)", "tcp and udp"},
		{"!tcp&&udp||icmp", "(not tcp and udp) or icmp"},
		{"\ttcp\n and\r\nudp  ", "tcp and udp"},
		// Qualifier repetition.
		{"port 80 or 8080", "port 80 or port 8080"},
		{"tcp dst port 80 or 8080", "tcp dst port 80 or tcp dst port 8080"},
		{"host 10.0.0.1 or 10.0.0.2", "host 10.0.0.1 or host 10.0.0.2"},
		{"host 10.0.0.1 and not 10.0.0.2", "host 10.0.0.1 and not host 10.0.0.2"},
		{"host 10.0.0.1 or (10.0.0.2 and not 10.0.0.3)", "host 10.0.0.1 or (host 10.0.0.2 and not host 10.0.0.3)"},
		{"host (10.0.0.1 or 10.0.0.2)", "host 10.0.0.1 or host 10.0.0.2"},
		{"host not 10.0.0.1", "not host 10.0.0.1"},
		{"port 80 or http", "port 80 or tcp port 80"},
		{"net 10 or 192.168", "net 10.0.0.0/8 or net 192.168.0.0/16"},
		{"net 10.0.0.0 mask 255.0.0.0 or 192.168.0.0 mask 255.255.0.0", "net 10.0.0.0/8 or net 192.168.0.0/16"},
		{"(port 80) or 443", "port 80 or port 443"},
		{"not port 80 or 443", "not port 80 or port 443"},
		{"host 10.0.0.1 and (tcp or 10.0.0.2)", "host 10.0.0.1 and (tcp or host 10.0.0.2)"},
		{"port 80 or (tcp and udp)", "port 80 or (tcp and udp)"},
		{"host 10.0.0.1 or (not 10.0.0.2)", "host 10.0.0.1 or not host 10.0.0.2"},
		{"src port 80 or dst 10.0.0.1", "src port 80 or dst host 10.0.0.1"},
		// Empty.
		{"", ""},
		{"   \t", ""},
	}
	for _, tc := range tests {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		if (tc.want == "") != (e == nil) {
			t.Errorf("Parse(%q) = %v, want nil exactly for the empty filter", tc.in, e)
		}
		e2, err := Parse(tc.want)
		if err != nil {
			t.Errorf("Parse(%q) (canonical of %q): %v", tc.want, tc.in, err)
		} else if got := e2.String(); got != tc.want {
			t.Errorf("canonical %q reparses as %q", tc.want, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"host 10.0.0.1 and and tcp", `filter: unexpected "and" at column 19`},
		{"tcp and", "filter: unexpected end of expression at column 8"},
		{"(tcp", "filter: unexpected end of expression at column 5"},
		{"tcp)", `filter: unexpected ")" at column 4`},
		{"()", `filter: unexpected ")" at column 2`},
		{"tcp udp", `filter: unexpected "udp" at column 5`},
		{"tcp & udp", `filter: unexpected "&" at column 5`},
		{"tcp | udp", `filter: unexpected "|" at column 5`},
		{"and tcp", `filter: unexpected "and" at column 1`},
		{"mask 255.0.0.0", `filter: unexpected "mask" at column 1`},
		{"src", "filter: unexpected end of expression at column 4"},
		{"port", "filter: unexpected end of expression at column 5"},
		{"host host", `filter: unexpected "host" at column 6`},
		{"tcp and 80", "filter: host needs an IP address: 80"},
		{"tcp not port 80", `filter: unexpected "not" at column 5`},
		{"port 80 and tcp or 443", "filter: host needs an IP address: 443"},
		{"host api.internal", "filter: host needs an IP address: api.internal"},
		{"host 10", "filter: host needs an IP address: 10"},
		{"host 10.0.0.0/8", "filter: host needs an IP address, not a network (use net): 10.0.0.0/8"},
		{"host fe80::1%eth0", "filter: host needs an IP address without a zone: fe80::1%eth0"},
		{"ip host ::1", "filter: ip host needs an IPv4 address: ::1"},
		{"ip6 host 10.0.0.1", "filter: ip6 host needs an IPv6 address: 10.0.0.1"},
		{"tcp host 10.0.0.1", "filter: tcp does not apply to host (only ip and ip6 do)"},
		{"udp net 10", "filter: udp does not apply to net (only ip and ip6 do)"},
		{"ip port 80", "filter: ip does not apply to port (only tcp, udp and sctp do)"},
		{"icmp portrange 1-2", "filter: icmp does not apply to portrange (only tcp, udp and sctp do)"},
		{"port 70000", "filter: port 70000 out of range"},
		{"port 99999999999999999999999", "filter: port 99999999999999999999999 out of range"},
		{"portrange 1-70000", "filter: port 70000 out of range"},
		{"portrange http-https", "filter: portrange needs numbers N-M: http-https"},
		{"portrange 1-2-3", "filter: portrange needs numbers N-M: 1-2-3"},
		{"portrange 80-", "filter: portrange needs numbers N-M: 80-"},
		{"port -1", `filter: unknown port "-1"`},
		{"port gopher", `filter: unknown port "gopher"`},
		{"port 0x50", `filter: unknown port "0x50"`},
		{"udp port http", "filter: port http is tcp only"},
		{"tcp port ntp", "filter: port ntp is udp only"},
		{"net 10.0.0.1/8", "filter: net 10.0.0.1/8 has bits set outside its mask"},
		{"net ::1/64", "filter: net ::1/64 has bits set outside its mask"},
		{"net 10.0.0.1 mask 255.0.0.0", "filter: net 10.0.0.1 mask 255.0.0.0 has bits set outside its mask"},
		{"net 10.0.0.0 mask 255.0.255.0", "filter: mask 255.0.255.0 is not contiguous"},
		{"net 10 mask 255.0.0.0", "filter: net with mask needs an IPv4 address: 10"},
		{"net ::/0 mask 255.0.0.0", "filter: net with mask needs an IPv4 address: ::/0"},
		{"net 10.0.0.0 mask", "filter: unexpected end of expression at column 18"},
		{"net 1.2.3.4/33", "filter: prefix length out of range: 1.2.3.4/33"},
		{"net 1.2.3.4/-1", "filter: prefix length out of range: 1.2.3.4/-1"},
		{"net 10/8", "filter: net needs an IP network: 10/8"},
		{"net 10.256", "filter: net needs an IP network: 10.256"},
		{"net localhost", "filter: net needs an IP network: localhost"},
		{"ip net 2001:db8::/32", "filter: ip net needs an IPv4 address: 2001:db8::/32"},
		{"ip6 net 10", "filter: ip6 net needs an IPv6 address: 10"},
		{strings.Repeat("(", 150) + "tcp" + strings.Repeat(")", 150), "filter: expression nested more than 100 deep at column 102"},
		{strings.Repeat("not ", 150) + "tcp", "filter: expression nested more than 100 deep at column 405"},
		{strings.Repeat("x", maxInput+1), "filter: expression longer than 65536 bytes"},
	}
	for _, tc := range tests {
		e, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error %q", tc.in, e, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q) error:\n got  %s\n want %s", tc.in, err, tc.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) error has more than one line", tc.in)
		}
	}
}

// TestMatch checks Match against the semantics pcap-filter(7) and
// libpcap's code generator give each primitive, on hand-written packets.
func TestMatch(t *testing.T) {
	a := netip.MustParseAddr
	tcp4 := Meta{Version: 4, Src: a("10.0.0.1"), Dst: a("192.168.1.10"), Proto: 6, SrcPort: 40000, DstPort: 80, HasPorts: true}
	frag4 := tcp4 // a later IPv4 fragment: protocol known, no ports
	frag4.HasPorts, frag4.SrcPort, frag4.DstPort = false, 0, 0
	udp6 := Meta{Version: 6, Src: a("2001:db8::1"), Dst: a("fe80::1"), Proto: 17, SrcPort: 53, DstPort: 53, HasPorts: true}
	frag6 := Meta{Version: 6, Src: a("2001:db8::1"), Dst: a("fe80::1"), Proto: 6} // TCP behind a Fragment header
	icmp4 := Meta{Version: 4, Src: a("10.0.0.2"), Dst: a("10.0.0.1"), Proto: 1}
	icmp6 := Meta{Version: 6, Src: a("::1"), Dst: a("::1"), Proto: 58}
	sctp4 := Meta{Version: 4, Src: a("10.0.0.1"), Dst: a("10.0.0.2"), Proto: 132, SrcPort: 80, DstPort: 9, HasPorts: true}
	mapped4 := tcp4 // IPv4 addresses given in 4-in-6 form
	mapped4.Src, mapped4.Dst = netip.AddrFrom16(tcp4.Src.As16()), netip.AddrFrom16(tcp4.Dst.As16())
	other := Meta{Version: 5, Proto: 6, HasPorts: true, DstPort: 80}

	tests := []struct {
		expr string
		m    Meta
		want bool
	}{
		{"tcp", tcp4, true},
		{"tcp", frag4, true},
		{"tcp", frag6, true}, // libpcap looks through one Fragment header
		{"udp", tcp4, false},
		{"ip", tcp4, true},
		{"ip6", tcp4, false},
		{"ip6", udp6, true},
		{"icmp", icmp4, true},
		{"icmp", icmp6, false}, // icmp is IPv4's
		{"icmp6", icmp6, true},
		{"sctp", sctp4, true},
		{"port 80", tcp4, true},
		{"port 80", frag4, false}, // not the first fragment
		{"port 80", frag6, false}, // ports only right behind the fixed header
		{"port 80", sctp4, true},  // libpcap's port covers SCTP
		{"tcp port 80", sctp4, false},
		{"sctp port 80", sctp4, true},
		{"src port 80", tcp4, false},
		{"dst port 80", tcp4, true},
		{"src and dst port 53", udp6, true},
		{"src and dst port 80", tcp4, false},
		{"udp port 53", udp6, true},
		{"port http", tcp4, true},
		{"port 80", icmp4, false},
		{"portrange 1-80", tcp4, true},
		{"portrange 81-39999", tcp4, false},
		{"portrange 40000-65535", tcp4, true},
		{"src portrange 1-80", tcp4, false},
		{"host 10.0.0.1", tcp4, true},
		{"host 10.0.0.1", mapped4, true},
		{"host ::ffff:10.0.0.1", tcp4, false}, // an IPv6 host never matches IPv4 packets
		{"src host 192.168.1.10", tcp4, false},
		{"dst host 192.168.1.10", tcp4, true},
		{"src and dst host ::1", icmp6, true},
		{"src and dst host 10.0.0.1", tcp4, false},
		{"host localhost", icmp6, true},
		{"ip host localhost", icmp6, false},
		{"net 10", tcp4, true},
		{"net 10", udp6, false},
		{"dst net 192.168.0.0/16", tcp4, true},
		{"src net 192.168.0.0/16", tcp4, false},
		{"net 2001:db8::/32", udp6, true},
		{"net fe80::/10", udp6, true},
		{"src net fe80::/10", udp6, false},
		{"net ::/0", udp6, true},
		{"net ::/0", tcp4, false},
		{"not tcp", other, true},
		{"tcp", other, false},
		{"port 80", other, false},
		{"host 10.0.0.1 and port 80 or udp", udp6, true},
		{"host 10.0.0.1 and (port 81 or udp)", tcp4, false},
		{"not port 80 and tcp", tcp4, false},
		{"not port 80 and tcp", frag4, true},
		{"port 80 or 53", udp6, true},
		{"host 10.0.0.1 and not 192.168.1.10", tcp4, false},
	}
	for _, tc := range tests {
		e, err := Parse(tc.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.expr, err)
		}
		m := tc.m
		if got := e.Match(&m); got != tc.want {
			t.Errorf("%q on %+v: Match = %v, want %v", tc.expr, tc.m, got, tc.want)
		}
		if m != tc.m {
			t.Errorf("%q: Match changed its argument", tc.expr)
		}
	}

	var none *Expr
	if !none.Match(&tcp4) || !none.Match(nil) {
		t.Error("a nil Expr must match every packet")
	}
	if e, _ := Parse("not tcp"); !e.Match(nil) {
		t.Error("a nil Meta is no packet at all: only negations match it")
	}
}
