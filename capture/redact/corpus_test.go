package redact

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/testenv"
)

// corpusDir holds third-party HAR files (read-only, beside the repository).
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpora", "har")

type harNV struct{ Name, Value string }

type harFile struct {
	Log struct {
		Entries []struct {
			Request struct {
				Method   string
				URL      string
				Headers  []harNV
				PostData *struct {
					MimeType string
					Text     string
				}
			}
			Response struct {
				Status     int
				StatusText string
				Headers    []harNV
				Content    struct {
					MimeType string
					Text     string
					Encoding string
				}
			}
		}
	}
}

// TestCorpusHAR redacts every exchange of HAR files exported by real
// browsers and tools: credential header values must not survive in the
// headers, and every JSON body that parsed before must still parse with
// the same keys in the same order.
func TestCorpusHAR(t *testing.T) {
	testenv.NeedDir(t, corpusDir)
	var files []string
	err := filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".har") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no HAR files under %s", corpusDir)
	}
	r := New(Options{})
	var entries, jsonBodies, credentials int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var h harFile
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Logf("%s: not a HAR this test reads (%v)", filepath.Base(f), err)
			continue
		}
		for i, en := range h.Log.Entries {
			entries++
			e := capture.Exchange{
				Request:  capture.Request{Method: en.Request.Method, Target: en.Request.URL, Header: harHeader(en.Request.Headers)},
				Response: capture.Response{Status: en.Response.Status, Reason: en.Response.StatusText, Header: harHeader(en.Response.Headers)},
			}
			if pd := en.Request.PostData; pd != nil {
				e.Request.Body = []byte(pd.Text)
				if !e.Request.Header.Has("Content-Type") {
					e.Request.Header = append(e.Request.Header, capture.Field{Name: "Content-Type", Value: pd.MimeType})
				}
			}
			e.Response.Body = []byte(en.Response.Content.Text)
			if en.Response.Content.Encoding == "base64" {
				if b, err := base64.StdEncoding.DecodeString(en.Response.Content.Text); err == nil {
					e.Response.Body = b
				}
			}
			secrets := credentialValues(e.Request.Header)
			secrets = append(secrets, credentialValues(e.Response.Header)...)
			credentials += len(secrets)
			before := cloneExchange(e)
			r.Exchange(&e)
			for _, hdr := range []capture.Header{e.Request.Header, e.Response.Header} {
				for _, fld := range hdr {
					for _, s := range secrets {
						if strings.Contains(fld.Value, s) {
							t.Errorf("%s entry %d: %s still holds %q: %q", filepath.Base(f), i, fld.Name, s, fld.Value)
						}
					}
				}
			}
			for _, b := range [][2][]byte{{before.Request.Body, e.Request.Body}, {before.Response.Body, e.Response.Body}} {
				if len(b[0]) > 0 && json.Valid(b[0]) {
					jsonBodies++
					if !json.Valid(b[1]) {
						t.Errorf("%s entry %d: JSON body no longer valid:\n%s", filepath.Base(f), i, b[1])
						continue
					}
					sameShape(t, b[0], b[1])
				}
			}
		}
	}
	t.Logf("%d files, %d entries, %d JSON bodies, %d credential values, %d values redacted", len(files), entries, jsonBodies, credentials, r.Count())
	if credentials == 0 {
		t.Errorf("the corpus held no credentials: the test proves nothing")
	}
}

func harHeader(nv []harNV) capture.Header {
	h := make(capture.Header, 0, len(nv))
	for _, f := range nv {
		h = append(h, capture.Field{Name: f.Name, Value: f.Value})
	}
	return h
}

// credentialValues returns the credential parts of a header, found the
// simple way: the word after the scheme in Authorization, each cookie's
// value, and the whole value of fields named like API keys and tokens.
func credentialValues(h capture.Header) []string {
	var out []string
	add := func(v string) {
		if v = strings.TrimSpace(v); len(v) >= 3 && v != Marker {
			out = append(out, v)
		}
	}
	for _, f := range h {
		name := strings.ToLower(f.Name)
		switch {
		case name == "authorization" || name == "proxy-authorization":
			_, cred, ok := strings.Cut(f.Value, " ")
			if !ok {
				cred = f.Value
			}
			add(cred)
		case name == "cookie" || name == "set-cookie":
			pairs := strings.Split(f.Value, ";")
			if name == "set-cookie" {
				pairs = pairs[:1]
			}
			for _, p := range pairs {
				if _, v, ok := strings.Cut(p, "="); ok {
					add(v)
				}
			}
		case strings.Contains(name, "token") || strings.Contains(name, "api-key") || strings.Contains(name, "secret"):
			add(f.Value)
		}
	}
	return out
}
