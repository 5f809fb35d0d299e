package filter

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Limits that keep hostile input cheap.
const (
	maxInput = 64 << 10 // bytes of expression text
	maxDepth = 100      // nested parentheses and negations
)

// Parse parses a filter expression. An empty or all-blank s gives a nil
// *Expr, which matches every packet.
//
// The grammar is pcap-filter(7)'s for these primitives:
//
//	[ip|ip6] [src|dst|src or dst|src and dst] host ADDR
//	[ip|ip6] [src|dst|src or dst|src and dst] net ADDR/LEN | net ADDR mask MASK | net ADDR
//	[tcp|udp|sctp] [src|dst|src or dst|src and dst] port N
//	[tcp|udp|sctp] [src|dst|src or dst|src and dst] portrange N-M
//	ip  ip6  tcp  udp  sctp  icmp  icmp6
//
// combined with and (&&), or (||), not (!) and parentheses. As in pcap, not
// binds tightest and and/or have equal precedence, grouping from the left:
// "tcp or udp and host ::1" is "(tcp or udp) and host ::1". A bare value
// after and/or repeats the qualifiers of the primitive before it: "port 80
// or 8080", "host 10.0.0.1 and not 10.0.0.2", "host 10.0.0.1 or (10.0.0.2
// and 10.0.0.3)".
//
// ADDR is an IPv4 or IPv6 literal or localhost (127.0.0.1 and ::1); no name
// is looked up. "net 10" and "net 192.168" name the /8 and /16 as in pcap.
// Port names are those of the usual services file (http, https, domain,
// ssh, postgresql, ...) and, as in tcpdump, a name known for TCP only makes
// the primitive TCP-only: "port http" is "tcp port 80".
//
// Differences from libpcap: numbers are decimal only, masks after "mask"
// must be contiguous, portrange takes numbers only, host takes full
// addresses only, localhost is both loopback addresses whatever the hosts
// file says, and a bare address is a host after any primitive ("tcp or
// 10.0.0.1"), where libpcap accepts one only first.
//
// An error is one line starting "filter: "; syntax errors name the 1-based
// byte column, as in `filter: unexpected "and" at column 12`.
func Parse(s string) (*Expr, error) {
	if len(s) > maxInput {
		return nil, fmt.Errorf("filter: expression longer than %d bytes", maxInput)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tEOF {
		return nil, nil
	}
	p := &parser{toks: toks}
	n, _, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, unexpected(t)
	}
	return &Expr{root: n}, nil
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tLParen
	tRParen
	tNot
	tAnd
	tOr
)

type token struct {
	kind tokKind
	text string
	col  int // 1-based byte column
}

// lex splits s into tokens. A word is any run of characters other than
// blanks and ()!&|; words are given meaning by the parser.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		col := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", col})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", col})
			i++
		case c == '!':
			toks = append(toks, token{tNot, "!", col})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return nil, fmt.Errorf("filter: unexpected %q at column %d", s[i:i+1], col)
			}
			k := tAnd
			if c == '|' {
				k = tOr
			}
			toks = append(toks, token{k, s[i : i+2], col})
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()!&|", rune(s[j])) {
				j++
			}
			w := s[i:j]
			k := tWord
			switch w {
			case "and":
				k = tAnd
			case "or":
				k = tOr
			case "not":
				k = tNot
			}
			toks = append(toks, token{k, w, col})
			i = j
		}
	}
	return append(toks, token{tEOF, "", len(s) + 1}), nil
}

func unexpected(t token) error {
	if t.kind == tEOF {
		return fmt.Errorf("filter: unexpected end of expression at column %d", t.col)
	}
	return fmt.Errorf("filter: unexpected %q at column %d", t.text, t.col)
}

// pq is a protocol qualifier.
type pq uint8

const (
	pqNone pq = iota
	pqIP
	pqIP6
	pqTCP
	pqUDP
	pqSCTP
	pqICMP
	pqICMP6
)

var pqNames = [...]string{"", "ip", "ip6", "tcp", "udp", "sctp", "icmp", "icmp6"}

func lookupPQ(w string) (pq, bool) {
	for i, n := range pqNames {
		if i > 0 && n == w {
			return pq(i), true
		}
	}
	return pqNone, false
}

// typ is the type qualifier of a primitive.
type typ uint8

const (
	tyNone typ = iota
	tyHost
	tyNet
	tyPort
	tyPortRange
)

func lookupTyp(w string) (typ, bool) {
	switch w {
	case "host":
		return tyHost, true
	case "net":
		return tyNet, true
	case "port":
		return tyPort, true
	case "portrange":
		return tyPortRange, true
	}
	return tyNone, false
}

// isKeyword reports whether a word is reserved by the language and so
// cannot be a value.
func isKeyword(w string) bool {
	if _, ok := lookupPQ(w); ok {
		return true
	}
	if _, ok := lookupTyp(w); ok {
		return true
	}
	return w == "src" || w == "dst" || w == "mask"
}

// quals are the qualifiers of a primitive, kept so that a bare value after
// and/or can repeat them.
type quals struct {
	proto pq
	dir   dir
	typ   typ
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(i int) token {
	if p.pos+i >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.pos+i]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func isValue(t token) bool { return t.kind == tWord && !isKeyword(t.text) }

func tooDeep(t token) error {
	return fmt.Errorf("filter: expression nested more than %d deep at column %d", maxDepth, t.col)
}

// parseExpr parses terms joined by and/or, left to right. It returns the
// qualifiers of the last primitive, for repetition.
func (p *parser) parseExpr(depth int) (*node, *quals, error) {
	n, q, err := p.parseTerm(depth)
	if err != nil {
		return nil, nil, err
	}
	for {
		op := p.peek()
		if op.kind != tAnd && op.kind != tOr {
			return n, q, nil
		}
		p.next()
		var m *node
		if q != nil && p.idAhead() {
			m, err = p.parseID(q, depth)
		} else {
			m, q, err = p.parseTerm(depth)
		}
		if err != nil {
			return nil, nil, err
		}
		n = combine(op.kind, n, m)
	}
}

// idAhead reports whether the next tokens are a bare value, possibly
// negated or parenthesised: the operand that repeats earlier qualifiers.
func (p *parser) idAhead() bool {
	for i := 0; ; i++ {
		t := p.peekAt(i)
		switch t.kind {
		case tNot, tLParen:
			continue
		case tWord:
			return !isKeyword(t.text)
		}
		return false
	}
}

func (p *parser) parseTerm(depth int) (*node, *quals, error) {
	t := p.peek()
	if depth > maxDepth {
		return nil, nil, tooDeep(t)
	}
	switch t.kind {
	case tNot:
		p.next()
		n, q, err := p.parseTerm(depth + 1)
		if err != nil {
			return nil, nil, err
		}
		return &node{kind: kNot, kids: []*node{n}}, q, nil
	case tLParen:
		p.next()
		n, q, err := p.parseExpr(depth + 1)
		if err != nil {
			return nil, nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, nil, unexpected(c)
		}
		return n, q, nil
	case tWord:
		return p.parsePrimitive(depth)
	}
	return nil, nil, unexpected(t)
}

// parsePrimitive parses [proto] [dir] [type] followed by a value, or a
// protocol on its own.
func (p *parser) parsePrimitive(depth int) (*node, *quals, error) {
	q := &quals{}
	qualified := false
	if v, ok := lookupPQ(p.peek().text); ok && p.peek().kind == tWord {
		p.next()
		q.proto = v
		if !isValue(p.peek()) && !isDirOrType(p.peek()) {
			return protoNode(v), nil, nil
		}
	}
	if t := p.peek(); t.kind == tWord && (t.text == "src" || t.text == "dst") {
		p.next()
		qualified = true
		q.dir = dirSrc
		if t.text == "dst" {
			q.dir = dirDst
		}
		op, other := p.peekAt(0), p.peekAt(1)
		if (op.kind == tAnd || op.kind == tOr) && other.kind == tWord &&
			(other.text == "src" || other.text == "dst") && other.text != t.text {
			p.next()
			p.next()
			q.dir = dirAny
			if op.kind == tAnd {
				q.dir = dirBoth
			}
		}
	}
	if t := p.peek(); t.kind == tWord {
		if ty, ok := lookupTyp(t.text); ok {
			p.next()
			qualified = true
			q.typ = ty
		}
	}
	if !qualified && q.proto == pqNone && !isValue(p.peek()) {
		return nil, nil, unexpected(p.peek())
	}
	n, err := p.parseID(q, depth)
	if err != nil {
		return nil, nil, err
	}
	return n, q, nil
}

func isDirOrType(t token) bool {
	if t.kind != tWord {
		return false
	}
	_, ok := lookupTyp(t.text)
	return ok || t.text == "src" || t.text == "dst"
}

func protoNode(v pq) *node {
	switch v {
	case pqIP:
		return &node{kind: kVersion, version: 4}
	case pqIP6:
		return &node{kind: kVersion, version: 6}
	case pqTCP:
		return &node{kind: kProto, proto: protoTCP}
	case pqUDP:
		return &node{kind: kProto, proto: protoUDP}
	case pqSCTP:
		return &node{kind: kProto, proto: protoSCTP}
	case pqICMP:
		return &node{kind: kProto, proto: protoICMP, version: 4}
	}
	return &node{kind: kProto, proto: protoICMPv6, version: 6}
}

// parseID parses a value under qualifiers q: a bare value, "not" a value,
// or a parenthesised and/or of values.
func (p *parser) parseID(q *quals, depth int) (*node, error) {
	t := p.next()
	if depth > maxDepth {
		return nil, tooDeep(t)
	}
	switch t.kind {
	case tNot:
		n, err := p.parseID(q, depth+1)
		if err != nil {
			return nil, err
		}
		return &node{kind: kNot, kids: []*node{n}}, nil
	case tLParen:
		n, err := p.parseID(q, depth+1)
		if err != nil {
			return nil, err
		}
		for {
			op := p.next()
			switch op.kind {
			case tRParen:
				return n, nil
			case tAnd, tOr:
				m, err := p.parseID(q, depth+1)
				if err != nil {
					return nil, err
				}
				n = combine(op.kind, n, m)
			default:
				return nil, unexpected(op)
			}
		}
	case tWord:
		if isKeyword(t.text) {
			return nil, unexpected(t)
		}
		return p.build(q, t)
	}
	return nil, unexpected(t)
}

// combine joins a and b with and/or, flattening operands of the same kind.
func combine(op tokKind, a, b *node) *node {
	k := kAnd
	if op == tOr {
		k = kOr
	}
	var kids []*node
	for _, x := range [2]*node{a, b} {
		if x.kind == k {
			kids = append(kids, x.kids...)
		} else {
			kids = append(kids, x)
		}
	}
	return &node{kind: k, kids: kids}
}

// build makes the primitive for value t under qualifiers q.
func (p *parser) build(q *quals, t token) (*node, error) {
	switch q.typ {
	case tyNet:
		return p.buildNet(q, t)
	case tyPort:
		return buildPort(q, t.text)
	case tyPortRange:
		return buildPortRange(q, t.text)
	}
	return buildHost(q, t.text)
}

func addrQualOK(q *quals, what string) error {
	if q.proto != pqNone && q.proto != pqIP && q.proto != pqIP6 {
		return fmt.Errorf("filter: %s does not apply to %s (only ip and ip6 do)", pqNames[q.proto], what)
	}
	return nil
}

// familyOK checks an address against an ip/ip6 qualifier.
func familyOK(q *quals, what string, a netip.Addr, text string) error {
	if q.proto == pqIP && !a.Is4() {
		return fmt.Errorf("filter: ip %s needs an IPv4 address: %s", what, text)
	}
	if q.proto == pqIP6 && a.Is4() {
		return fmt.Errorf("filter: ip6 %s needs an IPv6 address: %s", what, text)
	}
	return nil
}

func buildHost(q *quals, s string) (*node, error) {
	if err := addrQualOK(q, "host"); err != nil {
		return nil, err
	}
	if s == "localhost" {
		var kids []*node
		if q.proto != pqIP6 {
			kids = append(kids, &node{kind: kHost, dir: q.dir, addr: netip.AddrFrom4([4]byte{127, 0, 0, 1})})
		}
		if q.proto != pqIP {
			kids = append(kids, &node{kind: kHost, dir: q.dir, addr: netip.IPv6Loopback()})
		}
		if len(kids) == 1 {
			return kids[0], nil
		}
		return &node{kind: kOr, kids: kids}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		if strings.Contains(s, "/") {
			return nil, fmt.Errorf("filter: host needs an IP address, not a network (use net): %s", s)
		}
		return nil, fmt.Errorf("filter: host needs an IP address: %s", s)
	}
	if a.Zone() != "" {
		return nil, fmt.Errorf("filter: host needs an IP address without a zone: %s", s)
	}
	if err := familyOK(q, "host", a, s); err != nil {
		return nil, err
	}
	return &node{kind: kHost, dir: q.dir, addr: a}, nil
}

func (p *parser) buildNet(q *quals, t token) (*node, error) {
	if err := addrQualOK(q, "net"); err != nil {
		return nil, err
	}
	s := t.text
	var (
		pfx netip.Prefix
		err error
	)
	if m := p.peek(); m.kind == tWord && m.text == "mask" {
		p.next()
		v := p.next()
		if !isValue(v) {
			return nil, unexpected(v)
		}
		s += " mask " + v.text
		pfx, err = parseMasked(t.text, v.text)
	} else {
		pfx, err = parseNet(s)
	}
	if err != nil {
		return nil, err
	}
	if pfx.Masked() != pfx {
		return nil, fmt.Errorf("filter: net %s has bits set outside its mask", s)
	}
	if err := familyOK(q, "net", pfx.Addr(), s); err != nil {
		return nil, err
	}
	return &node{kind: kNet, dir: q.dir, prefix: pfx}, nil
}

func parseFullAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseNet parses ADDR/LEN, a full address (a host-sized network), or an
// IPv4 network written with fewer than four parts ("10", "192.168").
func parseNet(s string) (netip.Prefix, error) {
	if addr, length, ok := strings.Cut(s, "/"); ok {
		a, ok := parseFullAddr(addr)
		if !ok {
			return netip.Prefix{}, fmt.Errorf("filter: net needs an IP network: %s", s)
		}
		n, err := strconv.Atoi(length)
		if err != nil || n < 0 || n > a.BitLen() || !allDigits(length) {
			return netip.Prefix{}, fmt.Errorf("filter: prefix length out of range: %s", s)
		}
		return netip.PrefixFrom(a, n), nil
	}
	if a, ok := parseFullAddr(s); ok {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return netip.Prefix{}, fmt.Errorf("filter: net needs an IP network: %s", s)
	}
	var b [4]byte
	for i, part := range parts {
		v, err := strconv.ParseUint(part, 10, 8)
		if err != nil || !allDigits(part) {
			return netip.Prefix{}, fmt.Errorf("filter: net needs an IP network: %s", s)
		}
		b[i] = byte(v)
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), nil
}

// parseMasked parses "ADDR mask MASK" (IPv4 only, contiguous masks).
func parseMasked(addr, mask string) (netip.Prefix, error) {
	a, ok := parseFullAddr(addr)
	if !ok || !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("filter: net with mask needs an IPv4 address: %s", addr)
	}
	m, ok := parseFullAddr(mask)
	if !ok || !m.Is4() {
		return netip.Prefix{}, fmt.Errorf("filter: mask needs an IPv4 netmask: %s", mask)
	}
	mb := m.As4()
	v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
	ones := bits.LeadingZeros32(^v)
	if v != ^uint32(0)<<(32-ones) {
		return netip.Prefix{}, fmt.Errorf("filter: mask %s is not contiguous", mask)
	}
	return netip.PrefixFrom(a, ones), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// portQual returns the protocol a port primitive is restricted to.
func portQual(q *quals, what string) (uint8, error) {
	switch q.proto {
	case pqNone:
		return 0, nil
	case pqTCP:
		return protoTCP, nil
	case pqUDP:
		return protoUDP, nil
	case pqSCTP:
		return protoSCTP, nil
	}
	return 0, fmt.Errorf("filter: %s does not apply to %s (only tcp, udp and sctp do)", pqNames[q.proto], what)
}

// service is a port name from the services file, with the one transport
// it is registered for (0: TCP and UDP alike).
type service struct {
	name  string
	port  uint16
	proto uint8
}

// services are the port names specgate knows, as Debian's netbase lists
// them (and so as tcpdump resolves them there).
var services = [...]service{
	{"ftp-data", 20, protoTCP},
	{"ftp", 21, protoTCP},
	{"ssh", 22, protoTCP},
	{"telnet", 23, protoTCP},
	{"smtp", 25, protoTCP},
	{"domain", 53, 0},
	{"http", 80, protoTCP},
	{"www", 80, protoTCP},
	{"pop3", 110, protoTCP},
	{"ntp", 123, protoUDP},
	{"snmp", 161, 0},
	{"ldap", 389, 0},
	{"https", 443, 0},
	{"mysql", 3306, protoTCP},
	{"postgresql", 5432, protoTCP},
	{"postgres", 5432, protoTCP},
	{"redis", 6379, protoTCP},
	{"http-alt", 8080, protoTCP},
	{"webcache", 8080, protoTCP},
}

// parsePort parses a decimal port number (s holds digits only).
func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > 65535 {
		return 0, fmt.Errorf("filter: port %s out of range", s)
	}
	return uint16(n), nil
}

func buildPort(q *quals, s string) (*node, error) {
	proto, err := portQual(q, "port")
	if err != nil {
		return nil, err
	}
	if allDigits(s) {
		v, err := parsePort(s)
		if err != nil {
			return nil, err
		}
		return &node{kind: kPort, proto: proto, dir: q.dir, lo: v, hi: v}, nil
	}
	for _, sv := range services {
		if sv.name != s {
			continue
		}
		if sv.proto != 0 {
			if proto != 0 && proto != sv.proto {
				return nil, fmt.Errorf("filter: port %s is %s only", s, protoName(sv.proto))
			}
			proto = sv.proto
		}
		return &node{kind: kPort, proto: proto, dir: q.dir, lo: sv.port, hi: sv.port}, nil
	}
	return nil, fmt.Errorf("filter: unknown port %q", s)
}

func buildPortRange(q *quals, s string) (*node, error) {
	proto, err := portQual(q, "portrange")
	if err != nil {
		return nil, err
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if !allDigits(a) || !allDigits(b) {
		return nil, fmt.Errorf("filter: portrange needs numbers N-M: %s", s)
	}
	lo, err := parsePort(a)
	if err != nil {
		return nil, err
	}
	hi, err := parsePort(b)
	if err != nil {
		return nil, err
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return &node{kind: kPortRange, proto: proto, dir: q.dir, lo: lo, hi: hi}, nil
}
