// Package client is the demo system's integration test: it takes the todo and
// statistics services' URLs and a seed, and gives an error naming what broke.
//
// It is the suite written for v1 and never changed since (it sends and reads
// "descripton", and no owner), plus a test of DELETE /todos for v3. It
// checks what it sends against what comes back, except the description,
// which it never asserted: that is why v2's rename passes it while every
// consumer that reads "descripton" breaks. Each run draws fresh titles,
// priorities and tags from the seed.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/specgate/specgate/internal/demo/stats"
	"github.com/specgate/specgate/internal/demo/todo"
)

// UserAgent is sent with every request.
const UserAgent = "integration-tests/1.0"

// Options says what Run tests and how.
type Options struct {
	// Version is the todo service's version ("" is v1). Only v3 changes
	// what is tested: it adds DELETE /todos.
	Version string
	// StatsURL is the statistics service's base URL; "" leaves out
	// GET /stats.
	StatsURL string
	// Client sends the requests; nil: a client with a 5 s timeout.
	Client *http.Client
	// Log, when set, receives one line per request: method, path, status.
	Log io.Writer
	// Ready is how long to wait for the services' /healthz; 0 is 10 s.
	Ready time.Duration
}

// Run runs the integration test against the todo service at baseURL. It
// goes on after a failed check, as a test does, and returns every failure
// (each once, with how many times it happened), or nil when all passed.
func Run(ctx context.Context, baseURL string, seed uint64, opts Options) error {
	if opts.Version == "" {
		opts.Version = "v1"
	}
	v, ok := todo.Lookup(opts.Version)
	if !ok {
		return fmt.Errorf("unknown todo service version %q", opts.Version)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.Ready == 0 {
		opts.Ready = 10 * time.Second
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed_7e57))
	r := &runner{
		ctx:   ctx,
		todo:  strings.TrimSuffix(baseURL, "/"),
		stats: strings.TrimSuffix(opts.StatsURL, "/"),
		http:  opts.Client,
		log:   opts.Log,
		rng:   rng,
		token: fmt.Sprintf("itest-%016x", rng.Uint64()),
		count: map[string]int{},
	}
	if err := r.waitReady(opts.Ready); err != nil {
		return err
	}
	r.scenario(v.ClearDone)
	return r.result()
}

// runner holds one run: where to send requests, and the failures so far.
type runner struct {
	ctx         context.Context
	todo, stats string
	http        *http.Client
	log         io.Writer
	rng         *rand.Rand
	token       string

	fails []string          // failure keys, in the order first seen
	msg   map[string]string // first message per key
	count map[string]int
}

// failf records a failure. Failures with the same key (an operation and
// what was checked) are reported once, with a count.
func (r *runner) failf(key, format string, args ...any) {
	if r.msg == nil {
		r.msg = map[string]string{}
	}
	if r.count[key] == 0 {
		r.fails = append(r.fails, key)
		r.msg[key] = fmt.Sprintf(format, args...)
	}
	r.count[key]++
}

func (r *runner) result() error {
	if len(r.fails) == 0 {
		return nil
	}
	errs := make([]error, len(r.fails))
	for i, k := range r.fails {
		m := r.msg[k]
		if n := r.count[k]; n > 1 {
			m += fmt.Sprintf(" (%d times)", n)
		}
		errs[i] = errors.New(m)
	}
	return errors.Join(errs...)
}

// waitReady polls the services' /healthz until they answer 200.
func (r *runner) waitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(r.ctx, limit)
	defer cancel()
	for _, base := range []string{r.todo, r.stats} {
		if base == "" {
			continue
		}
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
			if err != nil {
				return fmt.Errorf("health check: %w", err)
			}
			req.Header.Set("User-Agent", UserAgent)
			resp, err := r.http.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s/healthz did not answer 200 within %v: %w", base, limit, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// response is one answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request (body encoded as JSON when not nil) and returns
// the answer; ok is false when there is none, which is a failure.
func (r *runner) call(base, method, path, op string, body any) (response, bool) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			r.failf(op+" encode", "%s: encode request: %v", op, err)
			return response{}, false
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, base+path, rd)
	if err != nil {
		r.failf(op+" request", "%s: %v", op, err)
		return response{}, false
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "application/json")
	if base == r.todo {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.failf(op+" send", "%s: %v", op, err)
		return response{}, false
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		r.failf(op+" read", "%s: read answer: %v", op, err)
		return response{}, false
	}
	if r.log != nil {
		fmt.Fprintf(r.log, "%s %s %d\n", method, path, resp.StatusCode)
	}
	return response{resp.StatusCode, resp.Header, data}, true
}

// expect sends a request and checks its status; ok is false on any other.
// op names the operation by its path template, so that failures of the
// same operation on different todos count as one.
func (r *runner) expect(base, method, path, op string, body any, want int) (response, bool) {
	resp, ok := r.call(base, method, path, op, body)
	if !ok {
		return resp, false
	}
	if resp.status != want {
		r.failf(op+" status", "%s: status %d, want %d: %s", op, resp.status, want, snippet(resp.body))
		return resp, false
	}
	if want != http.StatusNoContent {
		if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			r.failf(op+" content-type", "%s: Content-Type %q, want application/json", op, ct)
		}
	}
	return resp, true
}

// decode reads a JSON answer into out. A field of the wrong type is a
// failure naming the field, but the rest is read (as encoding/json does), so
// ok stays true and the run goes on; bad is the field's name, so that
// checks leave it alone.
func (r *runner) decode(op string, resp response, out any) (ok bool, bad string) {
	err := json.Unmarshal(resp.body, out)
	if err == nil {
		return true, ""
	}
	r.failf(op+" decode", "%s: decode answer: %v", op, err)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return true, te.Field[strings.LastIndexByte(te.Field, '.')+1:]
	}
	return false, ""
}

// expectError checks a refusal: the status, and a JSON body with an error.
func (r *runner) expectError(base, method, path, op string, body any, want int) {
	resp, ok := r.expect(base, method, path, op, body, want)
	if !ok {
		return
	}
	var e struct {
		Error string `json:"error"`
	}
	if ok, _ := r.decode(op, resp, &e); ok && e.Error == "" {
		r.failf(op+" error", "%s: no error message in %s", op, snippet(resp.body))
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// statsCounts reads GET /stats.
func (r *runner) statsCounts() (stats.Counts, bool) {
	var c stats.Counts
	resp, ok := r.expect(r.stats, http.MethodGet, "/stats", "GET /stats", nil, http.StatusOK)
	if !ok {
		return c, false
	}
	ok, bad := r.decode("GET /stats", resp, &c)
	return c, ok && bad == ""
}
