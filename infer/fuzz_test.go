package infer_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/infer"
)

// FuzzInfer: arbitrary paths, queries and JSON bodies never crash
// inference, and what comes out validates, parses back and renders the
// same bytes.
func FuzzInfer(f *testing.F) {
	f.Add("/todos/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "done=true&limit=5", `{"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","n":1}`, `[{"a":null},{"a":1.5}]`, 200)
	f.Add("/users/me", "", `{"name":"ada","tags":["x"]}`, `{"error":"x"}`, 404)
	f.Add("//a/%zz/{x}", "a=%zz&&=", `{"1":{"2":{"3":[[[]]]}}}`, `"x"`, 500)
	f.Add("/", "q", `[1, "a", true, null, {}]`, `not json`, 201)
	f.Fuzz(func(t *testing.T, path, query, reqBody, respBody string, status int) {
		if status < 100 || status > 599 {
			status = 200
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		e := &capture.Exchange{
			Request: capture.Request{Method: "POST", Target: target, Host: "api.test", Proto: "HTTP/1.1",
				Header: capture.Header{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(reqBody)},
			Response: capture.Response{Proto: "HTTP/1.1", Status: status,
				Header: capture.Header{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(respBody)},
			Client: netip.MustParseAddrPort("10.0.0.1:40000"),
			Server: netip.MustParseAddrPort("10.0.0.2:80"),
		}
		in := infer.New(infer.Options{})
		in.Observe(e)
		in.Observe(e)
		for _, n := range in.Services() {
			doc := in.Document(n)
			b, err := infer.Marshal(doc, infer.Format{})
			if err != nil {
				t.Fatal(err)
			}
			back, err := infer.LoadDocument(b, "fuzz")
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if err := infer.Validate(context.Background(), back); err != nil {
				t.Fatalf("does not validate: %v\n%s", err, b)
			}
			again := infer.New(infer.Options{})
			if err := again.AddDocument(back); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			b2, err := infer.Marshal(again.Document(n), infer.Format{})
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != string(b2) {
				t.Fatalf("parse and render changed the document:\n%s\n---\n%s", b, b2)
			}
		}
	})
}
