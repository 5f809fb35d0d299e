package capture

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Stats accounts for everything a capture saw and everything it could not
// turn into exchanges. A capture that produced nothing always says why.
type Stats struct {
	// Packets and Bytes count the frames read from the source.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// KernelPackets and KernelDrops are the kernel's own counters for live
	// sockets (packets queued to the socket, and dropped for lack of room).
	KernelPackets uint64 `json:"kernel_packets"`
	KernelDrops   uint64 `json:"kernel_drops"`
	// Ignored counts frames that were not TCP over IP (ARP, UDP, ...).
	Ignored uint64 `json:"ignored"`
	// Unmatched counts frames the packet filter left out (capture files;
	// live captures filter in the kernel).
	Unmatched uint64 `json:"unmatched"`
	// DecodeErrors counts frames too malformed to decode.
	DecodeErrors uint64 `json:"decode_errors"`
	// Fragments counts IP fragments, which are not reassembled.
	Fragments uint64 `json:"fragments"`
	// Exchanges counts exchanges delivered to the output (after the host
	// and path filters and without duplicate copies; the per-server counts
	// are before both).
	Exchanges uint64 `json:"exchanges"`
	// Filtered counts exchanges left out by host or path filters.
	Filtered uint64 `json:"filtered"`
	// Duplicates counts copies of exchanges already delivered (the same
	// exchange seen on several interfaces, in several namespaces, or before
	// and after a NAT), dropped so that each exchange is recorded once.
	Duplicates uint64 `json:"duplicates"`
	// Missed lists the capture targets (network namespaces of nodes or
	// pods) that could not be captured, or stopped before the end.
	Missed []MissedTarget `json:"missed,omitempty"`
	// Redacted counts the secret values replaced before any output.
	Redacted uint64 `json:"redacted"`
	// Servers holds per-server counters, keyed by "addr:port" (or the host
	// name for sources without addresses).
	Servers map[string]*ServerStats `json:"-"`
}

// MissedTarget is a capture target that was not captured, or not to the
// end: Target names it as the user knows it (a node or a pod), Reason says
// why in one line.
type MissedTarget struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
}

// ServerStats counts what one server address sent and received.
type ServerStats struct {
	Server          string `json:"server"`
	Connections     uint64 `json:"connections"`
	Exchanges       uint64 `json:"exchanges"`
	RequestBytes    uint64 `json:"request_bytes"`
	ResponseBytes   uint64 `json:"response_bytes"`
	Truncated       uint64 `json:"truncated"`
	Incomplete      uint64 `json:"incomplete"`
	Unanswered      uint64 `json:"unanswered"`
	OrphanResponses uint64 `json:"orphan_responses"`
	// LostBytes counts stream bytes that never arrived (capture gaps).
	LostBytes uint64 `json:"lost_bytes"`
	// GaveUp counts connections abandoned because a memory bound was reached.
	GaveUp uint64 `json:"gave_up"`
	// TLS counts connections that began with a TLS handshake; SNI lists the
	// server names they asked for.
	TLS uint64   `json:"tls"`
	SNI []string `json:"sni,omitempty"`
	// HTTP2 counts connections that began with the HTTP/2 preface.
	HTTP2 uint64 `json:"http2"`
	// Upgrades counts connections switched to another protocol, by name.
	Upgrades map[string]uint64 `json:"upgrades,omitempty"`
	// Undecodable counts connections whose bytes were not HTTP/1.x, TLS or
	// HTTP/2, and UndecodableBytes the bytes skipped in them.
	Undecodable      uint64 `json:"undecodable"`
	UndecodableBytes uint64 `json:"undecodable_bytes"`
}

// maxSNI bounds the number of distinct server names kept per server.
const maxSNI = 16

// NewStats returns empty statistics.
func NewStats() *Stats {
	return &Stats{Servers: make(map[string]*ServerStats)}
}

// Server returns the counters of server, creating them on first use.
func (s *Stats) Server(server string) *ServerStats {
	if s.Servers == nil {
		s.Servers = make(map[string]*ServerStats)
	}
	ss := s.Servers[server]
	if ss == nil {
		ss = &ServerStats{Server: server}
		s.Servers[server] = ss
	}
	return ss
}

// AddSNI records a TLS server name, keeping the list sorted and bounded.
func (ss *ServerStats) AddSNI(name string) {
	if name == "" {
		return
	}
	i := sort.SearchStrings(ss.SNI, name)
	if i < len(ss.SNI) && ss.SNI[i] == name {
		return
	}
	if len(ss.SNI) >= maxSNI {
		return
	}
	ss.SNI = append(ss.SNI, "")
	copy(ss.SNI[i+1:], ss.SNI[i:])
	ss.SNI[i] = name
}

// AddUpgrade counts a connection upgraded to protocol.
func (ss *ServerStats) AddUpgrade(protocol string) {
	if ss.Upgrades == nil {
		ss.Upgrades = make(map[string]uint64)
	}
	ss.Upgrades[protocol]++
}

// Add adds o's counters to ss.
func (ss *ServerStats) Add(o *ServerStats) {
	ss.Connections += o.Connections
	ss.Exchanges += o.Exchanges
	ss.RequestBytes += o.RequestBytes
	ss.ResponseBytes += o.ResponseBytes
	ss.Truncated += o.Truncated
	ss.Incomplete += o.Incomplete
	ss.Unanswered += o.Unanswered
	ss.OrphanResponses += o.OrphanResponses
	ss.LostBytes += o.LostBytes
	ss.GaveUp += o.GaveUp
	ss.TLS += o.TLS
	for _, n := range o.SNI {
		ss.AddSNI(n)
	}
	ss.HTTP2 += o.HTTP2
	for k, v := range o.Upgrades {
		if ss.Upgrades == nil {
			ss.Upgrades = make(map[string]uint64)
		}
		ss.Upgrades[k] += v
	}
	ss.Undecodable += o.Undecodable
	ss.UndecodableBytes += o.UndecodableBytes
}

// Merge adds o's counters to s.
func (s *Stats) Merge(o *Stats) {
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.KernelPackets += o.KernelPackets
	s.KernelDrops += o.KernelDrops
	s.Ignored += o.Ignored
	s.Unmatched += o.Unmatched
	s.DecodeErrors += o.DecodeErrors
	s.Fragments += o.Fragments
	s.Exchanges += o.Exchanges
	s.Filtered += o.Filtered
	s.Duplicates += o.Duplicates
	s.Redacted += o.Redacted
	s.Missed = append(s.Missed, o.Missed...)
	for k, v := range o.Servers {
		s.Server(k).Add(v)
	}
}

// SortedServers returns the per-server counters ordered by server.
func (s *Stats) SortedServers() []*ServerStats {
	out := make([]*ServerStats, 0, len(s.Servers))
	for _, v := range s.Servers {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out
}

// Total returns the sum of every server's counters.
func (s *Stats) Total() ServerStats {
	var t ServerStats
	for _, v := range s.Servers {
		t.Add(v)
	}
	t.Server = "total"
	return t
}

// Lossy reports whether the capture lost data: kernel drops, stream bytes
// never seen, connections given up, messages cut short, or targets missed.
func (s *Stats) Lossy() bool {
	t := s.Total()
	return s.KernelDrops > 0 || t.LostBytes > 0 || t.GaveUp > 0 || t.Incomplete > 0 || len(s.Missed) > 0
}

// Explain returns one line per target missed, a line for capture-wide
// losses, and one line per reason traffic could not be read, ordered by
// server. When no exchange was captured it always returns at least one
// line saying why.
func (s *Stats) Explain() []string {
	var lines []string
	for _, m := range s.Missed {
		lines = append(lines, "missed "+m.Target+": "+m.Reason)
	}
	missed := len(lines)
	if s.KernelDrops > 0 {
		lines = append(lines, fmt.Sprintf("kernel dropped %d of %d packets: the capture fell behind; raise --buffer or narrow the filter", s.KernelDrops, s.KernelPackets+s.KernelDrops))
	}
	if s.Fragments > 0 {
		lines = append(lines, fmt.Sprintf("%d IP fragments were not reassembled", s.Fragments))
	}
	for _, ss := range s.SortedServers() {
		lines = append(lines, ss.explain()...)
	}
	if s.Exchanges == 0 && len(lines) == missed {
		switch {
		case s.Packets == 0:
			lines = append(lines, "no packets were captured: check the interface, the filter and that traffic ran during the capture")
		case s.Unmatched > 0 && s.Packets == s.Unmatched+s.Ignored+s.DecodeErrors:
			lines = append(lines, fmt.Sprintf("%d packets were read but the packet filter left out every TCP packet: check the filter", s.Packets))
		case s.Packets == s.Ignored+s.DecodeErrors:
			lines = append(lines, fmt.Sprintf("%d packets were captured but none carried TCP: check the filter and the interface", s.Packets))
		case s.Filtered > 0:
			lines = append(lines, fmt.Sprintf("all %d exchanges were left out by the host and path filters", s.Filtered))
		default:
			lines = append(lines, fmt.Sprintf("%d packets were captured but no complete HTTP/1.x exchange was found in them", s.Packets))
		}
	}
	return lines
}

func (ss *ServerStats) explain() []string {
	var lines []string
	p := func(format string, args ...any) {
		lines = append(lines, ss.Server+": "+fmt.Sprintf(format, args...))
	}
	if ss.TLS > 0 {
		sni := ""
		if len(ss.SNI) > 0 {
			sni = " (SNI " + strings.Join(ss.SNI, ", ") + ")"
		}
		p("TLS%s, %d %s: specgate cannot see inside TLS; capture inside the pod or behind the TLS terminator", sni, ss.TLS, plural(ss.TLS, "connection"))
	}
	if ss.HTTP2 > 0 {
		p("HTTP/2, %d %s: specgate reads HTTP/1.x only; configure the client or the test to use HTTP/1.1", ss.HTTP2, plural(ss.HTTP2, "connection"))
	}
	if len(ss.Upgrades) > 0 {
		names := make([]string, 0, len(ss.Upgrades))
		for k := range ss.Upgrades {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			p("%d %s upgraded to %s: traffic after the upgrade is not HTTP/1.x and is not read", ss.Upgrades[k], plural(ss.Upgrades[k], "connection"), k)
		}
	}
	if ss.Undecodable > 0 {
		p("%d %s carried bytes that are not HTTP (%d bytes skipped)", ss.Undecodable, plural(ss.Undecodable, "connection"), ss.UndecodableBytes)
	}
	if ss.LostBytes > 0 {
		p("%d bytes were missing from the captured streams (the capture missed packets or started mid-message)", ss.LostBytes)
	}
	if ss.GaveUp > 0 {
		p("%d %s given up because a memory bound was reached; raise --max-buffered or --max-conn-buffer", ss.GaveUp, plural(ss.GaveUp, "connection was", "connections were"))
	}
	if ss.Unanswered > 0 {
		p("%d %s no response in the capture", ss.Unanswered, plural(ss.Unanswered, "request had", "requests had"))
	}
	if ss.OrphanResponses > 0 {
		p("%d %s no request in the capture", ss.OrphanResponses, plural(ss.OrphanResponses, "response had", "responses had"))
	}
	if ss.Incomplete > 0 {
		p("%d %s cut short (connection reset or capture ended mid-message)", ss.Incomplete, plural(ss.Incomplete, "message was", "messages were"))
	}
	if ss.Truncated > 0 {
		p("%d %s truncated (at the body size limit, or by bytes missing from the capture); raise --max-body to keep long bodies whole", ss.Truncated, plural(ss.Truncated, "body was", "bodies were"))
	}
	return lines
}

// plural picks the singular or plural form for n; with one form it appends "s".
func plural(n uint64, forms ...string) string {
	if n == 1 {
		return forms[0]
	}
	if len(forms) > 1 {
		return forms[1]
	}
	return forms[0] + "s"
}

// MarshalJSON encodes the statistics with servers as a sorted list, whether
// the capture lost data, and the explanation lines under "problems".
func (s *Stats) MarshalJSON() ([]byte, error) {
	type plain Stats // the same fields, without this method
	problems := s.Explain()
	if problems == nil {
		problems = []string{}
	}
	return json.Marshal(struct {
		*plain
		Lossy    bool           `json:"lossy"`
		Servers  []*ServerStats `json:"servers"`
		Problems []string       `json:"problems"`
	}{(*plain)(s), s.Lossy(), s.SortedServers(), problems})
}
