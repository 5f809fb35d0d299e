package infer

import (
	"bytes"
	"encoding/json"
	"mime"
	"net"
	"net/netip"
	"net/textproto"
	"net/url"
	"sort"
	"strings"

	"github.com/specgate/specgate/capture"
)

// Observe records one exchange. It does not keep e or anything in it.
func (in *Inferrer) Observe(e *capture.Exchange) {
	in.stats.Exchanges++
	if e.Response.Status == 0 {
		in.stats.Unanswered++
		return
	}
	method := methodKey(e.Request.Method)
	path, rawQuery, ok := splitTarget(e.Request.Target)
	if method == "" || !ok {
		in.stats.Unsupported++
		return
	}
	svc := in.service(ServiceName(e))
	po, values := svc.trie.Observe(path)
	if po == nil {
		in.stats.Unsupported++ // a path of more segments than templates hold
		return
	}
	// Requests in origin form to the Host seen last have its server URL.
	// A service the platform named (Kubernetes) is reached at addresses
	// the cluster allocates anew each time (ClusterIPs, node IPs): only
	// host names become servers there, so that the document stays the same
	// from one cluster to the next.
	if t, h := e.Request.Target, e.Request.Host; h == "" || h != svc.lastHost || t == "" || t[0] != '/' {
		if u := serverURL(e); e.Service == "" || !addressHost(u) {
			svc.servers[u] = struct{}{}
		}
		if h != "" && t != "" && t[0] == '/' {
			svc.lastHost = h
		}
	}
	op := po.op(method)
	op.samples++
	for _, v := range values {
		op.pathParam(v.Index).ObserveText(v.Value, 1)
	}

	// A request refused as invalid (4xx) says what the operation returns
	// then, not what it takes: negative tests send what the API rejects.
	status := e.Response.Status
	accepted := status < 400 || status >= 500
	if accepted {
		op.accepted++
	}
	var creds []string
	if rawQuery != "" {
		creds = in.observeQuery(op, rawQuery, accepted, creds)
	}
	creds = in.observeHeaders(op, e.Request.Header, accepted, creds)
	in.observeSecurity(op, creds, status)

	r := &e.Request
	if accepted && (len(r.Body) > 0 || r.WireSize > 0 || r.Truncated) {
		op.bodies++
		in.observeBody(op.body, r.Header.Get("Content-Type"), r.Body, r.Truncated || r.Incomplete)
	}
	resp := op.response(statusKey(e.Response.Status))
	resp.samples++
	s := &e.Response
	if method != "head" && (len(s.Body) > 0 || s.WireSize > 0 || s.Truncated) {
		in.observeBody(resp.content, s.Header.Get("Content-Type"), s.Body, s.Truncated || s.Incomplete)
	}
	op.callers.add(in.opts.Caller(e))
}

// methodKey returns the OpenAPI name of an HTTP method, or "" for a
// method OpenAPI 3.0 cannot describe.
func methodKey(m string) string {
	switch m {
	case "GET":
		return "get"
	case "PUT":
		return "put"
	case "POST":
		return "post"
	case "DELETE":
		return "delete"
	case "OPTIONS":
		return "options"
	case "HEAD":
		return "head"
	case "PATCH":
		return "patch"
	case "TRACE":
		return "trace"
	}
	return ""
}

// splitTarget returns the path and raw query of a request-target in
// origin or absolute form; ok is false for targets that are not paths.
func splitTarget(t string) (path, rawQuery string, ok bool) {
	if t == "" || t == "*" {
		return "", "", false
	}
	if t[0] != '/' {
		i := strings.Index(t, "://")
		if i < 0 {
			return "", "", false
		}
		t = t[i+3:]
		j := strings.IndexAny(t, "/?")
		if j < 0 {
			return "/", "", true
		}
		t = t[j:]
		if t[0] == '?' {
			t = "/" + t
		}
	}
	if i := strings.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	path, rawQuery, _ = strings.Cut(t, "?")
	return path, rawQuery, true
}

// serverURL returns the server URL of e: scheme and host.
// addressHost reports whether a server URL names its host by an IP
// address (or has no host name at all).
func addressHost(u string) bool {
	_, host, _ := strings.Cut(u, "://")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	_, err := netip.ParseAddr(host)
	return err == nil || host == ""
}

func serverURL(e *capture.Exchange) string {
	u := e.URL()
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	j := strings.IndexAny(u[i+3:], "/?#")
	if j < 0 {
		return strings.ToLower(u)
	}
	return strings.ToLower(u[:i+3+j])
}

// observeQuery records the query parameters; credentials go to creds.
func (in *Inferrer) observeQuery(op *opObs, rawQuery string, record bool, creds []string) []string {
	var names []string
	vals := map[string][]string{}
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || k == "" {
			continue
		}
		if _, seen := vals[k]; !seen {
			names = append(names, k)
		}
		vals[k] = append(vals[k], v)
	}
	for _, k := range names {
		if in.secrets.SecretKey(k) && isComponentName(k) {
			creds = append(creds, "query."+k)
			continue
		}
		if !record {
			continue
		}
		p := op.param("query", k)
		p.present++
		p.shape.ObserveTexts(vals[k])
	}
	return creds
}

// ignoredHeaders are request headers that are not parameters of an API:
// those HTTP itself defines (hop-by-hop, content negotiation, caching,
// conditionals), and those proxies, browsers and tracers add.
var ignoredHeaders = map[string]bool{
	"Accept": true, "Accept-Charset": true, "Accept-Encoding": true, "Accept-Language": true,
	"Accept-Datetime": true, "Access-Control-Request-Headers": true, "Access-Control-Request-Method": true,
	"Cache-Control": true, "Connection": true, "Content-Encoding": true, "Content-Language": true,
	"Content-Length": true, "Content-Md5": true, "Content-Type": true, "Date": true, "Dnt": true,
	"Expect": true, "Forwarded": true, "From": true, "Host": true, "If-Match": true,
	"If-Modified-Since": true, "If-None-Match": true, "If-Range": true, "If-Unmodified-Since": true,
	"Keep-Alive": true, "Max-Forwards": true, "Origin": true, "Pragma": true, "Priority": true,
	"Proxy-Authorization": true, "Proxy-Connection": true, "Range": true, "Referer": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Upgrade-Insecure-Requests": true, "User-Agent": true, "Via": true, "Warning": true,
	"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Port": true,
	"X-Forwarded-Proto": true, "X-Forwarded-Prefix": true, "X-Real-Ip": true,
	"X-Requested-With": true, "X-Request-Id": true, "X-Correlation-Id": true,
	"Traceparent": true, "Tracestate": true, "Baggage": true, "Sentry-Trace": true,
	"Uber-Trace-Id": true, "X-Amzn-Trace-Id": true, "X-Cloud-Trace-Context": true,
	"X-B3-Traceid": true, "X-B3-Spanid": true, "X-B3-Parentspanid": true, "X-B3-Sampled": true,
	"X-B3-Flags": true, "B3": true, "X-Datadog-Trace-Id": true, "X-Datadog-Parent-Id": true,
	"X-Datadog-Sampling-Priority": true, "X-Datadog-Origin": true, "X-Envoy-Expected-Rq-Timeout-Ms": true,
	"X-Envoy-Attempt-Count": true, "X-Envoy-Internal": true, "X-Envoy-Original-Path": true,
	"Http2-Settings": true, "Alt-Used": true, "Early-Data": true, "Cdn-Loop": true,
}

// observeHeaders records header and cookie parameters when record is
// set; credentials go to creds as security scheme names.
func (in *Inferrer) observeHeaders(op *opObs, h capture.Header, record bool, creds []string) []string {
	for i, f := range h {
		name := f.Name
		if name == "" || name[0] == ':' {
			continue // HTTP/2 pseudo-headers, as HAR files of h2 traffic carry them
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case canon == "Authorization":
			creds = append(creds, authScheme(f.Value))
			continue
		case canon == "Cookie":
			creds = in.observeCookies(op, f.Value, record, creds)
			continue
		case ignoredHeaders[canon] || strings.HasPrefix(canon, "Sec-") || strings.HasPrefix(canon, "X-B3-"):
			continue
		case in.secrets.SecretHeader(name) && isComponentName(canon):
			creds = append(creds, "header."+canon)
			continue
		}
		if !record || repeatedBefore(h[:i], canon) {
			continue
		}
		p := op.param("header", canon)
		p.present++
		if vs := h.Values(name); len(vs) > 1 {
			p.shape.ObserveTexts(vs)
		} else {
			p.shape.ObserveText(f.Value, 1)
		}
	}
	return creds
}

// repeatedBefore reports whether a field named canon is among h.
func repeatedBefore(h capture.Header, canon string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, canon) {
			return true
		}
	}
	return false
}

// authScheme names the security scheme of an Authorization value:
// "bearerAuth", "basicAuth", "<scheme>Auth" for other HTTP schemes, and
// "header.Authorization" for a bare credential.
func authScheme(v string) string {
	v = strings.TrimSpace(v)
	scheme, _, found := strings.Cut(v, " ")
	if !found || !isComponentName(scheme) || scheme == "REDACTED" {
		return "header.Authorization"
	}
	switch s := strings.ToLower(scheme); s {
	case "bearer":
		return "bearerAuth"
	case "basic":
		return "basicAuth"
	default:
		return s + "Auth"
	}
}

// observeCookies records the cookies of one Cookie header; session and
// other secret cookies are credentials.
func (in *Inferrer) observeCookies(op *opObs, v string, record bool, creds []string) []string {
	seen := map[string]bool{}
	for v != "" {
		var c string
		c, v, _ = strings.Cut(v, ";")
		name, val, _ := strings.Cut(strings.TrimSpace(c), "=")
		if name == "" || seen[name] || !isToken(name) {
			continue
		}
		seen[name] = true
		if in.secrets.SecretKey(name) && isComponentName(name) {
			creds = append(creds, "cookie."+name)
			continue
		}
		if !record {
			continue
		}
		p := op.param("cookie", name)
		p.present++
		p.shape.ObserveText(strings.Trim(val, `"`), 1)
	}
	return creds
}

// observeSecurity records the credentials a request carried as one
// security requirement. A request without credentials that was refused
// (any 4xx: 401 and 403, and a negative test's 400) is not evidence that
// none are needed.
func (in *Inferrer) observeSecurity(op *opObs, creds []string, status int) {
	if len(creds) == 0 {
		if status >= 400 && status < 500 {
			return
		}
		op.security[""] = struct{}{}
		return
	}
	sort.Strings(creds)
	key := creds[0]
	for i := 1; i < len(creds); i++ {
		if creds[i] != creds[i-1] {
			key += reqSep + creds[i]
		}
	}
	op.security[key] = struct{}{}
}

// reqSep joins the scheme names of one security requirement.
const reqSep = " "

// isComponentName reports whether s may name an OpenAPI component, as a
// security scheme named after it must.
func isComponentName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// mediaKind says how a body of a media type is described.
type mediaKind struct {
	name string // normalised media type
	kind int
}

const (
	kindOpaque = iota // described by its media type alone
	kindJSON
	kindForm
)

// maxMediaCache bounds the remembered Content-Type values.
const maxMediaCache = 256

// mediaType parses a Content-Type value, remembering recent ones.
func (in *Inferrer) mediaType(ct string) mediaKind {
	if mk, ok := in.media[ct]; ok {
		return mk
	}
	mk := parseMediaType(ct)
	if len(in.media) >= maxMediaCache {
		clear(in.media)
	}
	in.media[ct] = mk
	return mk
}

func parseMediaType(ct string) mediaKind {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
		if !strings.Contains(mt, "/") || strings.ContainsAny(mt, " \t\"") {
			return mediaKind{name: "application/octet-stream"}
		}
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json":
		return mediaKind{mt, kindJSON}
	case mt == "application/x-www-form-urlencoded":
		return mediaKind{mt, kindForm}
	}
	return mediaKind{name: mt}
}

// observeBody records one body under its media type. A body without a
// Content-Type that holds JSON is taken for JSON.
func (in *Inferrer) observeBody(m map[string]*bodyObs, ct string, body []byte, cut bool) {
	var mk mediaKind
	if ct == "" {
		mk = mediaKind{name: "application/octet-stream"}
		if !cut && looksJSON(body) {
			mk = mediaKind{"application/json", kindJSON}
		}
	} else {
		mk = in.mediaType(ct)
	}
	b := bodyOf(m, mk.name, mk.kind != kindOpaque, &in.opts.Schema)
	b.samples++
	if mk.kind == kindOpaque {
		return
	}
	if cut {
		in.stats.Truncated++
		return
	}
	switch mk.kind {
	case kindJSON:
		if err := b.shape.ObserveJSON(body); err != nil {
			in.stats.Unparsed++
		}
	case kindForm:
		q, err := url.ParseQuery(string(body))
		if err != nil {
			in.stats.Unparsed++
			return
		}
		b.shape.ObserveForm(q)
	}
}

func looksJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b)
}
