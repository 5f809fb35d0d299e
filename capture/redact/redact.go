// Package redact takes captured exchanges (or headers, URLs, bodies, text) before specgate writes them,
// and gives them back with every secret value replaced by [Marker], names and structure intact.
//
// Names stay (header, cookie, query and JSON key names, and the
// authentication scheme), since inferring an API needs them; values go:
// the values of credential headers, cookies and sensitive keys, and
// anything shaped like a secret wherever it appears (vendor API tokens,
// JSON Web Tokens, PEM private keys, payment card numbers, passwords in
// URLs). Untouched bytes are kept exactly, and the same input always
// gives the same output.
package redact

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/specgate/specgate/capture"
)

// Marker replaces every redacted value. It is safe in URLs and JSON and
// does not look like a secret itself, so redacting twice changes nothing.
const Marker = "REDACTED"

// Options adds names to the built-in lists.
type Options struct {
	// ExtraHeaders names headers whose whole value is a secret
	// (compared case-insensitively).
	ExtraHeaders []string
	// ExtraKeys names query, form, multipart and JSON keys whose values
	// are secrets, compared after lowercasing and dropping '-', '_', '.',
	// spaces and brackets: "tenant-key" also matches "tenant_key",
	// "tenantKey" and "TENANT.KEY".
	ExtraKeys []string
}

// Redactor redacts secrets. It is safe for concurrent use; the zero value
// redacts with the built-in lists only.
type Redactor struct {
	extraHeaders map[string]struct{}
	extraKeys    map[string]struct{}
	bufs         sync.Pool // *[]byte scratch
	memos        sync.Pool // *memo
	n            atomic.Uint64
}

// New returns a Redactor that also treats the names in o as sensitive.
func New(o Options) *Redactor {
	r := &Redactor{}
	for _, h := range o.ExtraHeaders {
		if h = strings.TrimSpace(h); h != "" {
			if r.extraHeaders == nil {
				r.extraHeaders = make(map[string]struct{})
			}
			r.extraHeaders[strings.ToLower(h)] = struct{}{}
		}
	}
	for _, k := range o.ExtraKeys {
		var buf [maxKey]byte
		n, _ := normKey(&buf, strings.TrimSpace(k))
		if len(n) == 0 {
			continue
		}
		if r.extraKeys == nil {
			r.extraKeys = make(map[string]struct{})
		}
		r.extraKeys[string(n)] = struct{}{}
	}
	return r
}

// Count returns the number of values redacted so far.
func (r *Redactor) Count() uint64 { return r.n.Load() }

// count adds n redactions to the total. Nothing redacted touches nothing,
// so that goroutines redacting clean traffic do not contend for the
// counter.
func (r *Redactor) count(n uint64) {
	if n > 0 {
		r.n.Add(n)
	}
}

// Exchange redacts e in place: the request target and host, both halves'
// headers, trailers and bodies, and the response reason.
func (r *Redactor) Exchange(e *capture.Exchange) {
	if e == nil {
		return
	}
	mc := r.getMemo()
	q := &e.Request
	q.Body = r.messageBody(q.Header, q.Decoded, q.Body, mc)
	q.Target = r.Target(q.Target)
	q.Host = r.host(q.Host)
	q.Header = r.header(q.Header, mc)
	q.Trailer = r.header(q.Trailer, mc)
	p := &e.Response
	p.Body = r.messageBody(p.Header, p.Decoded, p.Body, mc)
	p.Reason = r.Text(p.Reason)
	p.Header = r.header(p.Header, mc)
	p.Trailer = r.header(p.Trailer, mc)
	r.putMemo(mc)
}

// messageBody redacts a message body by its Content-Type; a body that
// still carries a content coding specgate did not remove is opaque bytes,
// scanned for secret shapes only.
func (r *Redactor) messageBody(h capture.Header, decoded string, b []byte, mc *memo) []byte {
	if len(b) == 0 {
		return b
	}
	ct, ce := contentHeaders(h)
	if ce = strings.TrimSpace(ce); ce != "" && decoded == "" && !strings.EqualFold(ce, "identity") {
		out, n := scrubbed(r, b, modeBinary)
		r.count(n)
		return out
	}
	out, n := r.body(ct, b, 0, mc)
	r.count(n)
	return out
}

// contentHeaders returns the values of the first Content-Type and the
// first Content-Encoding field of h, looking at each field once.
func contentHeaders(h capture.Header) (ct, ce string) {
	var haveCT, haveCE bool
	for _, f := range h {
		// Both names are 12 or 16 bytes long and start with "content-".
		if len(f.Name) != 12 && len(f.Name) != 16 || f.Name[7] != '-' {
			continue
		}
		switch {
		case !haveCT && strings.EqualFold(f.Name, "Content-Type"):
			ct, haveCT = f.Value, true
		case !haveCE && strings.EqualFold(f.Name, "Content-Encoding"):
			ce, haveCE = f.Value, true
		}
		if haveCT && haveCE {
			break
		}
	}
	return ct, ce
}

// host redacts secret shapes in a host name, which holds no key=value
// or key: value text ("token-service:8080" is a host and port).
func (r *Redactor) host(h string) string {
	out, n := scrubbed(r, h, modeBinary)
	r.count(n)
	return out
}

// Text returns s with secret-shaped substrings and values assigned to
// sensitive names ("password=...", "token: ...") replaced by Marker. It
// suits log lines, messages and any other free text.
func (r *Redactor) Text(s string) string {
	out, n := scrubbed(r, s, modeText)
	r.count(n)
	return out
}

// splicer builds a copy of src with spans replaced, lazily: while nothing
// is replaced it holds no copy, and result returns src itself.
type splicer[T text] struct {
	src  T
	out  []byte
	last int    // src is copied into out up to here
	n    uint64 // replacements made
}

// replace replaces src[start:end] by repl. Spans must come in order;
// a span overlapping an earlier one is ignored.
func (sp *splicer[T]) replace(start, end int, repl string) { splice(sp, start, end, repl, 1) }

// replaceBytes replaces src[start:end] by repl, which stands for n
// redactions.
func (sp *splicer[T]) replaceBytes(start, end int, repl []byte, n uint64) {
	splice(sp, start, end, repl, n)
}

// splice does the work of replace and replaceBytes.
func splice[T, R text](sp *splicer[T], start, end int, repl R, n uint64) {
	if start < sp.last {
		return
	}
	if sp.out == nil {
		sp.out = make([]byte, 0, len(sp.src)+len(repl))
	}
	sp.out = append(sp.out, sp.src[sp.last:start]...)
	sp.out = append(sp.out, repl...)
	sp.last = end
	sp.n += n
}

// result returns the spliced copy, or src when nothing was replaced.
func (sp *splicer[T]) result() T {
	if sp.out == nil {
		return sp.src
	}
	sp.out = append(sp.out, sp.src[sp.last:]...)
	sp.last = len(sp.src)
	return T(sp.out)
}

// scrubbed returns s with every secret found under mode m replaced by
// Marker (s itself when there is none), and the number replaced.
func scrubbed[T text](r *Redactor, s T, m mode) (T, uint64) {
	sp := splicer[T]{src: s}
	scrub(r, &sp, 0, len(s), m)
	return sp.result(), sp.n
}

// scrub replaces every secret found in sp.src[lo:hi] by Marker.
func scrub[T text](r *Redactor, sp *splicer[T], lo, hi int, m mode) {
	s := sp.src[lo:hi]
	for from := 0; from < len(s); {
		a, b := nextSecret(r, s, from, m)
		if a < 0 {
			return
		}
		if b <= from {
			from++
			continue
		}
		if !equalsMarker(s[a:b]) {
			sp.replace(lo+a, lo+b, Marker)
		}
		from = b
	}
}

// found reports whether s holds a secret under mode m.
func found[T text](r *Redactor, s T, m mode) bool {
	for from := 0; from < len(s); {
		a, b := nextSecret(r, s, from, m)
		if a < 0 {
			return false
		}
		if b > from && !equalsMarker(s[a:b]) {
			return true
		}
		from = max(b, from+1)
	}
	return false
}

// getBuf returns a scratch buffer from r's pool.
func (r *Redactor) getBuf() *[]byte {
	if p, ok := r.bufs.Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 0, 1024)
	return &b
}

// putBuf returns a scratch buffer to r's pool; large ones are dropped.
func (r *Redactor) putBuf(p *[]byte) {
	if cap(*p) > 1<<16 {
		return
	}
	*p = (*p)[:0]
	r.bufs.Put(p)
}
