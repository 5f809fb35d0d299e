// Command apitraffic serves the apiserver API on a loopback address and drives
// one fixed client scenario against it over real TCP connections, so that a
// packet capture of the port records realistic HTTP/1.1 traffic.
//
//	apitraffic -addr 127.0.0.1:18100 -scenario todos
//
// Scenarios: todos, users, reports, articles, misc, and all (each in turn).
// Most requests carry User-Agent integration-tests/1.0; the order lookups
// and GET /stats carry billing-service/2.3, over their own connections.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/specgate/specgate/internal/apiserver"
)

// The credentials the server accepts and the client presents. They are
// placeholders; specgate's capture redacts them in what it writes.
var secrets = apiserver.Secrets{
	Token:   "itest-token-5b2e9c1f",
	APIKey:  "admin-key-0d7a4e63",
	Session: "sess-8c3f1a7b2d",
}

var scenarios = []struct {
	name string
	run  func(*driver)
}{
	{"todos", (*driver).todos},
	{"users", (*driver).users},
	{"reports", (*driver).reports},
	{"articles", (*driver).articles},
	{"misc", (*driver).misc},
}

// caller is one client identity: its own connections and User-Agent.
type caller struct {
	client *http.Client
	ua     string
}

// driver sends a scenario's requests and keeps the first failure; once it
// has one, further requests are skipped.
type driver struct {
	base           string
	tests, billing caller
	n              int
	err            error
}

// do sends one request as c and decodes a JSON answer into out (when not
// nil). A status other than want is a failure. Headers come as name, value
// pairs.
func (d *driver) do(c caller, method, path string, body any, want int, out any, header ...string) {
	if d.err != nil {
		return
	}
	if err := d.send(c, method, path, body, want, out, header); err != nil {
		d.err = fmt.Errorf("%s %s: %w", method, path, err)
	}
}

func (d *driver) send(c caller, method, path string, body any, want int, out any, header []string) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	d.n++
	if resp.StatusCode != want {
		return fmt.Errorf("status %d, want %d: %s", resp.StatusCode, want, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
	}
	return nil
}

type todo struct {
	ID string `json:"id"`
}

func (d *driver) todos() {
	t := d.tests
	inputs := []map[string]any{
		{"title": "buy milk"},
		{"title": "write the quarterly report", "description": "numbers from finance first", "due": "2024-01-31"},
		{"title": "renew passport", "due": "2024-03-15", "tags": []string{"personal", "urgent"}},
		{"title": "fix the login bug", "description": "only on Safari", "tags": []string{"work"}},
		{"title": "call the plumber"},
		{"title": "plan the team offsite", "description": "two days, near the lake", "due": "2024-05-20", "tags": []string{"work", "travel"}},
		{"title": "read Designing Data-Intensive Applications", "tags": []string{"books"}},
		{"title": "water the plants", "description": "the fern needs more than the others"},
		{"title": "book dentist appointment", "due": "2024-02-12"},
		{"title": "back up the laptop", "tags": []string{"chores"}},
		{"title": "review pull requests", "description": "the parser ones first", "due": "2024-02-01", "tags": []string{"work"}},
		{"title": "send birthday card", "due": "2024-04-09"},
	}
	ids := make([]string, len(inputs))
	for i, in := range inputs {
		var td todo
		d.do(t, "POST", "/todos", in, http.StatusCreated, &td)
		ids[i] = td.ID
	}
	if d.err != nil {
		return
	}
	d.do(t, "GET", "/todos", nil, http.StatusOK, nil)
	d.do(t, "GET", "/todos?done=false", nil, http.StatusOK, nil)
	d.do(t, "GET", "/todos?limit=5", nil, http.StatusOK, nil)
	for _, id := range ids[:6] {
		d.do(t, "GET", "/todos/"+id, nil, http.StatusOK, nil)
	}
	updates := []map[string]any{
		{"title": "buy milk", "done": true},
		{"title": "write the quarterly report", "description": "numbers from finance first", "due": "2024-02-07", "priority": 1},
		{"title": "renew passport", "due": "2024-03-15", "tags": []string{"personal"}, "done": true, "priority": 3},
		{"title": "fix the login bug on Safari", "tags": []string{"work", "frontend"}, "priority": 1},
		{"title": "call the plumber", "description": "about the kitchen tap", "done": true},
	}
	for i, up := range updates {
		d.do(t, "PUT", "/todos/"+ids[i], up, http.StatusOK, nil)
	}
	d.do(t, "GET", "/todos?done=true", nil, http.StatusOK, nil)
	d.do(t, "GET", "/todos?done=false&limit=3", nil, http.StatusOK, nil)
	for _, id := range ids[8:11] {
		d.do(t, "DELETE", "/todos/"+id, nil, http.StatusNoContent, nil)
	}
	d.do(t, "GET", "/todos/"+ids[9], nil, http.StatusNotFound, nil)
	d.do(t, "POST", "/todos", map[string]any{"description": "a todo without a title"}, http.StatusBadRequest, nil)
	d.do(t, "GET", "/todos", nil, http.StatusOK, nil)
}

func (d *driver) users() {
	for i := range 100 {
		d.do(d.tests, "GET", "/users/"+apiserver.UserID(i), nil, http.StatusOK, nil)
	}
	d.do(d.tests, "GET", "/users/me", nil, http.StatusOK, nil, "Authorization", "Bearer "+secrets.Token)
	// Five users with orders (user i has i%5 of them): list, then fetch one.
	for _, i := range []int{1, 3, 4, 7, 12} {
		var orders []struct {
			ID int `json:"id"`
		}
		d.do(d.billing, "GET", "/users/"+apiserver.UserID(i)+"/orders", nil, http.StatusOK, &orders)
		if d.err == nil && len(orders) == 0 {
			d.err = fmt.Errorf("user %d has no orders", i)
		}
		if d.err != nil {
			return
		}
		last := orders[len(orders)-1].ID
		d.do(d.billing, "GET", "/users/"+apiserver.UserID(i)+"/orders/"+strconv.Itoa(last), nil, http.StatusOK, nil)
	}
	d.do(d.tests, "GET", "/users/me", nil, http.StatusUnauthorized, nil)
}

func (d *driver) reports() {
	for _, date := range []string{"2024-01-01", "2024-01-02", "2024-01-15", "2024-01-31", "2024-02-29", "2024-03-10", "2024-06-30", "2024-12-24"} {
		d.do(d.tests, "GET", "/reports/"+date, nil, http.StatusOK, nil)
	}
}

func (d *driver) articles() {
	for _, slug := range apiserver.ArticleSlugs() {
		d.do(d.tests, "GET", "/articles/"+slug, nil, http.StatusOK, nil)
	}
}

func (d *driver) misc() {
	t := d.tests
	d.do(t, "GET", "/v1/health", nil, http.StatusOK, nil)
	d.do(t, "GET", "/v1/ready", nil, http.StatusOK, nil)
	// A few todos with views, so that /stats has entries.
	for i, title := range []string{"stock the fridge", "update the wiki", "order new chairs"} {
		var td todo
		d.do(t, "POST", "/todos", map[string]any{"title": title}, http.StatusCreated, &td)
		for range i + 1 {
			d.do(t, "GET", "/todos/"+td.ID, nil, http.StatusOK, nil)
		}
	}
	d.do(d.billing, "GET", "/stats", nil, http.StatusOK, nil)
	d.do(t, "GET", "/admin/metrics", nil, http.StatusOK, nil, "X-API-Key", secrets.APIKey)
	d.do(t, "GET", "/account", nil, http.StatusOK, nil, "Cookie", "session="+secrets.Session+"; theme=dark")
}

func newCaller(ua string) caller {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Minute,
	}
	return caller{client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, ua: ua}
}

// run serves the API on addr and plays the named scenario against it.
func run(addr, scenario string) (int, error) {
	var plays []func(*driver)
	for _, s := range scenarios {
		if scenario == s.name || scenario == "all" {
			plays = append(plays, s.run)
		}
	}
	if len(plays) == 0 {
		return 0, fmt.Errorf("unknown scenario %q (todos, users, reports, articles, misc, all)", scenario)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return 0, fmt.Errorf("address %q: only a loopback IP address is allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: apiserver.New(secrets), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	d := &driver{base: "http://" + ln.Addr().String(), tests: newCaller("integration-tests/1.0"), billing: newCaller("billing-service/2.3")}
	for _, play := range plays {
		play(d)
	}
	// Close the clients' connections first, so each ends with the client's FIN.
	d.tests.client.CloseIdleConnections()
	d.billing.client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return d.n, fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return d.n, fmt.Errorf("serve: %w", err)
	}
	return d.n, d.err
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18100", "loopback address to serve the API on")
	scenario := flag.String("scenario", "all", "todos, users, reports, articles, misc or all")
	flag.Parse()
	n, err := run(*addr, *scenario)
	if err != nil {
		fmt.Fprintf(os.Stderr, "apitraffic: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "apitraffic: scenario %s: %d exchanges with http://%s\n", *scenario, n, *addr)
}
