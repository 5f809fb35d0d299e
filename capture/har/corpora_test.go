package har

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/testenv"
)

// corpusDir holds HAR files exported by browsers and tools (see the
// corpora README); it lives beside the repository, not in it.
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpora", "har")

// readFile reads every exchange of a file, returning the error that ended
// the reading (nil at a clean end).
func readFile(t *testing.T, path string) ([]*capture.Exchange, *Reader, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readFrom(f, filepath.Base(path))
}

// TestCorpora reads every file of the corpus: each reads fully or fails
// with one line naming the file, and for HAR documents every entry is
// either read or listed as skipped.
func TestCorpora(t *testing.T) {
	testenv.NeedDir(t, corpusDir)
	files := 0
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		rel, _ := filepath.Rel(corpusDir, path)
		t.Run(rel, func(t *testing.T) {
			xs, r, err := readFile(t, path)
			if err != nil {
				msg := err.Error()
				if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, filepath.Base(path)+":") {
					t.Errorf("error is not one line prefixed with the file name: %q", msg)
				}
			}
			raw, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			var doc struct {
				Log *struct {
					Entries []json.RawMessage `json:"entries"`
				} `json:"log"`
			}
			if json.Unmarshal(raw, &doc) != nil || doc.Log == nil || doc.Log.Entries == nil {
				if err == nil && strings.HasSuffix(path, ".har") {
					t.Errorf("read %d exchanges from a file encoding/json does not read as HAR", len(xs))
				}
				return
			}
			if err != nil {
				t.Fatalf("encoding/json reads %d entries, the reader failed: %v", len(doc.Log.Entries), err)
			}
			if n := len(xs) + r.SkippedCount(); n != len(doc.Log.Entries) {
				t.Errorf("read %d + skipped %d = %d, the file has %d entries", len(xs), r.SkippedCount(), n, len(doc.Log.Entries))
			}
			for _, s := range r.Skipped() {
				if s.Reason == "" || s.Index < 0 || s.Index >= len(doc.Log.Entries) {
					t.Errorf("bad skip %+v", s)
				}
			}
			// every exchange read matches its entry as encoding/json reads it
			skipped := map[int]bool{}
			for _, s := range r.Skipped() {
				skipped[s.Index] = true
			}
			k := 0
			for i, rawEntry := range doc.Log.Entries {
				if skipped[i] {
					continue
				}
				checkAgainstEntry(t, rawEntry, xs[k], i)
				k++
			}
			t.Logf("%d exchanges, %d skipped", len(xs), r.SkippedCount())
			for _, s := range r.Skipped() {
				t.Logf("skipped %+v", s)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no corpus files")
	}
}

// checkAgainstEntry compares an exchange with its entry decoded
// independently: method, URL (host and target), status, header count.
func checkAgainstEntry(t *testing.T, raw json.RawMessage, x *capture.Exchange, i int) {
	t.Helper()
	var e struct {
		Request struct {
			Method  string
			URL     string
			Headers []struct{ Name, Value string }
		}
		Response struct {
			Status  int
			Headers []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Errorf("entry %d: encoding/json: %v", i, err)
		return
	}
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		t.Errorf("entry %d: read although its URL %q does not parse", i, e.Request.URL)
		return
	}
	if x.Request.Method != e.Request.Method || x.Request.Host != u.Host || x.Response.Status != e.Response.Status {
		t.Errorf("entry %d: read %s %s %d, the entry says %s %s %d", i, x.Request.Method, x.Request.Host, x.Response.Status, e.Request.Method, u.Host, e.Response.Status)
	}
	if want := u.RequestURI(); x.Request.Target != want && u.RawPath == "" {
		t.Errorf("entry %d: target %q, want %q", i, x.Request.Target, want)
	}
	if len(x.Request.Header) != len(e.Request.Headers) || len(x.Response.Header) != len(e.Response.Headers) {
		t.Errorf("entry %d: %d/%d headers, the entry has %d/%d", i, len(x.Request.Header), len(x.Response.Header), len(e.Request.Headers), len(e.Response.Headers))
	}
}

// TestCorpusExports checks particular values of exports by Firefox,
// Chrome, Fiddler and mitmproxy-style tools, read independently with
// encoding/json, plus what the reader derives from them.
func TestCorpusExports(t *testing.T) {
	testenv.NeedDir(t, corpusDir)
	dataDir := filepath.Join(corpusDir, "har-to-openapi", "test", "data")
	mitmDir := filepath.Join(corpusDir, "mitmproxy2swagger", "testdata")
	tests := []struct {
		file  string
		check func(t *testing.T, xs []*capture.Exchange, r *Reader)
	}{
		{filepath.Join(dataDir, "ServerService-GetNavigationMenu2-ff.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			x := xs[0]
			if x.Request.Proto != "HTTP/1.1" || len(x.Request.Body) != 230 {
				t.Errorf("Firefox entry: proto %q, body %d bytes (Content-Length 230)", x.Request.Proto, len(x.Request.Body))
			}
			// startedDateTime has a +05:30 offset: read in UTC
			if x.Timing.RequestStart.Location().String() != "UTC" || x.Timing.RequestStart.Hour() != 12 {
				t.Errorf("Firefox start %v, want 12:03:47 UTC", x.Timing.RequestStart)
			}
		}},
		{filepath.Join(dataDir, "ServerService-GetNavigationMenu2-fiddler.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			x := xs[0]
			// serverIPAddress "fe80::f020:6c27:60d:9b9c%7", an http URL
			if x.Server.Addr().Zone() != "7" || x.Server.Port() != 80 {
				t.Errorf("Fiddler server %v, want fe80::…%%7 port 80", x.Server)
			}
			if x.ConnID != "ClientPort:4915;EgressPort:4916" {
				t.Errorf("Fiddler connection %q", x.ConnID)
			}
		}},
		{filepath.Join(dataDir, "ericduran.github.io.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			if len(xs) == 0 || xs[0].Request.Target != "/chromeHAR/" {
				t.Fatalf("Chrome export: first target %q", xs[0].Request.Target)
			}
		}},
		{filepath.Join(dataDir, "request-generator-all-status-and-method.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			protos := map[string]int{}
			for _, x := range xs {
				protos[x.Request.Proto]++
			}
			if protos["h3"] == 0 {
				t.Errorf("no h3 exchange read: %v", protos)
			}
		}},
		{filepath.Join(dataDir, "invalid-url.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			if len(xs) != 0 || r.SkippedCount() != 2 {
				t.Fatalf("read %d, skipped %d; want 0 and 2", len(xs), r.SkippedCount())
			}
			for _, s := range r.Skipped() {
				if !strings.Contains(s.Reason, "URL") {
					t.Errorf("skip reason %q does not name the URL", s.Reason)
				}
			}
		}},
		{filepath.Join(dataDir, "no-success-status.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			// content {} with bodySize 120: the body was not kept
			if len(xs) != 1 || xs[0].Response.Body != nil || !xs[0].Response.Truncated || xs[0].Response.WireSize != 120 {
				t.Errorf("got %+v", xs[0].Response)
			}
		}},
		{filepath.Join(dataDir, "binary-json.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			if len(xs) != 1 || len(xs[0].Response.Body) == 0 {
				t.Fatalf("no body read")
			}
		}},
		{filepath.Join(mitmDir, "form_data_har.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			if string(xs[0].Request.Body) != "username=alice&password=secret" || xs[0].Request.WireSize != 29 {
				t.Errorf("form body %q, wire size %d", xs[0].Request.Body, xs[0].Request.WireSize)
			}
			if xs[0].Server.IsValid() || xs[0].Request.Host != "httpbin.org" {
				t.Errorf("server %v host %q", xs[0].Server, xs[0].Request.Host)
			}
		}},
		{filepath.Join(mitmDir, "headers_and_params_har.har"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			x := xs[0]
			if x.Request.Target != "/get?search=test" || x.Request.Header.Get("X-Api-Key") != "mykey" || string(x.Response.Body) != "{}" {
				t.Errorf("target %q, X-Api-Key %q, body %q", x.Request.Target, x.Request.Header.Get("X-Api-Key"), x.Response.Body)
			}
		}},
		{filepath.Join(mitmDir, "test_flows"), func(t *testing.T, xs []*capture.Exchange, r *Reader) {
			t.Fatal("a mitmproxy flow file (tnetstrings) read as HAR")
		}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			xs, r, err := readFile(t, tt.file)
			if err != nil {
				if strings.HasSuffix(tt.file, "_flows") && strings.Contains(err.Error(), "not a HAR file") {
					return
				}
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(tt.file)
			var doc struct {
				Log struct {
					Entries []json.RawMessage `json:"entries"`
				} `json:"log"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if len(xs) > 0 && (len(r.Skipped()) == 0 || r.Skipped()[0].Index > 0) {
				checkAgainstEntry(t, doc.Log.Entries[0], xs[0], 0)
			}
			tt.check(t, xs, r)
		})
	}
}
