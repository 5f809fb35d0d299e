// Command client is the demo system's integration test: it drives the todo
// service through its API the way a test suite would, and fails on any
// unexpected answer.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

type client struct {
	base  string
	token string
	http  *http.Client
}

func (c *client) do(method, path string, body any, want int) map[string]any {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		fail("%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		fail("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		fail("%s %s: got %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	base := flag.String("base", "http://127.0.0.1:8089", "todo service URL")
	flag.Parse()
	c := &client{base: *base, token: "demo-token-b6f1c0e2", http: &http.Client{Timeout: 5 * time.Second}}

	// wait for the service to come up
	for i := 0; ; i++ {
		resp, err := c.http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 50 {
			fail("the todo service did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a := c.do("POST", "/todos", map[string]any{"title": "buy milk", "description": "two litres"}, 201)
	b := c.do("POST", "/todos", map[string]any{"title": "write tests"}, 201)
	c.do("GET", "/todos", nil, 200)
	c.do("GET", "/todos?done=false", nil, 200)
	c.do("GET", "/todos/"+a["id"].(string), nil, 200)
	c.do("PUT", "/todos/"+b["id"].(string), map[string]any{"title": "write tests", "done": true}, 200)
	c.do("DELETE", "/todos/"+a["id"].(string), nil, 204)
	c.do("GET", "/todos/"+a["id"].(string), nil, 404)
	fmt.Println("PASS: 8 API calls against the todo service")
}
