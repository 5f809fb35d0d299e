package redact

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/secrettest"
)

// TestPlantedSecrets plants secrets of many kinds (secrettest.Plant)
// across headers, cookies, query strings, URLs, JSON, form, multipart,
// XML, text and binary bodies of real HTTP exchanges, redacts them, and
// checks that no piece of any of them survives anywhere in the exchanges
// (no window of 12 bytes, raw, JSON-, URL- or base64-encoded), while every
// place a secret was in keeps its name and structure and every plain value
// beside them is kept as it was.
func TestPlantedSecrets(t *testing.T) {
	secrets := secrettest.New(1).Plant()
	kinds := secrettest.Kinds(secrets)
	if kinds < 20 {
		t.Fatalf("only %d kinds of secrets planted, want at least 20", kinds)
	}
	built := secrettest.Build(secrets)
	calls := make([]call, len(built))
	for i, b := range built {
		calls[i] = call{method: b.Method, target: b.RequestURI(), header: httpHeader(b.Header),
			body: string(b.Body), respStatus: b.Status, respHeader: httpHeader(b.RespHeader), respBody: string(b.RespBody)}
	}
	exs := exchanges(t, calls)
	for i, b := range built {
		// A proxy-style absolute-form target, with a password in its
		// userinfo, as a proxy receives it.
		exs[i].Request.Target = b.Target
	}

	r := New(Options{})
	for i := range exs {
		r.Exchange(&exs[i])
	}

	if testing.Verbose() {
		for _, e := range exs {
			t.Logf("%s %s\n%v\n%q\n%v\n%q", e.Request.Method, e.Request.Target, e.Request.Header, e.Request.Body, e.Response.Header, e.Response.Body)
		}
	}
	all := secrettest.NewIndex([]byte(dumpExchanges(t, exs)))
	for _, l := range all.Leaks(secrets) {
		t.Errorf("%v leaked: %q (%s) survives redaction", l.Secret, l.Piece, l.Spelling)
	}
	if c := r.Count(); c < uint64(kinds) {
		t.Errorf("Count() = %d, want at least %d", c, kinds)
	}

	// Redacting again finds nothing more to do.
	n := r.Count()
	for i := range exs {
		again := cloneExchange(exs[i])
		r.Exchange(&again)
		if !reflect.DeepEqual(again, exs[i]) {
			t.Errorf("exchange %d changed on a second pass:\n%s", i, diffExchange(exs[i], again))
		}
	}
	if r.Count() != n {
		t.Errorf("second pass redacted %d more values", r.Count()-n)
	}

	// What must survive: names, schemes, attributes, structure, and the
	// plain values beside the secrets.
	for i, b := range built {
		wantTarget := b.Target
		for _, s := range b.Secrets {
			if err := s.Redacted(&exs[i], Marker); err != nil {
				t.Errorf("%v: %v", b, err)
				continue
			}
			switch s.Place {
			case secrettest.RequestHeader, secrettest.ResponseHeader, secrettest.Cookie, secrettest.SetCookie,
				secrettest.Query, secrettest.Userinfo, secrettest.Form, secrettest.Multipart, secrettest.MultipartFile, secrettest.XML:
				// Exactly the value goes, and all around it stays.
				if got, _ := s.Slot(&exs[i]); got != s.Prefix+Marker+s.Suffix {
					t.Errorf("%v: %q, want %q", s, got, s.Prefix+Marker+s.Suffix)
				}
			}
			switch s.Place {
			case secrettest.Query:
				wantTarget = strings.Replace(wantTarget, url.QueryEscape(s.Prefix+s.Value+s.Suffix), Marker, 1)
			case secrettest.Userinfo:
				wantTarget = strings.Replace(wantTarget, ":"+s.Value+"@", ":"+Marker+"@", 1)
			}
		}
		if exs[i].Request.Target != wantTarget {
			t.Errorf("%v: target %q, want %q", b, exs[i].Request.Target, wantTarget)
		}
		for _, k := range b.Keep {
			if err := k.Kept(&exs[i]); err != nil {
				t.Errorf("%v: %v", b, err)
			}
		}
		for _, body := range []struct {
			h capture.Header
			b []byte
		}{{exs[i].Request.Header, exs[i].Request.Body}, {exs[i].Response.Header, exs[i].Response.Body}} {
			if strings.Contains(body.h.Get("Content-Type"), "json") && !json.Valid(body.b) {
				t.Errorf("%v: redacted JSON body is not valid JSON:\n%s", b, body.b)
			}
		}
	}
	// The exact shape of a few headers, which a user reads in a HAR.
	req0, resp0 := exs[0].Request, exs[0].Response
	if got, want := req0.Header.Get("Cookie"), "theme="+Marker+"; sid="+Marker+"; csrf_token="+Marker; got != want {
		t.Errorf("Cookie = %q, want %q", got, want)
	}
	if got, want := resp0.Header.Get("Set-Cookie"), "session="+Marker+"; Path=/; HttpOnly; Secure; SameSite=Lax"; got != want {
		t.Errorf("Set-Cookie = %q, want %q", got, want)
	}
	if !strings.HasSuffix(req0.Target, "&page=1") || !strings.HasPrefix(req0.Target, "/oauth/token?access_token="+Marker+"&request=") {
		t.Errorf("target = %q: query keys or untouched pairs lost", req0.Target)
	}
}

// httpHeader turns ordered fields into a net/http header.
func httpHeader(fs []secrettest.Field) http.Header {
	h := http.Header{}
	for _, f := range fs {
		h[f.Name] = append(h[f.Name], f.Value)
	}
	return h
}

// dumpExchanges renders exchanges every way they might be written: as
// JSON, with %+v, and with bodies as text.
func dumpExchanges(t *testing.T, exs []capture.Exchange) string {
	t.Helper()
	var b strings.Builder
	j, err := json.Marshal(exs)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(j)
	fmt.Fprintf(&b, "\n%+v\n%v\n", exs, exs)
	for _, e := range exs {
		b.Write(e.Request.Body)
		b.WriteByte('\n')
		b.Write(e.Response.Body)
		b.WriteByte('\n')
	}
	return b.String()
}
