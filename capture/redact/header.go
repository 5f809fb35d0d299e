package redact

import (
	"strings"

	"github.com/specgate/specgate/capture"
)

// Header returns h with secret values redacted; h itself is not modified
// (it is returned as is when nothing needed redacting). Names are kept.
//
// Authorization and Proxy-Authorization keep their scheme ("Bearer
// REDACTED"); Cookie keeps cookie names and Set-Cookie the cookie name and
// attributes; a header whose name, lowercased with '-' and '_' dropped,
// contains apikey, token, secret, session, password, passwd, credential,
// signature, auth, csrf, xsrf, cookie, privatekey, accesskey,
// subscriptionkey or jwt (X-Api-Key, X-Auth-Token, X-CSRF-Token) loses its
// whole value, as do the headers in Options.ExtraHeaders. Challenges
// (WWW-Authenticate, Proxy-Authenticate) and CORS headers
// (Access-Control-*) carry no credentials and are only scanned. URLs in
// Location, Content-Location and Referer are redacted as by Target; every
// other value is redacted as by Text.
func (r *Redactor) Header(h capture.Header) capture.Header {
	if len(h) == 0 {
		return h
	}
	mc := r.getMemo()
	out := r.header(h, mc)
	r.putMemo(mc)
	return out
}

// header is Header with the caller's memo.
func (r *Redactor) header(h capture.Header, mc *memo) capture.Header {
	var out capture.Header
	var n uint64
	for i, f := range h {
		v, k := r.headerValue(f.Name, f.Value, mc)
		if k == 0 {
			continue
		}
		if out == nil {
			out = h.Clone()
		}
		out[i].Value = v
		n += k
	}
	if out == nil {
		return h
	}
	r.count(n)
	return out
}

// maxName bounds the header names classified without allocating.
const maxName = 64

// headerRule says how the value of a header is redacted.
type headerRule uint8

const (
	ruleText          headerRule = iota // as Text
	ruleWhole                           // the whole value is a secret
	ruleAuthorization                   // keep the scheme, redact the credentials
	ruleCookie                          // keep cookie names
	ruleSetCookie                       // keep the cookie name and attributes
	ruleTarget                          // a URL, as Target
	ruleShapes                          // secret shapes only (host names, pseudo-headers)
)

// headerValue returns the redacted value of one field and the number of
// redactions made. A value of a header whose values recur (User-Agent,
// Content-Type, Host) that the text or shapes rule finds nothing in is
// remembered in mc, and not scanned again.
func (r *Redactor) headerValue(name, value string, mc *memo) (string, uint64) {
	if value == "" {
		return value, 0
	}
	sp := splicer[string]{src: value}
	rule, recurring := r.headerRule(name)
	switch rule {
	case ruleWhole:
		return whole(value)
	case ruleAuthorization:
		return authorization(r, value)
	case ruleCookie:
		cookies(&sp, 0, len(value))
	case ruleSetCookie:
		setCookies(r, &sp)
	case ruleTarget:
		scrubTarget(r, &sp)
	default:
		mode, tag := modeText, tagText
		if rule == ruleShapes {
			mode, tag = modeBinary, tagShapes
		}
		if !recurring {
			scrub(r, &sp, 0, len(value), mode)
			break
		}
		if _, ok := memoGet(&mc.values, tag, value); ok {
			return value, 0
		}
		scrub(r, &sp, 0, len(value), mode)
		if sp.n == 0 {
			memoPut(&mc.values, tag, value, 0)
		}
	}
	return sp.result(), sp.n
}

// headerRule returns the rule for the header name (Options.ExtraHeaders
// first, then the frequent names that need no classifying, then
// nameRule), and whether the name is one whose values recur from one
// message to the next.
func (r *Redactor) headerRule(name string) (rule headerRule, recurring bool) {
	if len(r.extraHeaders) > 0 {
		var lb [maxName]byte
		lower := lb[:0]
		if len(name) <= maxName {
			for i := 0; i < len(name); i++ {
				lower = append(lower, toLower(name[i]))
			}
		} else {
			lower = []byte(strings.ToLower(name))
		}
		if _, ok := r.extraHeaders[string(lower)]; ok {
			return ruleWhole, false
		}
	} else if common, recurring := commonHeader(name); common {
		return ruleText, recurring
	}
	rule = nameRule(name)
	return rule, rule == ruleShapes
}

// commonHeader reports whether name is one of the most frequent header
// names, spelled as HTTP/1.1 peers (canonical case) or HTTP/2 peers and
// HAR exporters (lower case) send it, whose rule is ruleText; it spares
// them the normalising and word search of nameRule. It also reports
// whether the header's values recur (Accept, User-Agent) rather than
// change with every message (Date, Content-Length).
func commonHeader(name string) (common, recurring bool) {
	switch name {
	case "Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges",
		"Cache-Control", "Connection", "Content-Encoding", "Content-Language",
		"Content-Type", "Keep-Alive", "Origin", "Pragma", "Server", "Transfer-Encoding",
		"User-Agent", "Vary", "Via", "X-Forwarded-Proto",
		"accept", "accept-encoding", "accept-language", "accept-ranges",
		"cache-control", "connection", "content-encoding", "content-language",
		"content-type", "keep-alive", "origin", "pragma", "server", "transfer-encoding",
		"user-agent", "vary", "via", "x-forwarded-proto":
		return true, true
	case "Age", "Content-Length", "Date", "Etag", "ETag", "Expires", "If-Modified-Since",
		"If-None-Match", "Last-Modified", "X-Forwarded-For", "X-Request-Id", "X-Request-ID",
		"age", "content-length", "date", "etag", "expires", "if-modified-since",
		"if-none-match", "last-modified", "x-forwarded-for", "x-request-id":
		return true, false
	}
	return false, false
}

// nameRule returns the rule for a header name by its normal form
// (lowercased, '-' and '_' dropped).
func nameRule(name string) headerRule {
	var nb [maxName]byte
	norm := nb[:0]
	for i := 0; i < len(name) && len(norm) < maxName; i++ {
		if c := name[i]; c != '-' && c != '_' {
			norm = append(norm, toLower(c))
		}
	}
	switch string(norm) {
	case "authorization", "proxyauthorization":
		return ruleAuthorization
	case "cookie":
		return ruleCookie
	case "setcookie", "setcookie2":
		return ruleSetCookie
	case "wwwauthenticate", "proxyauthenticate":
		return ruleText
	case "location", "contentlocation", "referer", "referrer", ":path":
		return ruleTarget
	case "host", ":authority", ":method", ":scheme", ":status", ":protocol":
		return ruleShapes
	}
	if has(norm, 0, "accesscontrol") || !sensitiveHeader(norm) {
		return ruleText
	}
	return ruleWhole
}

func toLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// sensitiveHeader reports whether a normalised header name holds one of
// the header words. The words are grouped by first byte so that a name is
// walked once.
func sensitiveHeader(norm []byte) bool {
	for i, c := range norm {
		switch c {
		case 'a':
			if has(norm, i, "apikey") || has(norm, i, "auth") || has(norm, i, "accesskey") {
				return true
			}
		case 'c':
			if has(norm, i, "credential") || has(norm, i, "csrf") || has(norm, i, "cookie") {
				return true
			}
		case 'j':
			if has(norm, i, "jwt") {
				return true
			}
		case 'p':
			if has(norm, i, "password") || has(norm, i, "passwd") || has(norm, i, "privatekey") {
				return true
			}
		case 's':
			if has(norm, i, "secret") || has(norm, i, "session") || has(norm, i, "signature") || has(norm, i, "subscriptionkey") {
				return true
			}
		case 't':
			if has(norm, i, "token") {
				return true
			}
		case 'x':
			if has(norm, i, "xsrf") {
				return true
			}
		}
	}
	return false
}

// whole redacts an entire value.
func whole(v string) (string, uint64) {
	if v == Marker || strings.TrimSpace(v) == "" {
		return v, 0
	}
	return Marker, 1
}

// authorization keeps the scheme of an Authorization value and redacts
// its credentials, parameters and all ("Digest REDACTED").
func authorization(r *Redactor, v string) (string, uint64) {
	t := strings.TrimSpace(v)
	sp := strings.IndexAny(t, " \t")
	if sp < 0 {
		if isScheme(t) {
			return v, 0 // a scheme without credentials
		}
		return whole(v)
	}
	scheme, rest := t[:sp], strings.TrimSpace(t[sp:])
	if !plausibleScheme(r, scheme) {
		return whole(v)
	}
	if rest == Marker {
		return v, 0
	}
	return scheme + " " + Marker, 1
}

// plausibleScheme reports whether w can be shown as an authentication
// scheme: a short word that is not itself secret-shaped.
func plausibleScheme(r *Redactor, w string) bool {
	if len(w) == 0 || len(w) > 24 || !is(w[0], cUpper|cLower) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !is(w[i], cB64url) && w[i] != '.' {
			return false
		}
	}
	return !found(r, w, modeText)
}

// setCookies redacts Set-Cookie values, keeping each cookie's name and
// attributes. Several cookies folded into one value (as HAR exporters do,
// joined by newlines or commas) are each redacted.
func setCookies(r *Redactor, sp *splicer[string]) {
	s := sp.src
	for i := 0; i < len(s); {
		e := i
		for e < len(s) && s[e] != '\n' && !(s[e] == ',' && cookieStartAt(s, e+1)) {
			e++
		}
		semi := i + strings.IndexByte(s[i:e], ';')
		if semi < i {
			semi = e
		}
		cookies(sp, i, semi)
		scrub(r, sp, semi, e, modeText)
		i = e + 1
	}
}

// cookieStartAt reports whether a "name=" pair starts at j (after spaces).
func cookieStartAt(s string, j int) bool {
	for j < len(s) && s[j] == ' ' {
		j++
	}
	k := j
	for k < len(s) && s[k] > ' ' && s[k] < 0x7f && !strings.ContainsRune(";,=\"", rune(s[k])) {
		k++
	}
	return k > j && k < len(s) && s[k] == '='
}

// cookies redacts the values of a Cookie list ("a=1; b=2") in
// sp.src[lo:hi], keeping the names.
func cookies(sp *splicer[string], lo, hi int) {
	s := sp.src
	for i := lo; i < hi; {
		e := i
		for e < hi && s[e] != ';' {
			e++
		}
		a := i
		for a < e && (s[a] == ' ' || s[a] == '\t') {
			a++
		}
		if eq := strings.IndexByte(s[a:e], '='); eq >= 0 {
			a += eq + 1
		}
		b := e
		for b > a && (s[b-1] == ' ' || s[b-1] == '\t') {
			b--
		}
		if b > a && s[a:b] != Marker {
			sp.replace(a, b, Marker)
		}
		i = e + 1
	}
}
