package secrettest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// Field is a header field.
type Field struct{ Name, Value string }

// Exchange is an HTTP request and its response with values planted in
// them, as the client and the server meant them: bodies without a
// content coding, headers without Host and Content-Length (the sender
// adds them).
type Exchange struct {
	Method string
	// Target is the request target: origin-form ("/p?q=1"), or
	// absolute-form with a password in it for Userinfo secrets.
	Target string
	Header []Field
	Body   []byte
	Status int
	// RespHeader holds the response header fields.
	RespHeader []Field
	RespBody   []byte
	// Gzip asks the sender to send RespBody gzip-compressed, with
	// Content-Encoding: gzip (RespHeader does not have it).
	Gzip bool
	// Secrets are the secrets planted in this exchange.
	Secrets []Secret
	// Keep are plain values planted beside them, placed the same way:
	// redaction must leave them as they are.
	Keep []Secret
}

// Path returns the path of the target: every exchange [Build] makes has
// a path of its own.
func (e Exchange) Path() string { return PathOf(e.Target) }

// RequestURI returns the target in origin-form: path and query, without
// scheme, userinfo and host.
func (e Exchange) RequestURI() string {
	t := e.Target
	if i := strings.Index(t, "://"); i >= 0 {
		rest := t[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return t
}

// PathOf returns the path of a request target in origin- or
// absolute-form: what precedes its query.
func PathOf(target string) string {
	t := Exchange{Target: target}.RequestURI()
	if i := strings.IndexAny(t, "?#"); i >= 0 {
		t = t[:i]
	}
	return t
}

// Build lays secrets out as HTTP exchanges, each secret in its place:
//
//   - POST /oauth/token: the query, cookie, request and response JSON and
//     Set-Cookie secrets, and the first secret of each header name;
//   - POST /login: the urlencoded form secrets and the second secret of
//     each header name, answered with the text secrets;
//   - POST /upload: the multipart secrets, answered with the XML ones;
//   - GET /checkout/N: one per Userinfo secret, in absolute-form;
//   - GET /report: the GzipJSON secrets, in a response meant to travel
//     gzip-compressed;
//   - GET /blob: the binary secrets, in a body that is not UTF-8;
//   - GET /more/N: the further secrets of a header name.
//
// Exchanges that would hold no secret are left out, except the first.
// Plain values go beside the secrets (a username, a page number, a
// timestamp) and are listed in each exchange's Keep.
func Build(secrets []Secret) []Exchange {
	var b builder
	b.login = &Exchange{Method: "POST", Target: "/oauth/token", Status: 200}
	b.form = &Exchange{Method: "POST", Target: "/login", Status: 200}
	b.upload = &Exchange{Method: "POST", Target: "/upload", Status: 200}
	b.report = &Exchange{Method: "GET", Target: "/report", Status: 200, Gzip: true}
	b.blob = &Exchange{Method: "GET", Target: "/blob", Status: 200}
	for _, s := range secrets {
		b.place(s)
	}
	return b.finish()
}

// builder collects the parts of the exchanges Build makes.
type builder struct {
	login, form, upload, report, blob *Exchange
	checkouts, more                   []*Exchange
	reqSeen, respSeen                 map[string]int

	query, cookies, setCookies, forms []Secret
	reqJSON, respJSON, gzipJSON       []Secret
	multi, text, xml, binary          []Secret
}

// nth returns the exchange that gets the n-th header of a name.
func (b *builder) nth(n int) *Exchange {
	switch n {
	case 0:
		return b.login
	case 1:
		return b.form
	}
	for len(b.more) < n-1 {
		b.more = append(b.more, &Exchange{Method: "GET", Target: "/more/" + strconv.Itoa(len(b.more)+2), Status: 200})
	}
	return b.more[n-2]
}

func (b *builder) place(s Secret) {
	switch s.Place {
	case RequestHeader, ResponseHeader:
		seen := &b.reqSeen
		if s.Place == ResponseHeader {
			seen = &b.respSeen
		}
		if *seen == nil {
			*seen = map[string]int{}
		}
		key := textproto.CanonicalMIMEHeaderKey(s.Name)
		e := b.nth((*seen)[key])
		(*seen)[key]++
		f := Field{Name: s.Name, Value: s.wire()}
		if s.Place == RequestHeader {
			e.Header = append(e.Header, f)
		} else {
			e.RespHeader = append(e.RespHeader, f)
		}
		e.Secrets = append(e.Secrets, s)
	case Cookie:
		b.cookies = append(b.cookies, s)
	case SetCookie:
		b.setCookies = append(b.setCookies, s)
	case Query:
		b.query = append(b.query, s)
	case Userinfo:
		e := &Exchange{Method: "GET", Status: 200,
			Target:     "http://" + s.Name + ":" + s.Value + "@shop.example.com/checkout/" + strconv.Itoa(len(b.checkouts)) + "?item=42",
			RespHeader: []Field{{"Content-Type", "application/json"}},
			RespBody:   []byte(`{"ok":true,"order":"ORD-2024-000123"}`),
			Secrets:    []Secret{s},
			Keep: []Secret{
				{Kind: "plain query", Value: "42", Place: Query, Name: "item"},
				{Kind: "plain json", Value: "ORD-2024-000123", Place: ResponseJSON, Name: "order"},
			},
		}
		b.checkouts = append(b.checkouts, e)
	case RequestJSON:
		b.reqJSON = append(b.reqJSON, s)
	case ResponseJSON:
		b.respJSON = append(b.respJSON, s)
	case GzipJSON:
		b.gzipJSON = append(b.gzipJSON, s)
	case Form:
		b.forms = append(b.forms, s)
	case Multipart, MultipartFile:
		b.multi = append(b.multi, s)
	case Text:
		b.text = append(b.text, s)
	case XML:
		b.xml = append(b.xml, s)
	case Binary:
		b.binary = append(b.binary, s)
	}
}

// finish fills in the bodies and returns the exchanges that hold secrets.
func (b *builder) finish() []Exchange {
	b.buildLogin()
	if len(b.forms) > 0 || len(b.text) > 0 {
		b.buildForm()
	}
	if len(b.multi) > 0 || len(b.xml) > 0 {
		b.buildUpload()
	}
	if len(b.gzipJSON) > 0 {
		b.buildReport()
	}
	if len(b.binary) > 0 {
		b.buildBlob()
	}
	out := []Exchange{*b.login}
	for _, e := range []*Exchange{b.form, b.upload} {
		if len(e.Secrets) > 0 {
			out = append(out, *e)
		}
	}
	for _, e := range b.checkouts {
		out = append(out, *e)
	}
	for _, e := range []*Exchange{b.report, b.blob} {
		if len(e.Secrets) > 0 {
			out = append(out, *e)
		}
	}
	for _, e := range b.more {
		out = append(out, *e)
	}
	return out
}

func (b *builder) buildLogin() {
	e := b.login
	keep := []Secret{
		{Kind: "plain query", Value: "1", Place: Query, Name: "page"},
		{Kind: "plain json", Value: "password", Place: RequestJSON, Name: "grant_type"},
		{Kind: "plain json", Value: "alice@example.com", Place: RequestJSON, Name: "username"},
		{Kind: "plain json", Value: "web-app", Place: RequestJSON, Name: "client_id"},
		{Kind: "plain json", Value: "1709296496789", Place: RequestJSON, Name: "device.created_at", Bare: true},
		{Kind: "plain json", Value: "Bearer", Place: ResponseJSON, Name: "token_type"},
		{Kind: "plain json", Value: "3600", Place: ResponseJSON, Name: "expires_in", Bare: true},
		{Kind: "plain json", Value: "1709296496789", Place: ResponseJSON, Name: "payment.last_used", Bare: true},
		{Kind: "plain header", Value: "no-store", Place: ResponseHeader, Name: "Cache-Control"},
	}
	e.Keep = append(e.Keep, keep...)

	var q []string
	for _, s := range b.query {
		q = append(q, url.QueryEscape(s.Name)+"="+url.QueryEscape(s.wire()))
	}
	e.Target += "?" + strings.Join(append(q, "page=1"), "&")
	if len(b.cookies) > 0 {
		c := []string{"theme=dark"}
		for _, s := range b.cookies {
			c = append(c, s.Name+"="+s.wire())
		}
		e.Header = append(e.Header, Field{"Cookie", strings.Join(c, "; ")})
	}
	e.Header = append(e.Header, Field{"Content-Type", "application/json"})
	e.Body = jsonBody(keep[1:5], b.reqJSON, true)
	e.RespHeader = append([]Field{{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}}, e.RespHeader...)
	for _, s := range b.setCookies {
		e.RespHeader = append(e.RespHeader, Field{"Set-Cookie", s.Name + "=" + s.wire()})
	}
	e.RespBody = jsonBody(keep[5:8], b.respJSON, false)
	for _, l := range [][]Secret{b.query, b.cookies, b.reqJSON, b.setCookies, b.respJSON} {
		e.Secrets = append(e.Secrets, l...)
	}
}

func (b *builder) buildForm() {
	e := b.form
	e.Keep = append(e.Keep,
		Secret{Kind: "plain form", Value: "alice", Place: Form, Name: "username"},
		Secret{Kind: "plain form", Value: "1", Place: Form, Name: "remember"},
		Secret{Kind: "plain text", Value: "1.4.2", Place: Text, Prefix: "build ", Suffix: " finished"},
	)
	var f bytes.Buffer
	f.WriteString("username=alice")
	for _, s := range b.forms {
		f.WriteString("&" + url.QueryEscape(s.Name) + "=" + url.QueryEscape(s.wire()))
	}
	f.WriteString("&remember=1")
	e.Header = append(e.Header, Field{"Content-Type", "application/x-www-form-urlencoded"})
	e.Body = f.Bytes()
	var t bytes.Buffer
	t.WriteString("deploy log\nbuild 1.4.2 finished\n")
	for _, s := range b.text {
		t.WriteString(s.wire())
		if !strings.HasSuffix(s.Value+s.Suffix, "\n") {
			t.WriteByte('\n')
		}
	}
	e.RespHeader = append([]Field{{"Content-Type", "text/plain; charset=utf-8"}}, e.RespHeader...)
	e.RespBody = t.Bytes()
	e.Secrets = append(append(e.Secrets, b.forms...), b.text...)
}

func (b *builder) buildUpload() {
	e := b.upload
	e.Keep = append(e.Keep,
		Secret{Kind: "plain multipart", Value: "alice", Place: Multipart, Name: "username"},
		Secret{Kind: "plain xml", Value: "alice", Place: XML, Name: "user"},
	)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	// Writes to a bytes.Buffer do not fail.
	_ = mw.WriteField("username", "alice")
	for _, s := range b.multi {
		if s.Place == Multipart {
			_ = mw.WriteField(s.Name, s.wire())
			continue
		}
		w, _ := mw.CreateFormFile(s.Name, s.Name+".env")
		_, _ = w.Write([]byte(s.wire()))
	}
	_ = mw.Close()
	e.Header = append(e.Header, Field{"Content-Type", mw.FormDataContentType()})
	e.Body = mp.Bytes()
	x := `<?xml version="1.0"?><login><user>alice</user>`
	for _, s := range b.xml {
		x += "<" + s.Name + ">" + s.wire() + "</" + s.Name + ">"
	}
	e.RespHeader = append(e.RespHeader, Field{"Content-Type", "application/xml"})
	e.RespBody = []byte(x + "</login>")
	e.Secrets = append(append(e.Secrets, b.multi...), b.xml...)
}

func (b *builder) buildReport() {
	e := b.report
	keep := []Secret{
		{Kind: "plain json", Value: "weekly", Place: GzipJSON, Name: "report.name"},
		{Kind: "plain json", Value: "1709296496789", Place: GzipJSON, Name: "report.generated_at", Bare: true},
	}
	e.Keep = append(e.Keep, keep...)
	e.Header = append(e.Header, Field{"Accept-Encoding", "gzip"})
	e.RespHeader = append(e.RespHeader, Field{"Content-Type", "application/json"})
	e.RespBody = jsonBody(keep, b.gzipJSON, false)
	e.Secrets = append(e.Secrets, b.gzipJSON...)
}

func (b *builder) buildBlob() {
	e := b.blob
	var body bytes.Buffer
	body.WriteString("\x89SGB\r\n\x1a\n\x00\x00\x00\x0d\xff\xfe")
	for i, s := range b.binary {
		body.Write([]byte{0xc3, 0x28, byte(i), 0x80, 0xff})
		body.WriteString(s.wire())
	}
	body.WriteString("\x00\xc0\xaf\xed\xa0\x80IEND")
	e.RespHeader = append(e.RespHeader, Field{"Content-Type", "application/octet-stream"})
	e.RespBody = body.Bytes()
	e.Secrets = append(e.Secrets, b.binary...)
}

// jsonBody writes a JSON object holding the plain values and then the
// secrets at their key paths, indented or compact.
func jsonBody(plain, secrets []Secret, indent bool) []byte {
	root := &node{}
	for _, l := range [][]Secret{plain, secrets} {
		for _, s := range l {
			text := s.wire()
			if !s.Bare {
				text = quote(text)
			}
			root.set(splitPath(s.Name), text)
		}
	}
	var out bytes.Buffer
	root.write(&out, indent, 0)
	if indent {
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// quote returns s as a JSON string, without escaping HTML characters.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // strings always encode
		return `""`
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// step is one step of a key path: an object key, or an array index when
// key is empty.
type step struct {
	key   string
	index int
}

// splitPath splits "a.b[1].c" into steps. A malformed index is read as
// part of the key.
func splitPath(p string) []step {
	var out []step
	for seg := range strings.SplitSeq(p, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" || rest == "" {
			out = append(out, step{key: key})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil || i < 0 || i > 1000 {
				out = append(out, step{key: "[" + rest})
				break
			}
			out = append(out, step{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

// node is a JSON value under construction: an object with keys in the
// order they were set, an array, or a leaf's JSON text.
type node struct {
	keys  []string
	kids  map[string]*node
	elems []*node
	array bool
	leaf  string
}

func (n *node) set(path []step, text string) {
	if len(path) == 0 {
		n.leaf = text
		return
	}
	st := path[0]
	var kid *node
	if st.key == "" {
		n.array = true
		for len(n.elems) <= st.index {
			n.elems = append(n.elems, &node{leaf: "null"})
		}
		kid = n.elems[st.index]
	} else {
		if n.kids == nil {
			n.kids = map[string]*node{}
		}
		if kid = n.kids[st.key]; kid == nil {
			kid = &node{}
			n.kids[st.key] = kid
			n.keys = append(n.keys, st.key)
		}
	}
	kid.leaf = ""
	kid.set(path[1:], text)
}

func (n *node) write(b *bytes.Buffer, indent bool, depth int) {
	nl := func(d int) {
		if indent {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("  ", d))
		}
	}
	switch {
	case n.leaf != "":
		b.WriteString(n.leaf)
	case n.array:
		b.WriteByte('[')
		for i, k := range n.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(depth + 1)
			k.write(b, indent, depth+1)
		}
		nl(depth)
		b.WriteByte(']')
	default:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			nl(depth + 1)
			b.WriteString(quote(k))
			b.WriteByte(':')
			if indent {
				b.WriteByte(' ')
			}
			n.kids[k].write(b, indent, depth+1)
		}
		nl(depth)
		b.WriteByte('}')
	}
}

// String describes the exchange for test failures.
func (e Exchange) String() string {
	return fmt.Sprintf("%s %s", e.Method, e.Path())
}
