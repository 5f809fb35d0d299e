package redact

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
)

// call describes one request sent through a real HTTP server and the
// response the server gives to it.
type call struct {
	method, target string
	header         http.Header
	body           string
	respHeader     http.Header
	respStatus     int
	respBody       string
}

// exchanges sends each call to a test server over a real socket and
// returns the exchanges as the server received the requests and the
// client received the responses.
func exchanges(t *testing.T, calls []call) []capture.Exchange {
	t.Helper()
	type seen struct{ req capture.Request }
	got := make(chan seen, 1)
	var current int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server reading body: %v", err)
		}
		hdr := toHeader(r.Header)
		hdr = append(capture.Header{{Name: "Host", Value: r.Host}}, hdr...)
		c := calls[current] // read before handing over: the test moves on after
		got <- seen{req: capture.Request{Method: r.Method, Target: r.RequestURI, Host: r.Host, Proto: r.Proto, Header: hdr, Body: body, WireSize: int64(len(body))}}
		for k, vs := range c.respHeader {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		status := c.respStatus
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, c.respBody)
	}))
	defer srv.Close()
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var out []capture.Exchange
	for i, c := range calls {
		current = i
		req, err := http.NewRequest(c.method, srv.URL+c.target, strings.NewReader(c.body))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		for k, vs := range c.header {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("call %d: reading response: %v", i, err)
		}
		s := <-got
		out = append(out, capture.Exchange{
			Request: s.req,
			Response: capture.Response{
				Proto: resp.Proto, Status: resp.StatusCode,
				Reason: strings.TrimSpace(strings.TrimPrefix(resp.Status, strings.Fields(resp.Status)[0])),
				Header: toHeader(resp.Header), Body: body, WireSize: int64(len(body)),
			},
			ConnID: "test", Seq: i,
		})
	}
	return out
}

// toHeader turns a net/http header into an ordered one (sorted by name,
// values in the order sent).
func toHeader(h http.Header) capture.Header {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	var out capture.Header
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, capture.Field{Name: k, Value: v})
		}
	}
	return out
}

// cloneExchange deep-copies the parts of e that redaction may change.
func cloneExchange(e capture.Exchange) capture.Exchange {
	c := e
	c.Request.Header = e.Request.Header.Clone()
	c.Request.Trailer = e.Request.Trailer.Clone()
	c.Request.Body = bytes.Clone(e.Request.Body)
	c.Response.Header = e.Response.Header.Clone()
	c.Response.Trailer = e.Response.Trailer.Clone()
	c.Response.Body = bytes.Clone(e.Response.Body)
	return c
}
