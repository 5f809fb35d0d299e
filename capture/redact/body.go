package redact

import (
	"bytes"
	"mime"
	"strings"
)

// Body returns body with secrets redacted, read according to contentType;
// body itself is not modified (it is returned as is when nothing needed
// redacting).
//
//   - JSON (application/json, any +json or *json* type, NDJSON, or any
//     body that parses as JSON): values under sensitive keys become the
//     string "REDACTED" (numbers too; true, false and null stay, as they
//     carry no secret), every scalar inside an object or array under such
//     a key likewise, and secret shapes in other strings are replaced.
//     Numbers under other keys are never touched. The output is valid JSON
//     whenever the input was, with keys in their order and every
//     unredacted byte as it was.
//   - application/x-www-form-urlencoded: as the query of Target.
//   - multipart: fields with sensitive names lose their content; every
//     other part is redacted by its own Content-Type.
//   - text, XML and anything else that reads as text (and JSON that does
//     not parse, such as a truncated body): as Text.
//   - scripts, style sheets and HTML: as Text, except that a sensitive
//     name's value is redacted only when it is a quoted string
//     (cookie = "..." is a credential, cookie = read() is code).
//   - binary: secret shapes only, matched on the raw bytes.
func (r *Redactor) Body(contentType string, body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	mc := r.getMemo()
	out, n := r.body(contentType, body, 0, mc)
	r.putMemo(mc)
	r.count(n)
	return out
}

// media kinds
const (
	kindUnknown = iota
	kindJSON
	kindForm
	kindMultipart
	kindText
	kindCode
	kindBinary
)

// maxNesting bounds multipart parts nested in multipart parts.
const maxNesting = 4

func (r *Redactor) body(ct string, b []byte, depth int, mc *memo) ([]byte, uint64) {
	kind := mediaKind(ct)
	if kind == kindMultipart {
		if depth < maxNesting {
			if out, n, ok := r.multipart(ct, b, depth, mc); ok {
				return out, n
			}
		}
		kind = kindText
	}
	if kind == kindForm {
		sp := splicer[[]byte]{src: b}
		scrubPairs(r, &sp, 0, len(b))
		return sp.result(), sp.n
	}
	if kind == kindJSON || looksJSON(b) {
		if out, n, ok := r.jsonBody(b, mc); ok {
			return out, n
		}
		if kind == kindJSON {
			kind = kindText
		}
	}
	m := modeText
	switch {
	case kind == kindCode:
		m = modeCode
	case kind == kindBinary || kind == kindUnknown && !looksText(b):
		m = modeBinary
	}
	return scrubbed(r, b, m)
}

// mediaKind classifies a Content-Type value.
func mediaKind(ct string) int {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	in := func(p string) bool { return containsFold(ct, p) }
	switch {
	case ct == "":
		return kindUnknown
	case hasFoldAt(ct, 0, "multipart/"):
		return kindMultipart
	case len(ct) == len("application/x-www-form-urlencoded") && hasFoldAt(ct, 0, "application/x-www-form-urlencoded"):
		return kindForm
	case in("json"):
		return kindJSON
	case in("javascript"), in("ecmascript"), in("css"), in("html"):
		return kindCode
	case hasFoldAt(ct, 0, "text/"), hasFoldAt(ct, 0, "message/"), in("xml"), in("yaml"), in("graphql"), in("csv"), in("x-sh"), in("sql"), in("toml"):
		return kindText
	case hasFoldAt(ct, 0, "image/"), hasFoldAt(ct, 0, "audio/"), hasFoldAt(ct, 0, "video/"),
		hasFoldAt(ct, 0, "font/"), in("pdf"), in("zip"), in("protobuf"), in("grpc"), in("msgpack"),
		in("cbor"), in("wasm"), in("avro"), in("thrift"):
		return kindBinary
	}
	return kindUnknown
}

// containsFold reports whether s contains the lower-case p, ignoring case.
func containsFold(s, p string) bool {
	for i := 0; i+len(p) <= len(s); i++ {
		if hasFoldAt(s, i, p) {
			return true
		}
	}
	return false
}

// looksJSON reports whether b starts (after white space) like a JSON
// object or array.
func looksJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// looksText reports whether the start of b reads as text: no control
// bytes but white space and escape.
func looksText(b []byte) bool {
	for _, c := range b[:min(len(b), 1024)] {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b || c == 0x7f {
			return false
		}
	}
	return true
}

// multipart redacts a multipart body part by part, keeping the delimiters
// and part headers. It reports false when b is not multipart with the
// boundary ct names.
func (r *Redactor) multipart(ct string, b []byte, depth int, mc *memo) ([]byte, uint64, bool) {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return nil, 0, false
	}
	delim := "--" + params["boundary"]
	pos := bytes.Index(b, []byte(delim))
	if pos < 0 {
		return nil, 0, false
	}
	sp := splicer[[]byte]{src: b}
	scrub(r, &sp, 0, pos, modeText)
	for {
		p := pos + len(delim)
		if hasAt(b, p, "--") {
			scrub(r, &sp, p, len(b), modeText)
			break
		}
		nl := indexAt(b, p, "\n")
		if nl < 0 {
			break
		}
		hs := nl + 1
		he, bs := partHeaderEnd(b, hs)
		if he < 0 {
			scrub(r, &sp, hs, len(b), modeText)
			break
		}
		be, next := len(b), -1
		if k := indexAt(b, bs, "\r\n"+delim); k >= 0 {
			be, next = k, k+2
		} else if k := indexAt(b, bs, "\n"+delim); k >= 0 {
			be, next = k, k+1
		}
		name, filename, pct := partHeaders(b[hs:he])
		scrub(r, &sp, hs, he, modeBinary)
		content := b[bs:be]
		switch {
		case len(content) == 0 || equalsMarker(content):
		case name != "" && secretValue(keyClassOf(r, name), content):
			sp.replace(bs, be, Marker)
		default:
			if pct == "" && filename == "" {
				pct = "text/plain"
			}
			if out, n := r.body(pct, content, depth+1, mc); n > 0 {
				sp.replaceBytes(bs, be, out, n)
			}
		}
		if next < 0 {
			break
		}
		pos = next
	}
	return sp.result(), sp.n, true
}

// partHeaderEnd returns the end of the part headers that start at hs and
// the start of the part's content, or -1, -1.
func partHeaderEnd(b []byte, hs int) (int, int) {
	switch {
	case hasAt(b, hs, "\r\n"):
		return hs, hs + 2
	case hasAt(b, hs, "\n"):
		return hs, hs + 1
	}
	crlf := indexAt(b, hs, "\r\n\r\n")
	lf := indexAt(b, hs, "\n\n")
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return crlf, crlf + 4
	case lf >= 0:
		return lf, lf + 2
	}
	return -1, -1
}

// partHeaders returns the field name and file name from a part's
// Content-Disposition, and its Content-Type.
func partHeaders(h []byte) (name, filename, ct string) {
	for _, line := range strings.Split(string(h), "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "Content-Disposition"):
			if _, params, err := mime.ParseMediaType(v); err == nil {
				name, filename = params["name"], params["filename"]
			}
		case strings.EqualFold(k, "Content-Type"):
			ct = v
		}
	}
	return name, filename, ct
}
