package capture

import (
	"net/netip"
	"strings"
	"time"
)

// Field is one header field as it appeared on the wire.
type Field struct {
	Name  string
	Value string
}

// Header is an ordered list of header fields, names spelled as sent.
// Order and duplicates are kept so that outputs reproduce the wire.
type Header []Field

// Get returns the value of the first field named name (case-insensitive), or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field named name (case-insensitive) is present.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns the values of every field named name (case-insensitive).
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Clone returns a copy of h that shares no memory with it.
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	c := make(Header, len(h))
	copy(c, h)
	return c
}

// Request is the request half of an exchange.
type Request struct {
	Method string
	// Target is the request-target as sent: origin-form ("/todos?done=true"),
	// absolute-form ("http://host/path") or authority-form (CONNECT).
	Target string
	// Host is the Host header, or the authority of an absolute-form target.
	Host    string
	Proto   string // "HTTP/1.1"
	Header  Header
	Trailer Header
	// Body is the message body with transfer and content codings removed,
	// holding at most the configured maximum number of bytes.
	Body []byte
	// WireSize is the number of body bytes the message carried after
	// transfer decoding (chunked) and before content decoding; -1 if unknown.
	WireSize int64
	// Truncated reports that Body holds less than the message carried
	// (the body limit was reached, or bytes were lost in the capture).
	Truncated bool
	// Incomplete reports that the message ended before its end
	// (connection reset, capture stopped, or bytes missing).
	Incomplete bool
	// Decoded names the content coding that was removed from Body
	// ("gzip", "deflate", "br"); the Content-Encoding header is kept as sent.
	Decoded string
}

// Response is the response half of an exchange.
type Response struct {
	Proto   string // "HTTP/1.1"
	Status  int
	Reason  string
	Header  Header
	Trailer Header
	// Interim lists the status codes of 1xx responses that preceded this one.
	Interim    []int
	Body       []byte
	WireSize   int64
	Truncated  bool
	Incomplete bool
	Decoded    string
}

// Timing records when each half of an exchange started and ended, as
// timestamped by the capture (first and last byte seen).
type Timing struct {
	RequestStart  time.Time
	RequestEnd    time.Time
	ResponseStart time.Time
	ResponseEnd   time.Time
}

// Exchange is one HTTP request and the response it received.
type Exchange struct {
	Request  Request
	Response Response
	Timing   Timing
	// Client and Server are the transport endpoints; a zero AddrPort means
	// the source did not record it (a HAR entry has no client address).
	Client netip.AddrPort
	Server netip.AddrPort
	// ConnID identifies the TCP connection; exchanges on one connection share it.
	ConnID string
	// Seq is the position of the exchange on its connection, from 0.
	Seq int
	// Wire identifies the exchange across copies of its packets: the same
	// exchange seen on several interfaces, in several network namespaces,
	// or before and after a NAT (which rewrites addresses and ports, never
	// TCP sequence numbers). Zero when unknown (HAR files from elsewhere).
	Wire WireID
	// Upgrade names the protocol the connection switched to after this
	// exchange ("websocket", "h2c"), if it did.
	Upgrade string
	// Service and Caller name the server and the client as the platform
	// names them ("default/todo-service", "default/todo"), when a resolver
	// such as the Kubernetes one knew them; "" otherwise. Inference prefers
	// them to the Host header and the User-Agent.
	Service string
	Caller  string
	// Redacted reports that secrets were redacted from the exchange with
	// specgate's built-in rules: by this process, or by the one that wrote
	// the HAR or NDJSON file it was read from.
	Redacted bool
}

// WireID holds the TCP sequence numbers of the first byte of the request
// and of the first byte of the (final) response. Two exchanges with the
// same WireID, method, target and status are copies of one exchange.
type WireID struct{ Request, Response uint32 }

// IsZero reports whether w is unknown.
func (w WireID) IsZero() bool { return w == WireID{} }

// URL returns the absolute URL of the request: scheme "http", the Host (or
// the server address when there is none) and the target.
func (e *Exchange) URL() string {
	t := e.Request.Target
	if strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") {
		return t
	}
	host := e.Request.Host
	if host == "" && e.Server.IsValid() {
		host = e.Server.String()
	}
	if e.Request.Method == "CONNECT" {
		return "http://" + t
	}
	if t == "" || (t[0] != '/' && t != "*") {
		t = "/" + t
	}
	return "http://" + host + t
}
