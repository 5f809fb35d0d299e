package secrettest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"

	"github.com/specgate/specgate/capture"
)

// Slot returns what e holds where s was planted: the text that was
// Prefix+Value+Suffix when planted (the whole header value, the cookie's
// value, the decoded query or form value, the JSON string or number, the
// part's content, the element's text), or for Text the line from Prefix
// on. Where redaction replaced a JSON object or array on the key path
// with a string, Slot returns that string. It reports false when e has
// no such place.
func (s Secret) Slot(e *capture.Exchange) (string, bool) {
	if e == nil {
		return "", false
	}
	q, p := &e.Request, &e.Response
	switch s.Place {
	case RequestHeader:
		return header(q.Header, s.Name)
	case ResponseHeader:
		return header(p.Header, s.Name)
	case Cookie:
		for _, v := range q.Header.Values("Cookie") {
			for part := range strings.SplitSeq(v, ";") {
				if name, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok && name == s.Name {
					return val, true
				}
			}
		}
	case SetCookie:
		for _, v := range p.Header.Values("Set-Cookie") {
			if name, rest, ok := strings.Cut(v, "="); ok && strings.TrimSpace(name) == s.Name {
				return rest, true
			}
		}
	case Query:
		_, query, _ := strings.Cut(q.Target, "?")
		query, _, _ = strings.Cut(query, "#")
		return formValue(query, s.Name)
	case Userinfo:
		_, rest, ok := strings.Cut(q.Target, "://")
		if !ok {
			return "", false
		}
		authority, _, _ := strings.Cut(rest, "/")
		userinfo, _, ok := strings.Cut(authority, "@")
		if !ok {
			return "", false
		}
		if user, pass, ok := strings.Cut(userinfo, ":"); ok && user == s.Name {
			return pass, true
		}
	case RequestJSON:
		return jsonValue(q.Body, s.Name)
	case ResponseJSON, GzipJSON:
		return jsonValue(p.Body, s.Name)
	case Form:
		return formValue(string(q.Body), s.Name)
	case Multipart, MultipartFile:
		return multipartValue(q.Header.Get("Content-Type"), q.Body, s.Name)
	case Text:
		body := string(p.Body)
		i := strings.Index(body, s.Prefix)
		if s.Prefix == "" || i < 0 {
			return "", false
		}
		line, _, _ := strings.Cut(body[i+len(s.Prefix):], "\n")
		return s.Prefix + line, true
	case XML:
		open, end := "<"+s.Name+">", "</"+s.Name+">"
		i := bytes.Index(p.Body, []byte(open))
		if i < 0 {
			return "", false
		}
		rest := p.Body[i+len(open):]
		if j := bytes.Index(rest, []byte(end)); j >= 0 {
			return string(rest[:j]), true
		}
	case Binary:
		i := bytes.Index(p.Body, []byte(s.Prefix))
		if s.Prefix == "" || s.Suffix == "" || i < 0 {
			return "", false
		}
		rest := p.Body[i+len(s.Prefix):]
		if j := bytes.Index(rest, []byte(s.Suffix)); j >= 0 {
			return s.Prefix + string(rest[:j]) + s.Suffix, true
		}
	}
	return "", false
}

// Redacted checks that the place of s in e is still there and still
// starts with s.Prefix and ends with s.Suffix, that it holds marker, and
// that it no longer holds s.Value.
func (s Secret) Redacted(e *capture.Exchange, marker string) error {
	got, ok := s.Slot(e)
	switch {
	case !ok:
		return fmt.Errorf("%v: its place is gone", s)
	case strings.Contains(got, s.Value):
		return fmt.Errorf("%v: not redacted: %q", s, got)
	case !strings.Contains(got, marker):
		return fmt.Errorf("%v: %q holds no %s", s, got, marker)
	case !strings.HasPrefix(got, s.Prefix) || !strings.HasSuffix(got, s.Suffix):
		return fmt.Errorf("%v: %q lost what surrounded it (%q before, %q after)", s, got, s.Prefix, s.Suffix)
	}
	return nil
}

// Kept checks that the place of s in e holds exactly what was planted
// (for Text, the first line of it: see [Secret.Slot]).
func (s Secret) Kept(e *capture.Exchange) error {
	got, ok := s.Slot(e)
	want := s.wire()
	if s.Place == Text {
		line, _, _ := strings.Cut(s.Value+s.Suffix, "\n")
		want = s.Prefix + line
	}
	switch {
	case !ok:
		return fmt.Errorf("%v: its place is gone", s)
	case got != want:
		return fmt.Errorf("%v: %q, want %q", s, got, want)
	}
	return nil
}

func header(h capture.Header, name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// formValue returns the value of the first key name in urlencoded
// pairs, unescaped when it unescapes.
func formValue(pairs, name string) (string, bool) {
	for pair := range strings.SplitSeq(pairs, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if k != name {
			continue
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		return v, true
	}
	return "", false
}

// jsonValue returns the string or number at the key path in body.
func jsonValue(body []byte, path string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	for _, st := range splitPath(path) {
		switch x := v.(type) {
		case string:
			return x, true // a container replaced by a string
		case map[string]any:
			kid, ok := x[st.key]
			if st.key == "" || !ok {
				return "", false
			}
			v = kid
		case []any:
			if st.key != "" || st.index >= len(x) {
				return "", false
			}
			v = x[st.index]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// multipartValue returns the content of the part named name.
func multipartValue(contentType string, body []byte, name string) (string, bool) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return "", false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err != nil { // io.EOF: no such part
			return "", false
		}
		if part.FormName() != name {
			continue
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return "", false
		}
		return string(b), true
	}
}
