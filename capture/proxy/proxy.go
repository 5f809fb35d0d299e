// Package proxy takes the HTTP/1.x requests of tests pointed at it, forwards
// them unchanged to the service and gives one capture.Exchange per request.
//
// It is the capture source for machines where live capture is not allowed:
// a reverse proxy, which needs no privileges. A recorded exchange holds each
// message as its sender sent it: the request as the client sent it to the
// proxy (target, Host and headers as received), the response as the service
// sent it (hop-by-hop headers included, which the proxy itself does not
// pass on). Bodies stream through and are never held whole: at most
// Options.MaxBody bytes of each are kept for the record.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
)

// DefaultMaxBody is the body bytes kept per message when Options.MaxBody is zero.
const DefaultMaxBody = 8 << 20

// DefaultGrace is how long Serve waits for requests in flight when
// Options.Grace is zero.
const DefaultGrace = 10 * time.Second

// maxLogged bounds the upstream errors written to Options.ErrorLog; the
// statistics count every one.
const maxLogged = 10

// Options configure a Proxy.
type Options struct {
	// Upstream is the service: an http or https URL with a host, and
	// optionally a path prefix and a query that every request is joined to.
	Upstream *url.URL
	// MaxBody is the number of body bytes kept per message in the record
	// (decoded bytes, for a content-coded body); longer bodies are
	// truncated in the record and flagged, and forwarded whole. Zero means
	// DefaultMaxBody.
	MaxBody int64
	// Redactor scrubs secrets from every exchange before the sink sees it;
	// nil turns redaction off. Forwarded traffic is never redacted.
	Redactor *redact.Redactor
	// RewriteHost sends the upstream's host in the Host header. By default
	// the client's Host is forwarded unchanged, so that the service builds
	// links and redirects that lead back through the proxy.
	RewriteHost bool
	// Grace bounds how long Serve waits, once told to stop, for requests in
	// flight to complete; those still running then are cut off. Zero means
	// DefaultGrace.
	Grace time.Duration
	// ErrorLog receives the first upstream errors and the HTTP server's
	// errors, one line each; nil discards them.
	ErrorLog *log.Logger
}

// Proxy is a reverse proxy that records every exchange it forwards. It is an
// http.Handler; Serve runs it on a listener. A Proxy is safe for concurrent
// use.
type Proxy struct {
	upstream *url.URL
	maxBody  int64
	redactor *redact.Redactor
	rewrite  bool
	grace    time.Duration
	errLog   *log.Logger
	rp       *httputil.ReverseProxy
	tr       *http.Transport

	nextConn atomic.Uint64
	logged   atomic.Int64
	inflight tracker

	// closing is cancelled when Serve starts to stop: it ends upgraded
	// connections, which the HTTP server does not track.
	closing     context.Context
	stopClosing context.CancelFunc

	// mu serializes the sink and guards everything below it.
	mu     sync.Mutex
	sink   func(*capture.Exchange) error
	stats  *capture.Stats
	err    error         // the sink's first error
	failed chan struct{} // closed when err is set
	done   bool          // Serve has returned: the sink is not called again
}

// New returns a Proxy that forwards to o.Upstream and passes each exchange,
// redacted, to sink once its response has been relayed to the client. Calls
// to sink are serialized, in the order responses complete; an error from
// sink stops Serve, which returns it. A nil sink discards exchanges.
//
// stats (which the Proxy owns until Serve returns; nil counts nowhere)
// counts per upstream address, as the other capture sources do: exchanges,
// body bytes, truncated and incomplete messages, upgrades, and connections
// opened to the upstream. A request the upstream did not answer (it could
// not be reached, or failed before its response began) is not recorded:
// the client gets a 502 from the proxy, and stats count it as unanswered. A
// request whose client left before the answer counts as incomplete.
func New(o Options, stats *capture.Stats, sink func(*capture.Exchange) error) (*Proxy, error) {
	u, err := checkUpstream(o.Upstream)
	if err != nil {
		return nil, err
	}
	if o.MaxBody < 0 {
		return nil, fmt.Errorf("proxy: max body %d is negative", o.MaxBody)
	}
	if stats == nil {
		stats = capture.NewStats()
	}
	p := &Proxy{
		upstream: u,
		maxBody:  o.MaxBody,
		redactor: o.Redactor,
		rewrite:  o.RewriteHost,
		grace:    o.Grace,
		errLog:   o.ErrorLog,
		sink:     sink,
		stats:    stats,
		failed:   make(chan struct{}),
	}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxBody
	}
	if p.grace <= 0 {
		p.grace = DefaultGrace
	}
	if p.errLog == nil {
		p.errLog = log.New(io.Discard, "", 0)
	}
	p.inflight.cond.L = &p.inflight.mu
	p.closing, p.stopClosing = context.WithCancel(context.Background())
	p.tr = &http.Transport{
		// The upstream is reached directly: a tap has no business with
		// HTTP_PROXY, which would also put a second hop in the record.
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		// The client's Accept-Encoding is forwarded as sent, and response
		// bodies reach the client as the service coded them.
		DisableCompression:    true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewriteRequest,
		Transport:    roundTripper{p},
		BufferPool:   &bufferPool{},
		ErrorLog:     p.errLog,
		ErrorHandler: p.upstreamError,
	}
	return p, nil
}

// checkUpstream validates the upstream URL and returns a copy of it.
func checkUpstream(u *url.URL) (*url.URL, error) {
	if u == nil {
		return nil, errors.New("proxy: no upstream URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("proxy: upstream %q: the scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("proxy: upstream %q has no host", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("proxy: upstream %q: credentials in the URL are not supported", u.Redacted())
	}
	c := *u
	c.Fragment, c.RawFragment = "", ""
	return &c, nil
}

// Upstream returns the URL the proxy forwards to.
func (p *Proxy) Upstream() *url.URL {
	c := *p.upstream
	return &c
}

// forwardingHeaders are the proxy headers httputil strips before Rewrite; a
// tap passes the client's own values on and adds none.
var forwardingHeaders = [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// rewriteRequest points the outbound request at the upstream and undoes the
// changes httputil makes that would alter what the service sees.
func (p *Proxy) rewriteRequest(pr *httputil.ProxyRequest) {
	pr.SetURL(p.upstream)
	// httputil drops query parameters it cannot parse (";", bad escapes);
	// the service gets the query exactly as the client sent it.
	q := pr.In.URL.RawQuery
	if p.upstream.RawQuery != "" {
		if q == "" {
			q = p.upstream.RawQuery
		} else {
			q = p.upstream.RawQuery + "&" + q
		}
	}
	pr.Out.URL.RawQuery = q
	pr.Out.URL.ForceQuery = pr.In.URL.ForceQuery && q == ""
	if !p.rewrite {
		pr.Out.Host = pr.In.Host
	}
	for _, h := range forwardingHeaders {
		if v, ok := pr.In.Header[h]; ok {
			pr.Out.Header[h] = v
		}
	}
	// The server fills the inbound request's trailer map when its body
	// ends; the transport sends the outbound one after the body, so
	// sharing the map forwards request trailers.
	pr.Out.Trailer = pr.In.Trailer
}

// upstreamError answers 502 when the upstream could not be reached or
// failed before its response began.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	rec := recordOf(r.Context())
	clientGone := r.Context().Err() != nil
	if rec != nil {
		rec.failed, rec.clientGone = err, clientGone
	}
	if clientGone {
		return // nobody to answer
	}
	if n := p.logged.Add(1); n <= maxLogged {
		p.errLog.Printf("upstream %s: %v", p.upstream.Redacted(), err)
		if n == maxLogged {
			p.errLog.Printf("further upstream errors are counted but not logged")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusBadGateway)
	fmt.Fprintf(w, "specgate proxy: upstream %s did not answer: %v\n", p.upstream.Redacted(), err)
}

// ServeHTTP forwards r to the upstream, relays the response to w and records
// the exchange.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.inflight.add()
	defer p.inflight.done()
	rec := p.newRecord(r)
	out := r.WithContext(rec.context(r.Context()))
	if rec.req != nil {
		out.Body = rec.req
	}
	if rec.upgrade {
		// Upgraded connections outlive the HTTP server's shutdown: end them
		// when the proxy stops.
		ctx, cancel := context.WithCancel(out.Context())
		defer cancel()
		defer context.AfterFunc(p.closing, cancel)()
		out = out.WithContext(ctx)
	}
	defer func() {
		v := recover()
		rec.finish(v != nil)
		if v != nil {
			panic(v) // http.ErrAbortHandler: the server drops the connection
		}
	}()
	p.rp.ServeHTTP(&responseWriter{ResponseWriter: w, rec: rec}, out)
}

// ConnContext gives each client connection its identity (Exchange.ConnID and
// Seq). Serve installs it; set it as http.Server.ConnContext when serving
// the Proxy with a server of your own, or each request is its own
// connection in the record.
func (p *Proxy) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &clientConn{id: p.nextConn.Add(1)})
}

// Serve accepts connections on ln and proxies them until ctx is done or the
// sink fails, then shuts down gracefully: it stops accepting, lets requests
// in flight complete for up to Options.Grace, ends upgraded connections and
// returns once every handler has returned. After Serve returns the sink is
// not called again and stats may be read. A Proxy serves once; Serve closes
// ln. It returns nil when ctx ended it, and the sink's or the listener's
// error otherwise.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:     p,
		ConnContext: p.ConnContext,
		ErrorLog:    p.errLog,
		IdleTimeout: 2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var err error
	stopped := false
	select {
	case <-ctx.Done():
	case <-p.failed:
	case err = <-served:
		stopped = true
	}
	p.stopClosing()
	sctx, cancel := context.WithTimeout(context.Background(), p.grace)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		srv.Close()
	}
	if !stopped {
		err = <-served
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	// Handlers of upgraded connections and of requests cut off by Close
	// return promptly once their connections are gone; the wait is bounded
	// all the same.
	p.inflight.wait(p.grace)

	p.mu.Lock()
	p.done = true
	if p.err != nil {
		err = p.err
	}
	p.mu.Unlock()
	p.tr.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	return nil
}

// emit redacts x, counts it and passes it to the sink.
func (p *Proxy) emit(x *capture.Exchange, newConn bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.err != nil {
		return
	}
	if p.redactor != nil {
		p.redactor.Exchange(x)
		x.Redacted = true
		p.stats.Redacted = p.redactor.Count()
	}
	ss := p.stats.Server(serverKey(x))
	if newConn {
		ss.Connections++
	}
	ss.Exchanges++
	ss.RequestBytes += bodyBytes(&x.Request.WireSize, x.Request.Body)
	ss.ResponseBytes += bodyBytes(&x.Response.WireSize, x.Response.Body)
	if x.Request.Truncated || x.Response.Truncated {
		ss.Truncated++
	}
	if x.Request.Incomplete || x.Response.Incomplete {
		ss.Incomplete++
	}
	if x.Upgrade != "" {
		ss.AddUpgrade(x.Upgrade)
	}
	p.stats.Exchanges++
	if p.sink == nil {
		return
	}
	if err := p.sink(x); err != nil {
		p.err = fmt.Errorf("write exchange: %w", err)
		close(p.failed)
	}
}

// lost counts a request that got no response from the upstream: unanswered
// when the upstream failed, incomplete when the client went away first.
func (p *Proxy) lost(server string, clientGone, newConn bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	ss := p.stats.Server(server)
	if newConn {
		ss.Connections++
	}
	if clientGone {
		ss.Incomplete++
	} else {
		ss.Unanswered++
	}
}

// serverKey names the server of x in the statistics, as capture sources do.
func serverKey(x *capture.Exchange) string {
	if x.Server.IsValid() {
		return x.Server.String()
	}
	return x.Request.Host
}

// bodyBytes is the number of body bytes a message carried on the wire, or
// the bytes recorded when that is unknown.
func bodyBytes(wire *int64, body []byte) uint64 {
	if *wire >= 0 {
		return uint64(*wire)
	}
	return uint64(len(body))
}

// upstreamAddr is the upstream's host and port, for statistics of requests
// that never reached a connection.
func (p *Proxy) upstreamAddr() string {
	h := p.upstream.Host
	if p.upstream.Port() != "" {
		return h
	}
	if p.upstream.Scheme == "https" {
		return net.JoinHostPort(strings.Trim(h, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(h, "[]"), "80")
}

// roundTripper records the upstream's response as it arrives, before
// httputil removes its hop-by-hop headers.
type roundTripper struct{ p *Proxy }

// RoundTrip implements http.RoundTripper.
func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.p.tr.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if rec := recordOf(r.Context()); rec != nil {
		rec.response(res)
	}
	return res, nil
}

// bufferPool reuses httputil's copy buffers.
type bufferPool struct{ pool sync.Pool }

const copyBuffer = 32 << 10

// Get implements httputil.BufferPool.
func (b *bufferPool) Get() []byte {
	if v, ok := b.pool.Get().(*[copyBuffer]byte); ok {
		return v[:]
	}
	return make([]byte, copyBuffer)
}

// Put implements httputil.BufferPool.
func (b *bufferPool) Put(buf []byte) {
	if len(buf) == copyBuffer {
		b.pool.Put((*[copyBuffer]byte)(buf))
	}
}

// tracker counts the handlers running.
type tracker struct {
	mu   sync.Mutex
	cond sync.Cond
	n    int
}

func (t *tracker) add() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		t.cond.Broadcast()
	}
	t.mu.Unlock()
}

// wait returns when no handler runs, or after d.
func (t *tracker) wait(d time.Duration) {
	timer := time.AfterFunc(d, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	t.mu.Lock()
	for t.n > 0 && time.Now().Before(deadline) {
		t.cond.Wait()
	}
	t.mu.Unlock()
}
