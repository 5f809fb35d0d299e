package redact

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/specgate/specgate/internal/secrettest"
)

var fuzzTypes = [...]string{
	"application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=B",
	"text/plain", "application/xml", "image/png", "", "application/javascript",
}

// FuzzBody checks that Body never panics, that valid JSON stays valid,
// that the output changes exactly when something was counted, and that
// redacting again changes nothing.
func FuzzBody(f *testing.F) {
	g := secrettest.New(31)
	seeds := []struct {
		ct   uint8
		body string
	}{
		{0, `{"password":"x","n":[1,2.5e3,-0],"s":"\u00e9\n","ok":true,"z":null}`},
		{0, `[{"token":{"a":["b",1]}},"` + g.JWT() + `"]`},
		{0, `{"msg":"key AKIA` + g.Str(secrettest.Base32, 16) + ` and card 4111 1111 1111 1111"}`},
		{0, `{"k":"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"}`},
		{0, `{"a":"\ud800\udc00\ud800","max_tokens":3,"tokens":"12"}` + "\n" + `{"secret":1}`},
		{0, `{"a":`},
		{1, "user=bob&password=p%40ss&code=1&state=2&x=%zz"},
		{2, "--B\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx\r\n--B\r\nContent-Type: application/json\r\n\r\n{\"token\":1}\r\n--B--"},
		{3, "Authorization: Bearer abc123def456\npostgres://u:p@h/db <secret>s</secret>"},
		{4, "<a><password><![CDATA[x]]></password></a>"},
		{5, "\x89PNG\x00ghp_" + g.Str(secrettest.Alnum, 36)},
		{6, "sk-" + g.Str(secrettest.Alnum, 48) + " xoxb-" + g.Str(secrettest.Digits, 12)},
		{7, `var password = "x"; document.cookie = c;`},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct uint8, body []byte) {
		typ := fuzzTypes[int(ct)%len(fuzzTypes)]
		orig := bytes.Clone(body)
		r := New(Options{})
		out := r.Body(typ, body)
		if !bytes.Equal(body, orig) {
			t.Fatalf("input modified")
		}
		if n := r.Count(); (n == 0) != bytes.Equal(out, body) {
			t.Fatalf("Count() = %d but output changed: %v\n%q\n%q", n, !bytes.Equal(out, body), body, out)
		}
		if typ == "application/json" && json.Valid(body) && !json.Valid(out) {
			t.Fatalf("valid JSON became invalid:\n%q\n%q", body, out)
		}
		if again := r.Body(typ, out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%q\n%q\n%q", body, out, again)
		}
	})
}

// FuzzText checks Text and Target for panics and idempotence.
func FuzzText(f *testing.F) {
	for _, s := range []string{
		"password=hunter2", "http://u:p@h/?access_token=x#id_token=y", "/p?q=%41%zz&code=1&state=2",
		"Bearer abcdefgh1", "Basic dXNlcjpwYXNz", "<token>x</token>", "4111-1111-1111-1111",
		"eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.", "token: Digest a=b\n", "-----BEGIN PRIVATE KEY-----",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := New(Options{})
		for _, fn := range []func(string) string{r.Text, r.Target} {
			out := fn(s)
			if again := fn(out); again != out {
				t.Fatalf("not idempotent:\n%q\n%q\n%q", s, out, again)
			}
		}
	})
}
