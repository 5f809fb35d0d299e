package har

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
)

// FuzzReader feeds arbitrary bytes to the Reader: it never panics, its
// errors are one line naming the input, and whatever it reads writes and
// reads back the same in both formats.
func FuzzReader(f *testing.F) {
	e := `{"startedDateTime":"2024-05-01T10:00:00.123+02:00","request":{"method":"POST","url":"https://a.example:8443/p?q=1#f","httpVersion":"http/1.1",` +
		`"headers":[{"name":"Content-Encoding","value":"gzip"}],"postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"a","value":"b c"}]},"bodySize":"7"},` +
		`"response":{"status":200,"headers":[{"name":"Content-Encoding","value":"br"}],"content":{"size":3,"text":"AAEC","encoding":"base64"},"bodySize":2},` +
		`"serverIPAddress":"[::1]","timings":{"blocked":1,"send":0.25,"wait":1e3,"receive":-1}}`
	f.Add([]byte(inHAR(e, `{"request":{"method":"GET","url":"data:x"}}`, `{"request":{"method":"GET","url":"http://a/"},"response":{"status":0}}`)))
	f.Add([]byte(e + "\n" + e + "\n"))
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"GET","url":"http://h/","postData":{"text":"\ud800\u00e9\\"}},"response":{"status":"204","content":{"size":9}}}]}}`))
	f.Add([]byte(`{"log":{"pages":[],"entries":[]},"x":1}`))
	f.Add([]byte(`{"request":{"method":"GET","url":"http://a/"},"response":{"status":200}}` + "\n" + `{"request":1}`))
	f.Add([]byte("\xEF\xBB\xBF{\"log\":{\"entries\":[{\"startedDateTime\":\"9999-12-31T23:59:59Z\",\"time\":1e300,\"request\":{\"method\":\"M\",\"url\":\"http://[fe80::1%25en0]:1/\"},\"response\":{\"status\":999}}]}}"))
	g := newGen(99)
	var xs []*capture.Exchange
	for range 3 {
		xs = append(xs, g.exchange())
	}
	f.Add(writeAll(f, FormatHAR, xs))
	f.Add(writeAll(f, FormatNDJSON, xs))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz.in")
		if err != nil {
			checkErr(t, err)
			return
		}
		var got []*capture.Exchange
		for range 10000 {
			x, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				checkErr(t, err)
				break
			}
			got = append(got, x)
		}
		for _, s := range r.Skipped() {
			if s.Reason == "" || strings.Contains(s.Reason, "\n") {
				t.Fatalf("skip reason %q", s.Reason)
			}
		}
		for _, f := range []Format{FormatHAR, FormatNDJSON} {
			written := writeAll(t, f, got)
			back, rb := readAll(t, "back."+f.String(), written)
			if rb.SkippedCount() != 0 {
				t.Fatalf("%v: rereading skipped %+v", f, rb.Skipped())
			}
			if len(back) != len(got) {
				t.Fatalf("%v: wrote %d, read back %d", f, len(got), len(back))
			}
			for i := range got {
				if d := diff(got[i], back[i]); d != "" {
					t.Fatalf("%v: exchange %d: %s", f, i, d)
				}
			}
			if again := writeAll(t, f, back); !bytes.Equal(again, written) {
				t.Fatalf("%v: rewriting changed the bytes", f)
			}
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "fuzz.in") {
		t.Fatalf("error %q is not one line naming the input", msg)
	}
}
