package source

import (
	"bytes"
	"strings"

	"github.com/specgate/specgate/capture"
)

// Bodies cut short (by --max-body, a reset or a gap) cannot be redacted as
// reliably as whole ones: a JSON document that stops in the middle no
// longer parses, so values under sensitive keys may not be recognised, and
// a secret cut in two no longer has its full shape. specgate does not
// guess: a cut JSON body is dropped (the message keeps its Truncated or
// Incomplete flag and its size), and any other cut body loses the run of
// token characters it ends with, which may be the first part of a secret.

// scrubPartial applies that rule to both halves of e.
func scrubPartial(e *capture.Exchange) {
	if e.Request.Truncated || e.Request.Incomplete {
		e.Request.Body = partialBody(e.Request.Header.Get("Content-Type"), e.Request.Body)
	}
	if e.Response.Truncated || e.Response.Incomplete {
		e.Response.Body = partialBody(e.Response.Header.Get("Content-Type"), e.Response.Body)
	}
}

func partialBody(contentType string, body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	if isJSON(contentType, body) {
		return nil
	}
	end := len(body)
	for end > 0 && isTokenByte(body[end-1]) {
		end--
	}
	// a card number is written in groups of digits
	for end > 1 && (body[end-1] == ' ' || body[end-1] == '-') && '0' <= body[end-2] && body[end-2] <= '9' {
		end--
		for end > 0 && '0' <= body[end-1] && body[end-1] <= '9' {
			end--
		}
	}
	return body[:end]
}

func isJSON(contentType string, body []byte) bool {
	ct := strings.ToLower(contentType)
	if strings.Contains(ct, "json") {
		return true
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// isTokenByte reports whether c can be part of a key, token or card
// number: letters, digits and the punctuation such values use.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.+/=~:%", c) >= 0
}
