package http1

import (
	"bytes"
	"strings"

	"github.com/specgate/specgate/capture"
)

// msgHead is a parsed start line and header block with what framing needs.
type msgHead struct {
	isReq  bool
	method string
	target string
	host   string
	proto  string
	status int
	reason string
	header capture.Header

	cl          int64 // Content-Length, -1 when absent
	clBad       bool  // Content-Length unreadable or contradictory
	chunked     bool  // Transfer-Encoding ends in chunked
	teOther     bool  // Transfer-Encoding present without a final chunked
	codings     string
	upgrade     string
	connUpgrade bool
}

// text is what the start-line checks read: wire bytes or a string.
type text interface{ ~string | ~[]byte }

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func isCTL(c byte) bool { return c < 0x20 || c == 0x7f }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' || c == '-' || c == '_' }

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

func hasPrefix[T text](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

// isVersion reports whether v is "HTTP/1.x".
func isVersion[T text](v T) bool {
	return len(v) == 8 && hasPrefix(v, "HTTP/1.") && isDigit(v[7])
}

// requestLine checks "method SP target SP HTTP/1.x" and returns the
// positions of the first and last spaces. The target may hold stray spaces
// (some clients send them unescaped) but no control bytes.
func requestLine[T text](line T) (sp1, sp2 int, ok bool) {
	sp1, sp2 = -1, -1
	for i := 0; i < len(line); i++ {
		if line[i] == ' ' {
			if sp1 < 0 {
				sp1 = i
			}
			sp2 = i
		} else if sp1 < 0 && !isTchar(line[i]) {
			return 0, 0, false
		}
	}
	if sp1 <= 0 || sp2 <= sp1 || !isVersion(line[sp2+1:]) {
		return 0, 0, false
	}
	target := false
	for i := sp1 + 1; i < sp2; i++ {
		c := line[i]
		if isCTL(c) {
			return 0, 0, false
		}
		if c != ' ' {
			target = true
		}
	}
	return sp1, sp2, target
}

// statusLine checks "HTTP/1.x SP ddd [SP reason]" and returns the code.
func statusLine[T text](line T) (int, bool) {
	if len(line) < 12 || !isVersion(line[:8]) || line[8] != ' ' {
		return 0, false
	}
	code := 0
	for i := 9; i < 12; i++ {
		if !isDigit(line[i]) {
			return 0, false
		}
		code = code*10 + int(line[i]-'0')
	}
	if code < 100 {
		return 0, false
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return 0, false
		}
		for i := 13; i < len(line); i++ {
			if c := line[i]; isCTL(c) && c != '\t' {
				return 0, false
			}
		}
	}
	return code, true
}

// validStartLine reports whether line can start a message in a direction
// of role r.
func validStartLine(line []byte, r role) bool {
	if r != roleClient && hasPrefix(line, "HTTP/") {
		if _, ok := statusLine(line); ok {
			return true
		}
	}
	if r != roleServer {
		_, _, ok := requestLine(line)
		return ok
	}
	return false
}

// plausibleStart reports whether p, a start line without its end yet,
// could still become a valid one; only its first bytes are checked.
func plausibleStart(p []byte, r role) bool {
	q := p[:min(len(p), 64)]
	if r != roleClient && statusPrefix(q) {
		return true
	}
	return r != roleServer && requestPrefix(q)
}

func statusPrefix(q []byte) bool {
	for i := 0; i < len(q) && i < 13; i++ {
		c := q[i]
		switch {
		case i < 7:
			if c != "HTTP/1."[i] {
				return false
			}
		case i == 7 || (i >= 9 && i <= 11):
			if !isDigit(c) {
				return false
			}
		case i == 8:
			if c != ' ' {
				return false
			}
		default:
			if c != ' ' && c != '\r' {
				return false
			}
		}
	}
	return true
}

func requestPrefix(q []byte) bool {
	i := 0
	for i < len(q) && isTchar(q[i]) {
		i++
	}
	if i == len(q) {
		return i > 0
	}
	if i == 0 || q[i] != ' ' {
		return false
	}
	for j := i + 1; j < len(q); j++ {
		if isCTL(q[j]) && !(q[j] == '\r' && j == len(q)-1) {
			return false
		}
	}
	return true
}

// parseHead parses a start line and the header lines after it (block may
// lack the final empty line when the head was cut).
func parseHead(block []byte, r role) (msgHead, bool) {
	s := string(block)
	first, rest := s, ""
	if nl := strings.IndexByte(s, '\n'); nl >= 0 {
		first, rest = s[:nl], s[nl+1:]
	}
	first = strings.TrimSuffix(first, "\r")
	hd := msgHead{cl: -1}
	switch {
	case r != roleClient && strings.HasPrefix(first, "HTTP/"):
		code, ok := statusLine(first)
		if !ok {
			return hd, false
		}
		hd.status, hd.proto = code, first[:8]
		if len(first) > 13 {
			hd.reason = first[13:]
		}
	case r != roleServer:
		sp1, sp2, ok := requestLine(first)
		if !ok {
			return hd, false
		}
		hd.isReq = true
		hd.method, hd.proto = first[:sp1], first[sp2+1:]
		hd.target = strings.Trim(first[sp1+1:sp2], " ")
	default:
		return hd, false
	}
	hd.header = parseFields(rest)
	hd.readFields()
	if hd.isReq && hd.host == "" {
		hd.host = hostOfTarget(hd.target, hd.method)
	}
	return hd, true
}

// parseFields parses header (or trailer) lines up to an empty line. Names
// are kept as sent; obs-fold continuation lines join the previous value;
// lines that are not fields are skipped.
func parseFields(s string) capture.Header {
	n := strings.Count(s, "\n")
	if n == 0 && s == "" {
		return nil
	}
	h := make(capture.Header, 0, n+1)
	for s != "" {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if v := trimOWS(line); v != "" && len(h) > 0 {
				last := &h[len(h)-1]
				if last.Value == "" {
					last.Value = v
				} else {
					last.Value = last.Value + " " + v
				}
			}
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := trimOWS(line[:colon])
		if !isToken(name) {
			continue
		}
		h = append(h, capture.Field{Name: name, Value: trimOWS(line[colon+1:])})
	}
	if len(h) == 0 {
		return nil
	}
	return h
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// trimOWS removes optional whitespace (SP, HTAB) around s.
func trimOWS(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// readFields extracts what framing and pairing need from the header.
func (hd *msgHead) readFields() {
	var te, teCodings string
	lastChunked, hasTE, chunkedEarly := false, false, false
	for _, f := range hd.header {
		n := f.Name
		switch len(n) {
		case 4:
			if hd.host == "" && strings.EqualFold(n, "Host") {
				hd.host = f.Value
			}
		case 7:
			if hd.upgrade == "" && strings.EqualFold(n, "Upgrade") {
				hd.upgrade = f.Value
			}
		case 10:
			if strings.EqualFold(n, "Connection") && hasToken(f.Value, "upgrade") {
				hd.connUpgrade = true
			}
		case 14:
			if strings.EqualFold(n, "Content-Length") {
				hd.addContentLength(f.Value)
			}
		case 16:
			if strings.EqualFold(n, "Content-Encoding") && f.Value != "" {
				if hd.codings == "" {
					hd.codings = f.Value
				} else {
					hd.codings += ", " + f.Value
				}
			}
		case 17:
			if strings.EqualFold(n, "Transfer-Encoding") {
				te = f.Value
				for v := range strings.SplitSeq(te, ",") {
					v = trimOWS(v)
					switch {
					case v == "" || strings.EqualFold(v, "identity"):
					case strings.EqualFold(v, "chunked"):
						if lastChunked {
							chunkedEarly = true
						}
						hasTE, lastChunked = true, true
					default:
						if lastChunked {
							chunkedEarly = true
						}
						hasTE, lastChunked = true, false
						if teCodings == "" {
							teCodings = v
						} else {
							teCodings += ", " + v
						}
					}
				}
			}
		}
	}
	if !hasTE {
		return
	}
	hd.cl, hd.clBad = -1, false // Transfer-Encoding overrides Content-Length
	if lastChunked && !chunkedEarly {
		hd.chunked = true
	} else {
		hd.teOther = true
	}
	if teCodings != "" {
		if hd.codings == "" {
			hd.codings = teCodings
		} else {
			hd.codings += ", " + teCodings
		}
	}
}

// addContentLength reads a Content-Length value ("n" or a list of equal n).
func (hd *msgHead) addContentLength(v string) {
	for e := range strings.SplitSeq(v, ",") {
		n, ok := parseDecimal(trimOWS(e))
		if !ok || (hd.cl >= 0 && n != hd.cl) {
			hd.clBad = true
			return
		}
		hd.cl = n
	}
}

func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v holds tok.
func hasToken(v, tok string) bool {
	for e := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(trimOWS(e), tok) {
			return true
		}
	}
	return false
}

// hostOfTarget returns the authority of an absolute-form or
// authority-form (CONNECT) target.
func hostOfTarget(target, method string) string {
	if method == "CONNECT" {
		return target
	}
	i := strings.Index(target, "://")
	if i <= 0 || !isScheme(target[:i]) {
		return ""
	}
	rest := target[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if k := strings.LastIndexByte(rest, '@'); k >= 0 {
		rest = rest[k+1:]
	}
	return rest
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// parseChunkSize reads "hex [BWS] [; extensions]".
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var v byte
		switch {
		case isDigit(c):
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			goto done
		}
		if i >= 15 {
			return 0, false
		}
		n = n<<4 | int64(v)
	}
done:
	if i == 0 {
		return 0, false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && line[i] != ';' {
		return 0, false
	}
	return n, true
}

// Resynchronisation: finding the next message start in arbitrary bytes.

// statusCheckLen is how many bytes a status-line candidate needs
// ("HTTP/1.1 200 ").
const statusCheckLen = 13

type match uint8

const (
	matchNo match = iota
	matchYes
	matchMore // undecided until more bytes arrive
)

// findStart returns the position of the first plausible start line for role
// r whose "HTTP/1." occurs at or after from, or -1 and the earliest
// position of a candidate still undecided (-1 if none).
func findStart(p []byte, from int, r role, maxLine int) (start, partial int) {
	partial = -1
	wantResp, wantReq := r != roleClient, r != roleServer
	for from < len(p) {
		i := bytes.Index(p[from:], []byte("HTTP/1."))
		if i < 0 {
			break
		}
		i += from
		from = i + 1
		if wantResp {
			switch statusAt(p, i) {
			case matchYes:
				return i, partial
			case matchMore:
				if partial < 0 {
					partial = i
				}
			}
		}
		if wantReq && i > 0 && p[i-1] == ' ' {
			s, m := requestEndingAt(p, i-1, maxLine)
			switch m {
			case matchYes:
				return s, partial
			case matchMore:
				if partial < 0 || s < partial {
					partial = s
				}
			}
		}
	}
	return -1, partial
}

// statusAt checks for "HTTP/1.[01] ddd" and a delimiter at p[i:].
func statusAt(p []byte, i int) match {
	for k := 7; k < statusCheckLen; k++ {
		if i+k >= len(p) {
			return matchMore
		}
		c := p[i+k]
		ok := false
		switch k {
		case 7:
			ok = c == '0' || c == '1'
		case 8:
			ok = c == ' '
		case 9:
			ok = '1' <= c && c <= '5'
		case 10, 11:
			ok = isDigit(c)
		default:
			ok = c == ' ' || c == '\r' || c == '\n'
		}
		if !ok {
			return matchNo
		}
	}
	return matchYes
}

// requestEndingAt checks for a request line of at most maxLine bytes
// whose " HTTP/1." begins at p[j], returning where its method starts.
func requestEndingAt(p []byte, j, maxLine int) (int, match) {
	stop := max(0, j-maxLine)
	k := j - 1
	for k >= stop && p[k] != ' ' && !isCTL(p[k]) {
		k--
	}
	if k < stop || p[k] != ' ' || k == j-1 {
		return 0, matchNo
	}
	m := k - 1
	for m >= stop && isTchar(p[m]) {
		m--
	}
	ms := m + 1
	if ms == k {
		return 0, matchNo
	}
	off := methodStart(p[ms:k])
	if off < 0 {
		return 0, matchNo
	}
	start := ms + off
	if len(p) <= j+9 {
		if len(p) > j+8 && p[j+8] != '0' && p[j+8] != '1' {
			return 0, matchNo
		}
		return start, matchMore
	}
	if v := p[j+8]; v != '0' && v != '1' {
		return 0, matchNo
	}
	switch p[j+9] {
	case '\n':
		return start, matchYes
	case '\r':
		if len(p) <= j+10 {
			return start, matchMore
		}
		if p[j+10] == '\n' {
			return start, matchYes
		}
	}
	return 0, matchNo
}

// methodStart picks the method out of a run of token bytes that may carry
// the tail of the previous (lost or undecodable) data before it: a known
// method, or an upper-case run of at least three letters.
func methodStart(tok []byte) int {
	for off := 0; off < len(tok); off++ {
		if knownMethod(tok[off:]) {
			return off
		}
	}
	i := len(tok)
	for i > 0 && isUpper(tok[i-1]) {
		i--
	}
	if len(tok)-i >= 3 {
		return i
	}
	return -1
}

func knownMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
		"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH",
		"REPORT", "MERGE", "PURGE", "QUERY":
		return true
	}
	return false
}

// tailStart returns where to cut a scan window that held no start line:
// the tail kept may be the beginning of a request line (no control byte,
// at most two spaces before its " HTTP/1.") or of a status line.
func tailStart(p []byte, maxKeep int) int {
	i, spaces := len(p), 0
	stop := max(0, len(p)-maxKeep)
	for i > stop {
		c := p[i-1]
		if isCTL(c) {
			break
		}
		if c == ' ' {
			if spaces++; spaces == 3 {
				break
			}
		}
		i--
	}
	return min(i, max(0, len(p)-statusCheckLen))
}
