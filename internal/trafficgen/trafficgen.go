// Package trafficgen generates the HTTP traffic of an integration-test run
// across a small microservice system: a count and a seed in, exchanges out
// (as capture.Exchange values, or as the NDJSON that specgate capture writes).
//
// Five services (todo, users, billing, stats, catalog) serve 45 operations
// to test clients and to each other. Every exchange draws fresh ids and
// values, but the shapes (paths, headers, bodies, statuses) come from fixed
// tables, so the traffic holds a bounded number of shapes however long it
// runs. Secrets appear as specgate's redactor leaves them ("Bearer
// REDACTED"), so the output reads as a redacted capture. The same seed gives
// the same exchanges; timestamps advance from a fixed base time.
package trafficgen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
)

// Generate writes n exchanges generated from seed to w as NDJSON, one HAR
// entry a line, exactly as specgate capture -w FILE.ndjson writes them.
func Generate(w io.Writer, n int, seed uint64) error {
	return Write(w, n, seed, har.FormatNDJSON)
}

// Write writes n exchanges generated from seed to w in format f. Memory
// stays the same whatever n is.
func Write(w io.Writer, n int, seed uint64, f har.Format) error {
	if n < 0 {
		return fmt.Errorf("negative exchange count %d", n)
	}
	g := New(seed)
	hw := har.NewWriter(w, f, har.Creator{Name: "trafficgen", Version: "1.0"})
	for i := range n {
		if err := hw.Write(g.Next()); err != nil {
			return fmt.Errorf("exchange %d: %w", i, err)
		}
	}
	return hw.Close()
}

// baseUnix is when every generated run starts: 2024-05-14T09:00:00Z.
const baseUnix = 1715677200

// baseDay is the day of baseUnix, counted from 1970-01-01.
const baseDay = baseUnix / 86400

// numClients counts the client addresses: the test clients, then one per
// service (a service calling another).
const numClients = len(testClients) + numServices

// conn is a keep-alive connection from a client to a service.
type conn struct {
	id    string
	seq   int
	left  int // exchanges before it closes
	port  uint16
	agent string
}

// outcome is a response status and its chance, in units of 1/10000.
type outcome struct {
	status int
	chance int
}

// Generator makes the exchanges of one seeded run, one at a time. It holds
// a fixed amount of memory: its buffers, one connection per client and
// service, and the operation tables.
type Generator struct {
	rng      *rand.Rand
	cum      [len(ops)]int // cumulative operation weights
	outcomes [len(ops)][]outcome
	conns    [numClients][numServices]conn
	ports    [numClients]uint16
	opened   uint64 // connections opened so far
	base     time.Time
	elapsed  int64  // microseconds from base to the last request
	dateSec  int64  // the second that date names
	date     string // Date header value
	x        capture.Exchange
	reqBody  []byte
	respBody []byte
	tmp      []byte
}

// New returns a Generator for seed.
func New(seed uint64) *Generator {
	g := &Generator{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), dateSec: -1, base: time.Unix(baseUnix, 0).UTC()}
	total := 0
	for i := range ops {
		total += ops[i].weight
		g.cum[i] = total
		g.outcomes[i] = outcomesOf(&ops[i])
	}
	for c := range g.ports {
		g.ports[c] = uint16(32768 + g.rng.IntN(20000))
	}
	g.x.Request.Header = make(capture.Header, 0, 16)
	g.x.Response.Header = make(capture.Header, 0, 16)
	return g
}

// outcomesOf lists the error statuses an operation answers with, besides
// its success status, and how often.
func outcomesOf(o *op) []outcome {
	list := []outcome{{429, 20}, {500, 30}, {502, 5}, {503, 10}}
	if o.auth != authNone {
		list = append(list, outcome{401, 60})
	}
	if o.auth == authAPIKey {
		list = append(list, outcome{403, 150})
	}
	if hasParam(o.path) {
		list = append(list, outcome{404, 250})
	}
	switch {
	case o.req.kind != kNone:
		list = append(list, outcome{400, 150}, outcome{422, 150})
	case len(o.query) > 0:
		list = append(list, outcome{400, 80})
	}
	if o.loc != "" {
		list = append(list, outcome{409, 80})
	}
	return list
}

// hasParam reports whether a path template has a placeholder.
func hasParam(path string) bool { return strings.IndexByte(path, '{') >= 0 }

// Next returns the next exchange. The exchange and everything it holds
// (headers, bodies) belong to g and change at the next call: copy what
// must outlive it.
func (g *Generator) Next() *capture.Exchange {
	r := g.rng
	oi := g.pickOp()
	o := &ops[oi]
	svc := &services[o.svc]

	// who calls, on which connection
	client, caller := g.pickCaller(o)
	c := &g.conns[client][o.svc]
	if c.left == 0 {
		g.open(c, client, caller)
	}
	c.left--

	status := g.pickStatus(oi)

	x := &g.x
	*x = capture.Exchange{Request: capture.Request{Header: x.Request.Header[:0]}, Response: capture.Response{Header: x.Response.Header[:0]}}
	q, p := &x.Request, &x.Response

	// target
	b := g.expand(g.tmp[:0], o.path)
	pathLen := len(b)
	b = g.query(b, o.query)
	target := string(b)
	var location string
	if o.loc != "" && status == o.status {
		location = string(g.expand(append(b[:0], target[:pathLen]...), o.loc))
	}
	g.tmp = b

	// request
	g.reqBody = g.reqBody[:0]
	if o.req.kind != kNone {
		g.reqBody = g.value(g.reqBody, &o.req)
		q.Body = g.reqBody
	}
	q.Method, q.Target, q.Host, q.Proto, q.WireSize = o.method, target, svc.host, "HTTP/1.1", int64(len(q.Body))
	requestID := ""
	if r.IntN(10) != 0 {
		requestID = string(appendUUID(g.tmp[:0], r))
	}
	h := q.Header
	h = append(h, capture.Field{Name: "Host", Value: svc.host}, capture.Field{Name: "User-Agent", Value: c.agent})
	if q.Body != nil {
		h = append(h, capture.Field{Name: "Content-Length", Value: strconv.Itoa(len(q.Body))})
	}
	accept := "application/json"
	if r.IntN(20) == 0 {
		accept = "*/*"
	}
	h = append(h, capture.Field{Name: "Accept", Value: accept})
	switch o.auth {
	case authBearer:
		h = append(h, capture.Field{Name: "Authorization", Value: "Bearer REDACTED"})
	case authCookie:
		if r.IntN(5) < 2 {
			h = append(h, capture.Field{Name: "Authorization", Value: "Bearer REDACTED"})
		}
	}
	if q.Body != nil {
		h = append(h, capture.Field{Name: "Content-Type", Value: "application/json"})
	}
	if o.auth == authCookie {
		cookie := "session=REDACTED"
		if r.IntN(2) == 0 {
			cookie = "session=REDACTED; theme=REDACTED"
		}
		h = append(h, capture.Field{Name: "Cookie", Value: cookie})
	}
	if caller >= 0 {
		h = append(h, capture.Field{Name: "Traceparent", Value: g.traceparent()})
	}
	if o.auth == authAPIKey {
		h = append(h, capture.Field{Name: "X-Api-Key", Value: "REDACTED"})
	}
	if requestID != "" {
		h = append(h, capture.Field{Name: "X-Request-Id", Value: requestID})
	}
	if svc.tenant {
		h = append(h, capture.Field{Name: "X-Tenant-Id", Value: tenants[r.IntN(len(tenants))]})
	}
	h = append(h, capture.Field{Name: "Accept-Encoding", Value: "gzip"})
	q.Header = h

	// response
	p.Proto, p.Status, p.Reason = "HTTP/1.1", status, http.StatusText(status)
	contentType := svc.json
	g.respBody = g.respBody[:0]
	switch {
	case status == o.status && o.resp.kind != kNone:
		g.respBody = g.value(g.respBody, &o.resp)
	case status == 502 || status == 503:
		contentType = "text/plain"
		g.respBody = append(g.respBody, gatewayText(status)...)
	case status >= 400:
		if svc.style == styleProblem {
			contentType = "application/problem+json"
		}
		g.respBody = g.errorBody(g.respBody, svc.style, status, o, target[:pathLen])
	}
	if len(g.respBody) > 0 {
		if svc.newline && contentType != "text/plain" {
			g.respBody = append(g.respBody, '\n')
		}
		p.Body = g.respBody
	}
	p.WireSize = int64(len(p.Body))
	g.respHeader(o, svc, contentType, location, requestID)

	// connection and timing
	x.Client = netip.AddrPortFrom(netip.AddrFrom4(clientAddr(client)), c.port)
	x.Server = netip.AddrPortFrom(netip.AddrFrom4(svc.ip), svc.port)
	x.ConnID, x.Seq = c.id, c.seq
	x.Redacted = true // as capture writes it: redacted with the built-in rules
	c.seq++
	g.timing(len(q.Body), len(p.Body), status)
	return x
}

// clientAddr returns the address of client i.
func clientAddr(i int) [4]byte {
	if i < len(testClients) {
		return testClients[i]
	}
	return services[i-len(testClients)].ip
}

// pickOp draws an operation by weight.
func (g *Generator) pickOp() int {
	v := g.rng.IntN(g.cum[len(g.cum)-1])
	lo, hi := 0, len(g.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.cum[mid] > v {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// pickCaller draws who calls o: the client index, and the calling service
// (-1 for the tests).
func (g *Generator) pickCaller(o *op) (client, caller int) {
	callers := o.by
	if callers == 0 {
		callers = byTests
	}
	n := 0
	for m := callers; m != 0; m &= m - 1 {
		n++
	}
	k := g.rng.IntN(n)
	for s := 0; s <= numServices; s++ {
		if callers&(1<<s) == 0 {
			continue
		}
		if k > 0 {
			k--
			continue
		}
		if s == numServices {
			return g.rng.IntN(len(testClients)), -1
		}
		return len(testClients) + s, s
	}
	return 0, -1 // not reached: k < n
}

// open starts a new connection from client in c.
func (g *Generator) open(c *conn, client, caller int) {
	g.opened++
	c.id = strconv.FormatUint(g.opened, 10)
	c.seq = 0
	c.left = 1 + g.rng.IntN(60)
	g.ports[client]++
	if g.ports[client] < 32768 || g.ports[client] > 60999 {
		g.ports[client] = 32768
	}
	c.port = g.ports[client]
	if caller >= 0 {
		c.agent = services[caller].agent
	} else {
		c.agent = testAgents[g.rng.IntN(len(testAgents))]
	}
}

// pickStatus draws the response status of ops[i].
func (g *Generator) pickStatus(i int) int {
	v := g.rng.IntN(10000)
	for _, oc := range g.outcomes[i] {
		if v < oc.chance {
			return oc.status
		}
		v -= oc.chance
	}
	return ops[i].status
}

// expand appends path with its {uuid}, {int} and {date} placeholders
// filled with fresh values.
func (g *Generator) expand(b []byte, path string) []byte {
	for i := 0; i < len(path); i++ {
		if path[i] != '{' {
			b = append(b, path[i])
			continue
		}
		j := i + 1
		for j < len(path) && path[j] != '}' {
			j++
		}
		switch path[i+1 : j] {
		case "uuid":
			b = appendUUID(b, g.rng)
		case "int":
			b = strconv.AppendInt(b, int64(1+g.rng.IntN(9999999)), 10)
		case "date":
			b = appendDate(b, baseDay-g.rng.IntN(500))
		}
		i = j
	}
	return b
}

// query appends the query string of params, those present this time.
func (g *Generator) query(b []byte, params []field) []byte {
	sep := byte('?')
	for i := range params {
		f := &params[i]
		if f.pct != 0 && g.rng.IntN(100) >= int(f.pct) {
			continue
		}
		b = append(b, sep)
		sep = '&'
		b = append(b, f.name...)
		b = append(b, '=')
		switch f.kind {
		case kText:
			for k := range g.between(f.lo, f.hi) {
				if k > 0 {
					b = append(b, '+')
				}
				b = append(b, words[g.rng.IntN(len(words))]...)
			}
		case kInt:
			b = strconv.AppendInt(b, int64(g.between(f.lo, f.hi)), 10)
		case kDate:
			b = appendDate(b, baseDay-g.rng.IntN(90))
		case kUUID:
			b = appendUUID(b, g.rng)
		default:
			b = append(b, f.enum[g.rng.IntN(len(f.enum))]...)
		}
	}
	return b
}

// traceparent returns a W3C trace context header value.
func (g *Generator) traceparent() string {
	b := append(g.tmp[:0], "00-"...)
	b = appendHex(b, g.rng.Uint64(), 16)
	b = appendHex(b, g.rng.Uint64(), 16)
	b = append(b, '-')
	b = appendHex(b, g.rng.Uint64(), 16)
	b = append(b, "-01"...)
	g.tmp = b
	return string(b)
}

// respHeader fills the response's header fields, in the order Go's
// server writes them (sorted).
func (g *Generator) respHeader(o *op, svc *service, contentType, location, requestID string) {
	p := &g.x.Response
	h := p.Header
	ok := p.Status == o.status
	if svc == &services[svcUsers] {
		h = append(h, capture.Field{Name: "Cache-Control", Value: "no-store"})
	} else if svc == &services[svcCatalog] && ok && o.method == "GET" {
		h = append(h, capture.Field{Name: "Cache-Control", Value: "public, max-age=60"})
	}
	if p.Status != http.StatusNoContent {
		h = append(h, capture.Field{Name: "Content-Length", Value: strconv.Itoa(len(p.Body))})
	}
	if p.Body != nil {
		h = append(h, capture.Field{Name: "Content-Type", Value: contentType})
	}
	h = append(h, capture.Field{Name: "Date", Value: g.dateHeader()})
	if location != "" {
		h = append(h, capture.Field{Name: "Location", Value: location})
	}
	if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
		h = append(h, capture.Field{Name: "Retry-After", Value: strconv.Itoa(1 + g.rng.IntN(30))})
	}
	switch {
	case p.Status == 502 || p.Status == 503:
		h = append(h, capture.Field{Name: "Server", Value: "envoy"})
	case svc.server != "":
		h = append(h, capture.Field{Name: "Server", Value: svc.server})
	}
	if ok && o.path == "/login" {
		h = append(h, capture.Field{Name: "Set-Cookie", Value: "session=REDACTED; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax"})
	}
	if ok && o.path == "/logout" {
		h = append(h, capture.Field{Name: "Set-Cookie", Value: "session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"})
	}
	if p.Status == http.StatusUnauthorized {
		h = append(h, capture.Field{Name: "Www-Authenticate", Value: `Bearer realm="api", error="invalid_token"`})
	}
	if svc == &services[svcCatalog] {
		h = append(h, capture.Field{Name: "X-Ratelimit-Remaining", Value: strconv.Itoa(g.rng.IntN(1000))})
	}
	if requestID != "" {
		h = append(h, capture.Field{Name: "X-Request-Id", Value: requestID})
	}
	p.Header = h
}

// dateHeader returns the Date header for the current request's second.
func (g *Generator) dateHeader() string {
	sec := g.elapsed / 1e6
	if sec != g.dateSec {
		g.dateSec = sec
		g.date = g.base.Add(time.Duration(sec) * time.Second).Format(http.TimeFormat)
	}
	return g.date
}

// timing advances the clock to the next request and sets the exchange's
// timing: sending and receiving take longer for larger bodies, and the
// server's wait spreads over two orders of magnitude.
func (g *Generator) timing(reqLen, respLen, status int) {
	r := g.rng
	g.elapsed += int64(20 + r.IntN(1200))
	start := g.elapsed
	send := int64(15 + r.IntN(60) + reqLen/64)
	wait := int64(150+r.IntN(400)) << r.IntN(6)
	if status >= 500 {
		wait *= 4
	}
	receive := int64(10 + r.IntN(40) + respLen/128)
	at := func(us int64) time.Time { return g.base.Add(time.Duration(us) * time.Microsecond) }
	g.x.Timing = capture.Timing{
		RequestStart:  at(start),
		RequestEnd:    at(start + send),
		ResponseStart: at(start + send + wait),
		ResponseEnd:   at(start + send + wait + receive),
	}
}

// between returns a number from lo to hi, both included.
func (g *Generator) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.IntN(hi-lo+1)
}
