package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/specgate/specgate/internal/secrettest"
)

// TestJSONStructure redacts pretty-printed JSON with secrets at many
// depths and checks that the output is exactly the input with only the
// secret values replaced: same keys in the same order, same spacing,
// escapes and number spellings everywhere else.
func TestJSONStructure(t *testing.T) {
	g := secrettest.New(11)
	pass1 := g.Str(secrettest.Alnum, 20)
	sess := g.Str(secrettest.Hex, 32)
	ghp := "ghp_" + g.Str(secrettest.Alnum, 36)
	pemKey := g.ECKeyPEM()
	pemBlock := strings.TrimSuffix(pemKey, "\n")
	pemQuoted, err := json.Marshal(pemBlock)
	if err != nil {
		t.Fatal(err)
	}
	pemEscaped := string(pemQuoted[1 : len(pemQuoted)-1])
	pass2 := g.Str(secrettest.Alnum, 20)
	secret := g.Str(secrettest.B64URL, 40)
	tokA, tokB := g.Str(secrettest.Alnum, 24), g.Str(secrettest.Alnum, 24)

	in := `{
  "user": {"name": "Zo\u00eb", "email": "zoe@example.com", "password": "` + pass1 + `"},
  "session": {
    "id": "` + sess + `",
    "expires": 1709296496789,
    "renewable": true,
    "previous": null,
    "tokens": ["` + tokA + `", "` + tokB + `"]
  },
  "pin": 4821,
  "events": [
    {"at": "2024-03-01T12:34:56Z", "msg": "login with ` + ghp + `", "n": 1.50e3},
    {"at": "2024-03-01T12:35:00Z", "msg": "caf\u00e9 \/ ok \"quoted\"", "n": -0.25}
  ],
  "key": "` + pemEscaped + `\n",
  "\u0070assword": "` + pass2 + `",
  "deep": [[[{"client_secret" : "` + secret + `", "client_id": "web"}]]],
  "empty_password": {"password": ""},
  "max_tokens": 256,
  "ids": [1709296496789, 4111111111111111]
}
`
	want := in
	for _, s := range []struct{ old, new string }{
		{`"` + pass1 + `"`, quotedMarker},
		{`"` + sess + `"`, quotedMarker},
		{`"expires": 1709296496789`, `"expires": ` + quotedMarker},
		{`"` + tokA + `"`, quotedMarker},
		{`"` + tokB + `"`, quotedMarker},
		{`"pin": 4821`, `"pin": ` + quotedMarker},
		{ghp, Marker},
		{pemEscaped, Marker},
		{`"` + pass2 + `"`, quotedMarker},
		{`"` + secret + `"`, quotedMarker},
	} {
		if !strings.Contains(want, s.old) {
			t.Fatalf("test input lacks %q", s.old)
		}
		want = strings.Replace(want, s.old, s.new, 1)
	}

	r := New(Options{})
	out := r.Body("application/json", []byte(in))
	if string(out) != want {
		t.Errorf("redacted JSON:\n%s\nwant:\n%s", out, want)
	}
	if !json.Valid(out) {
		t.Fatalf("output is not valid JSON")
	}
	sameShape(t, []byte(in), out)
	if got := r.Count(); got != 10 {
		t.Errorf("Count() = %d, want 10", got)
	}
}

// TestJSONReescape checks strings with escapes that hold a secret: the
// string is unescaped to find it, and re-escaped validly around the marker.
func TestJSONReescape(t *testing.T) {
	g := secrettest.New(12)
	aws := "AKIA" + g.Str(secrettest.Base32, 16)
	for _, in := range []string{
		`{"msg":"caf\u00e9\tkey=\"` + aws + `\"\n\ud83d\ude00 \/ done"}`,
		`["line1\nAKIA` + aws[4:] + `\u0000end"]`,
		`{"log":"{\"user\":\"bob\",\"password\":\"` + g.Str(secrettest.Alnum, 16) + `\"}"}`,
	} {
		r := New(Options{})
		out := r.Body("application/json", []byte(in))
		if !json.Valid(out) {
			t.Errorf("%s\n-> invalid JSON %s", in, out)
			continue
		}
		if bytes.Contains(out, []byte(aws[4:])) || r.Count() != 1 {
			t.Errorf("%s\n-> %s (count %d): secret survived", in, out, r.Count())
		}
		var before, after []string
		if err := json.Unmarshal([]byte(in), &before); err != nil {
			var m map[string]string
			_ = json.Unmarshal([]byte(in), &m)
			var m2 map[string]string
			_ = json.Unmarshal(out, &m2)
			for k, v := range m {
				before, after = append(before, v), append(after, m2[k])
			}
		} else {
			_ = json.Unmarshal(out, &after)
		}
		for i := range before {
			if !strings.Contains(after[i], Marker) {
				t.Errorf("decoded %q -> %q: no marker", before[i], after[i])
			}
			for _, keep := range []string{"café", "done", "end", "line1", "😀", `"user":"bob"`} {
				if strings.Contains(before[i], keep) && !strings.Contains(after[i], keep) {
					t.Errorf("decoded %q -> %q: lost %q", before[i], after[i], keep)
				}
			}
		}
	}
}

// sameShape checks that two JSON texts have the same token structure:
// the same delimiters and keys in the same order, and scalar values that
// are equal or were replaced by a string holding the marker.
func sameShape(t *testing.T, a, b []byte) {
	t.Helper()
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	for i := 0; ; i++ {
		ta, ea := da.Token()
		tb, eb := db.Token()
		if errors.Is(ea, io.EOF) || errors.Is(eb, io.EOF) {
			if !errors.Is(ea, io.EOF) || !errors.Is(eb, io.EOF) {
				t.Errorf("token %d: one document ended early (%v, %v)", i, ea, eb)
			}
			return
		}
		if ea != nil || eb != nil {
			t.Errorf("token %d: %v, %v", i, ea, eb)
			return
		}
		if ta == tb {
			continue
		}
		if s, ok := tb.(string); ok && strings.Contains(s, Marker) {
			if _, isDelim := ta.(json.Delim); !isDelim {
				continue
			}
		}
		t.Errorf("token %d: %v became %v", i, ta, tb)
		return
	}
}
