package secrettest

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/specgate/specgate/capture"
)

// luhnValid checks a number the other way round from LuhnDigit: double
// every second digit from the right, subtract 9 when over 9, and sum.
func luhnValid(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestCards(t *testing.T) {
	g := New(3)
	for _, c := range []struct {
		prefix string
		n      int
	}{{"4", 16}, {"2221", 16}, {"37", 15}, {"34", 15}, {"6011", 16}, {"51", 16}} {
		for range 50 {
			n := g.Card(c.prefix, c.n)
			if len(n) != c.n || !strings.HasPrefix(n, c.prefix) || strings.Trim(n, Digits) != "" || !luhnValid(n) {
				t.Fatalf("Card(%q, %d) = %q: not a valid card number", c.prefix, c.n, n)
			}
		}
	}
	for range 50 {
		if n := g.NotLuhn(); len(n) != 16 || n[0] != '4' || luhnValid(n) {
			t.Fatalf("NotLuhn() = %q passes the Luhn check", n)
		}
	}
	for _, known := range []string{"4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"} {
		if got := LuhnDigit(known[:len(known)-1]); got != known[len(known)-1] {
			t.Errorf("LuhnDigit(%s) = %c, want %c", known[:len(known)-1], got, known[len(known)-1])
		}
	}
	if got := Group("4111222233334444", " ", 4, 4, 4, 4); got != "4111 2222 3333 4444" {
		t.Errorf("Group = %q", got)
	}
	if got := Group("123", "-", 4, 6, 5); got != "123" {
		t.Errorf("Group of too few digits = %q", got)
	}
}

func TestStr(t *testing.T) {
	g := New(4)
	for n := 0; n < 64; n++ {
		for _, a := range []string{Alnum, Hex, Digits, Lower, B64URL, Base32} {
			s := g.Str(a, n)
			if len(s) != n || strings.Trim(s, a) != "" {
				t.Fatalf("Str(%q, %d) = %q", a, n, s)
			}
			if n >= 8 && a == Alnum && (!strings.ContainsAny(s, Digits) || !strings.ContainsAny(s, Upper) || !strings.ContainsAny(s, Lower)) {
				t.Fatalf("Str(Alnum, %d) = %q lacks a digit or a case", n, s)
			}
		}
	}
	if g.Str("", 5) != "" || g.Str(Alnum, -1) != "" {
		t.Error("Str of nothing is not empty")
	}
}

func TestJWT(t *testing.T) {
	g := New(5)
	for range 20 {
		tok := g.JWT()
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("JWT %q has %d parts", tok, len(parts))
		}
		for i, p := range parts {
			b, err := base64.RawURLEncoding.DecodeString(p)
			if err != nil {
				t.Fatalf("JWT part %d %q: %v", i, p, err)
			}
			if i < 2 {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("JWT part %d is not a JSON object: %s", i, b)
				}
				if i == 0 && m["alg"] != "RS256" {
					t.Errorf("JWT header %s", b)
				}
			} else if len(b) != 64 {
				t.Errorf("signature has %d bytes", len(b))
			}
		}
	}
}

func TestKeys(t *testing.T) {
	g := New(6)
	for _, k := range []struct {
		typ   string
		pem   string
		parse func([]byte) (any, error)
	}{
		{"EC PRIVATE KEY", g.ECKeyPEM(), func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) }},
		{"PRIVATE KEY", g.Ed25519KeyPEM(), x509.ParsePKCS8PrivateKey},
		{"RSA PRIVATE KEY", g.RSAKeyPEM(), func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) }},
	} {
		blk, rest := pem.Decode([]byte(k.pem))
		if blk == nil || blk.Type != k.typ || len(rest) != 0 {
			t.Fatalf("%s: not one PEM block of that type:\n%s", k.typ, k.pem)
		}
		key, err := k.parse(blk.Bytes)
		if err != nil {
			t.Fatalf("%s does not parse: %v", k.typ, err)
		}
		if rk, ok := key.(interface{ Size() int }); ok && k.typ == "RSA PRIVATE KEY" && rk.Size() != 256 {
			t.Errorf("RSA key of %d bytes, want 256", rk.Size())
		}
	}
	if a, b := New(9).RSAKeyPEM(), New(9).RSAKeyPEM(); a != b {
		t.Error("the same seed gave two RSA keys")
	}
}

func TestIdentifiers(t *testing.T) {
	g := New(8)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for range 20 {
		if u := g.UUID(); !uuid.MatchString(u) {
			t.Fatalf("UUID() = %q", u)
		}
	}
	// 1709296496789 ms is 01HQX05C4N in Crockford base32.
	if u := g.ULID(1709296496789); len(u) != 26 || !strings.HasPrefix(u, "01HQX05C4N") || strings.Trim(u[10:], "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
		t.Errorf("ULID = %q", u)
	}
}

func TestPlantDeterministic(t *testing.T) {
	a, b, c := New(1).Plant(), New(1).Plant(), New(2).Plant()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different secrets")
	}
	same := 0
	for i := range a {
		if a[i].Value == c[i].Value {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 1 and 2 share %d values", same)
	}
	if k := Kinds(a); k < 50 {
		t.Errorf("%d kinds, want at least 50", k)
	}
	places := map[Place]bool{}
	for _, s := range a {
		places[s.Place] = true
		if s.Value == "" || s.Kind == "" || s.Place.String() == "unknown place" {
			t.Errorf("incomplete secret %+v", s)
		}
	}
	for p := RequestHeader; p <= Binary; p++ {
		if !places[p] {
			t.Errorf("no secret planted in %v", p)
		}
	}
}

// asCapture turns a built exchange into a captured one, as it travels.
func asCapture(e Exchange) capture.Exchange {
	var c capture.Exchange
	c.Request = capture.Request{Method: e.Method, Target: e.Target, Body: e.Body}
	for _, f := range e.Header {
		c.Request.Header = append(c.Request.Header, capture.Field{Name: f.Name, Value: f.Value})
	}
	c.Response = capture.Response{Status: e.Status, Body: e.RespBody}
	for _, f := range e.RespHeader {
		c.Response.Header = append(c.Response.Header, capture.Field{Name: f.Name, Value: f.Value})
	}
	return c
}

// redactAll replaces every secret value in c by marker, the simple way.
func redactAll(c capture.Exchange, secrets []Secret, marker string) capture.Exchange {
	r := func(s string) string {
		for _, x := range secrets {
			if x.Bare { // a JSON number becomes a string
				s = strings.ReplaceAll(s, ": "+x.Value, `: "`+marker+`"`)
			}
			s = strings.ReplaceAll(s, x.Value, marker)
			s = strings.ReplaceAll(s, url.QueryEscape(x.Value), marker)
			if q, err := json.Marshal(x.Value); err == nil {
				s = strings.ReplaceAll(s, string(q[1:len(q)-1]), marker)
			}
		}
		return s
	}
	c.Request.Target = r(c.Request.Target)
	c.Request.Body = []byte(r(string(c.Request.Body)))
	c.Response.Body = []byte(r(string(c.Response.Body)))
	for _, h := range []*capture.Header{&c.Request.Header, &c.Response.Header} {
		*h = h.Clone()
		for i := range *h {
			(*h)[i].Value = r((*h)[i].Value)
		}
	}
	return c
}

func TestBuild(t *testing.T) {
	secrets := New(1).Plant()
	built := Build(secrets)
	placed := map[string]int{}
	paths := map[string]bool{}
	for _, e := range built {
		if paths[e.Path()] {
			t.Errorf("two exchanges at %s", e.Path())
		}
		paths[e.Path()] = true
		c := asCapture(e)
		for _, s := range e.Secrets {
			placed[s.Value]++
			if err := s.Kept(&c); err != nil {
				t.Errorf("%v: %v", e, err)
			}
			if err := s.Redacted(&c, "XX"); err == nil {
				t.Errorf("%v: Redacted passes before redaction", s)
			}
		}
		for _, k := range e.Keep {
			if err := k.Kept(&c); err != nil {
				t.Errorf("%v: %v", e, err)
			}
		}
		red := redactAll(c, secrets, "XX")
		for _, s := range e.Secrets {
			if err := s.Redacted(&red, "XX"); err != nil {
				t.Errorf("%v: %v", e, err)
			}
		}
		for _, k := range e.Keep {
			if err := k.Kept(&red); err != nil {
				t.Errorf("%v after redaction: %v", e, err)
			}
		}
		for _, b := range []struct {
			ct   string
			body []byte
		}{{c.Request.Header.Get("Content-Type"), e.Body}, {c.Response.Header.Get("Content-Type"), e.RespBody}} {
			if strings.Contains(b.ct, "json") && !json.Valid(b.body) {
				t.Errorf("%v: invalid JSON:\n%s", e, b.body)
			}
		}
		if e.Path() == "/blob" && utf8.Valid(e.RespBody) {
			t.Errorf("binary body is valid UTF-8")
		}
	}
	for _, s := range secrets {
		if placed[s.Value] != 1 {
			t.Errorf("%v placed %d times", s, placed[s.Value])
		}
	}
	if len(built) < 6 {
		t.Errorf("%d exchanges", len(built))
	}

	// A subset builds only the exchanges it needs.
	only := Build([]Secret{{Kind: "q", Value: "v", Place: Query, Name: "k"}})
	if len(only) != 1 || only[0].Target != "/oauth/token?k=v&page=1" {
		t.Errorf("query-only build: %v", only)
	}
	// A third header of a name gets an exchange of its own.
	var three []Secret
	for i := range 3 {
		three = append(three, Secret{Kind: "h", Value: fmt.Sprint("v", i), Place: RequestHeader, Name: "X-Token"})
	}
	if b := Build(three); len(b) != 3 || b[2].Path() != "/more/2" || b[2].Header[0].Value != "v2" {
		t.Errorf("three headers: %v", b)
	}
}

func TestSlotGone(t *testing.T) {
	built := Build(New(1).Plant())
	for _, e := range built {
		var empty capture.Exchange
		for _, s := range e.Secrets {
			if _, ok := s.Slot(&empty); ok {
				t.Errorf("%v found in an empty exchange", s)
			}
			if err := s.Redacted(&empty, "XX"); err == nil || !strings.Contains(err.Error(), "gone") {
				t.Errorf("%v: Redacted on an empty exchange: %v", s, err)
			}
			if _, ok := s.Slot(nil); ok {
				t.Errorf("%v found in nil", s)
			}
		}
	}
}

func TestJSONPaths(t *testing.T) {
	body := jsonBody(nil, []Secret{
		{Value: "x", Name: "a.b[1].c"},
		{Value: "7", Name: "a.n", Bare: true},
		{Value: `q"<`, Name: "top"},
		{Value: "y", Name: "list[0]"},
	}, true)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	want := map[string]any{"a": map[string]any{"b": []any{nil, map[string]any{"c": "x"}}, "n": 7.0}, "top": `q"<`, "list": []any{"y"}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("jsonBody = %s", body)
	}
	for path, w := range map[string]string{"a.b[1].c": "x", "a.n": "7", "top": `q"<`, "list[0]": "y"} {
		if got, ok := jsonValue(body, path); !ok || got != w {
			t.Errorf("jsonValue(%s) = %q, %v", path, got, ok)
		}
	}
	for _, path := range []string{"a.b[5].c", "a.x", "a.n.z", "a.b.c", "list[1]"} {
		if got, ok := jsonValue(body, path); ok {
			t.Errorf("jsonValue(%s) = %q, want nothing", path, got)
		}
	}
	if got, ok := jsonValue([]byte(`{"a":"REDACTED"}`), "a.b.c"); !ok || got != "REDACTED" {
		t.Errorf("a replaced container: %q %v", got, ok)
	}
}

func TestLeak(t *testing.T) {
	g := New(7)
	secret := g.Ed25519KeyPEM() // newlines, '+', '/', '='
	token := g.Str(Alnum, 40)
	for _, tc := range []struct {
		name, out string
	}{
		{"raw", "x " + token + " y"},
		{"window only", "x " + token[5:5+Window] + " y"},
		{"json", mustJSON(map[string]string{"k": secret})},
		{"query", "/p?k=" + url.QueryEscape(secret)},
		{"path", "/p/" + url.PathEscape(secret)},
		{"base64 +0", base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64 +1", base64.StdEncoding.EncodeToString([]byte("a" + secret + "b"))},
		{"base64 +2", base64.StdEncoding.EncodeToString([]byte("ab" + secret))},
		{"base64url +1", base64.URLEncoding.EncodeToString([]byte("\xff" + secret))},
	} {
		x := NewIndex([]byte(tc.out))
		v := secret
		if strings.Contains(tc.name, "raw") || strings.Contains(tc.name, "window") {
			v = token
		}
		if _, _, ok := x.Leak(v); !ok {
			t.Errorf("%s: not found in %.60q", tc.name, tc.out)
		}
	}
	clean := NewIndex([]byte(mustJSON(map[string]string{"k": g.Str(Alnum, 400), "jwt": g.JWT()})))
	for _, v := range []string{secret, token} {
		if sp, piece, ok := clean.Leak(v); ok {
			t.Errorf("%.20q found as %s %q in clean output", v, sp, piece)
		}
	}
	if _, _, ok := NewIndex([]byte("cvv=1234")).Leak("1234"); !ok {
		t.Error("a short secret is not found whole")
	}
	if _, _, ok := NewIndex(nil).Leak(token); ok {
		t.Error("found in nothing")
	}
	if sps := Spellings("ab"); len(sps) != 1 {
		t.Errorf("Spellings of a short plain value: %v", sps)
	}
}

// TestLeaks checks that a leak is blamed on the secret that leaked, not
// on others of its kind that share a fixed header with it.
func TestLeaks(t *testing.T) {
	g := New(10)
	jwts := []Secret{{Kind: "a", Value: g.JWT()}, {Kind: "b", Value: g.JWT()}, {Kind: "c", Value: g.Str(Alnum, 30)}}
	if jwts[0].Value[:Window] != jwts[1].Value[:Window] {
		t.Fatal("the JWTs share no header: the test proves nothing")
	}
	out := NewIndex([]byte(`{"t":"` + jwts[1].Value + `","n":"` + base64.StdEncoding.EncodeToString([]byte("x"+jwts[2].Value)) + `"}`))
	got := out.Leaks(jwts)
	if len(got) != 2 || got[0].Secret.Kind != "b" || got[1].Secret.Kind != "c" || got[1].Spelling != "base64+2" {
		t.Errorf("Leaks = %+v, want b raw and c in base64", got)
	}
	// A JWT header alone is no leak.
	if got := NewIndex([]byte(jwts[0].Value[:40])).Leaks(jwts); len(got) != 0 {
		t.Errorf("a shared header blamed: %+v", got)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(bytes.TrimSpace(b))
}
