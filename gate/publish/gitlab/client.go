package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrCannotWrite is wrapped by UpsertNote's errors when the note cannot be
// written for want of rights: no SPECGATE_GITLAB_TOKEN, not a merge request
// pipeline, or a 401, 403 or 404 answer. A caller falls back to its other
// outputs and exits by the verdict.
var ErrCannotWrite = errors.New("cannot write the merge request note")

// ErrNoBaseline is wrapped by DownloadBaseline's errors when the ref has no
// artifacts of the job (a 404 answer), or they hold no documents.
var ErrNoBaseline = errors.New("no baseline artifacts")

// Defaults of a Client's retry policy.
const (
	DefaultRetries   = 3
	DefaultBaseDelay = time.Second
	DefaultMaxDelay  = time.Minute
)

// Client calls GitLab's REST API v4 for one job's project. Set its
// exported fields before the first call; it is safe for concurrent use
// after that.
type Client struct {
	env     Env
	hc      *http.Client
	origin  *url.URL // scheme and host of env.APIURL
	baseErr error

	// Retries is how many times a request is sent again after a 5xx
	// answer, a 429 or a failed connection; 0 sends it once.
	Retries int
	// BaseDelay is the wait before the first retry; each further retry
	// waits twice as long, less up to a quarter at random.
	BaseDelay time.Duration
	// MaxDelay caps a wait. A server asking for a longer one (Retry-After)
	// is not retried: its answer is returned.
	MaxDelay time.Duration
	// Logf, when set, is told of every retry. Its lines never hold a token.
	Logf func(format string, args ...any)
}

// NewClient returns a client for env's project that sends its requests
// with hc (http.DefaultClient's settings when nil). The client works on a
// copy of hc whose redirects drop the token when they leave the API's
// origin, as artifact downloads do on their way to object storage.
func NewClient(env Env, hc *http.Client) *Client {
	c := &Client{env: env, Retries: DefaultRetries, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay}
	if strings.Contains(env.APIURL, "@") {
		c.baseErr = errors.New("gitlab: the API URL must not carry credentials")
	} else if u, err := url.Parse(env.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.baseErr = fmt.Errorf("gitlab: API URL %q is not an http(s) URL", env.APIURL)
	} else {
		c.origin = &url.URL{Scheme: u.Scheme, Host: u.Host}
		c.env.APIURL = strings.TrimRight(env.APIURL, "/")
	}
	var cp http.Client
	if hc != nil {
		cp = *hc
	}
	next := cp.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !c.sameOrigin(req.URL) {
			req.Header.Del(privateTokenHeader)
			req.Header.Del(jobTokenHeader)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	c.hc = &cp
	return c
}

// The headers that carry the two kinds of token.
const (
	privateTokenHeader = "PRIVATE-TOKEN"
	jobTokenHeader     = "JOB-TOKEN"
)

// sameOrigin tells whether u has the API's scheme and host (with port).
func (c *Client) sameOrigin(u *url.URL) bool {
	return c.origin != nil && u != nil && strings.EqualFold(u.Scheme, c.origin.Scheme) && strings.EqualFold(u.Host, c.origin.Host)
}

// call is one API request.
type call struct {
	method string
	// path is the escaped path below the API's base URL, and what errors
	// and log lines name the request by.
	path  string
	query url.Values
	// next, when set, is the absolute URL to send instead of path and
	// query: a page that a Link header pointed to, checked to be on the
	// API's origin.
	next  string
	body  []byte // JSON
	retry bool   // send again after 5xx, 429 and failed connections
	write bool   // needs PRIVATE-TOKEN; else JOB-TOKEN will do
}

// target is the URL the call is sent to.
func (k call) target(api string) string {
	if k.next != "" {
		return k.next
	}
	t := api + k.path
	if q := k.query.Encode(); q != "" {
		t += "?" + q
	}
	return t
}

// send sends a call, retrying it when k.retry allows, and returns the
// final answer whatever its status; its error is a failed connection, an
// ended context or a request that cannot be made.
func (c *Client) send(ctx context.Context, k call) (*http.Response, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	req, err := http.NewRequestWithContext(ctx, k.method, k.target(c.env.APIURL), nil)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %s %s: %s", k.method, k.path, c.redact(err.Error()))
	}
	if !c.sameOrigin(req.URL) {
		return nil, fmt.Errorf("gitlab: %s %s: refusing to send the token outside %s", k.method, k.path, c.origin.Host)
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, k)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if !k.retry {
			return resp, err
		}
		wait, ok := c.retryWait(resp, err, attempt, k)
		if !ok {
			return resp, err
		}
		drain(resp)
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("gitlab: %s %s: %w", k.method, k.path, err)
		}
	}
}

// once sends a call one time; its error is a failed connection or an
// ended context.
func (c *Client) once(ctx context.Context, k call) (*http.Response, error) {
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, k.target(c.env.APIURL), body)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %s %s: %s", k.method, k.path, c.redact(err.Error()))
	}
	switch {
	case c.env.Token != "":
		req.Header.Set(privateTokenHeader, c.env.Token)
	case c.env.JobToken != "" && !k.write:
		req.Header.Set(jobTokenHeader, c.env.JobToken)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "specgate")
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("gitlab: %s %s: %w", k.method, k.path, ctx.Err())
		}
		return nil, fmt.Errorf("gitlab: %s %s: %s", k.method, k.path, c.redact(err.Error()))
	}
	return resp, nil
}

// retryWait tells whether an answer (or a failed connection, err) to the
// attempt-th sending is worth another, and how long to wait first. It
// logs its decision.
func (c *Client) retryWait(resp *http.Response, err error, attempt int, k call) (time.Duration, bool) {
	var why string
	wait := c.backoff(attempt)
	switch {
	case err != nil:
		why = "connection failed"
	case resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusHTTPVersionNotSupported:
		why = resp.Status
		wait = max(wait, retryAfter(resp.Header))
	default:
		return 0, false
	}
	if attempt >= c.Retries {
		return 0, false
	}
	if wait > c.MaxDelay {
		c.logf("gitlab: %s %s: %s; not retrying: the server asks to wait %s", k.method, k.path, why, wait.Round(time.Second))
		return 0, false
	}
	c.logf("gitlab: %s %s: %s; retry %d of %d in %s", k.method, k.path, why, attempt+1, c.Retries, wait.Round(time.Millisecond))
	return wait, true
}

// backoff is the wait before retry n+1: BaseDelay·2ⁿ capped at MaxDelay,
// less up to a quarter at random so that parallel jobs spread out.
func (c *Client) backoff(n int) time.Duration {
	d := max(c.BaseDelay, 0)
	for i := 0; i < n && d < c.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, max(c.MaxDelay, 0))
	if q := int64(d / 4); q > 0 {
		d -= time.Duration(rand.Int64N(q))
	}
	return d
}

// retryAfter reads Retry-After, in seconds or as a date; zero when absent.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0)
	}
	return 0
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// drain reads a little of an answer that is thrown away, so that its
// connection can be used again, and closes it.
func drain(resp *http.Response) {
	if resp != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

func (c *Client) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf("%s", c.redact(fmt.Sprintf(format, args...)))
	}
}

// statusError describes an unexpected answer in one line: the request,
// the status and GitLab's message, if any, without the token. It closes
// the answer.
func (c *Client) statusError(resp *http.Response, k call) error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := apiMessage([]byte(c.redact(string(data)))) // before it is shortened
	status := resp.Status
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	text := fmt.Sprintf("gitlab: %s %s: %s", k.method, k.path, status)
	if msg != "" && !strings.EqualFold(msg, status) && !strings.EqualFold(msg, strconv.Itoa(resp.StatusCode)+" "+http.StatusText(resp.StatusCode)) {
		text += ": " + msg
	}
	return errors.New(c.redact(text))
}

// apiMessage takes the message out of GitLab's error body:
// {"message": "404 Not found"}, {"message": {"body": ["is too long"]}}
// or {"error": "insufficient_scope", "error_description": "..."}. It is
// one line of at most 300 characters.
func apiMessage(data []byte) string {
	var e struct {
		Message          json.RawMessage `json:"message"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	var msg string
	if len(e.Message) > 0 {
		var s string
		if json.Unmarshal(e.Message, &s) == nil {
			msg = s
		} else {
			var buf bytes.Buffer
			if json.Compact(&buf, e.Message) == nil {
				msg = buf.String()
			}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(e.Error + ": " + e.ErrorDescription)
		msg = strings.Trim(msg, ": ")
	}
	return shorten(oneLine(msg), 300)
}

// redact replaces the tokens in s.
func (c *Client) redact(s string) string {
	for _, t := range []string{c.env.Token, c.env.JobToken} {
		if len(t) >= 6 {
			s = strings.ReplaceAll(s, t, "REDACTED")
			if e := url.QueryEscape(t); e != t {
				s = strings.ReplaceAll(s, e, "REDACTED")
			}
		}
	}
	return s
}

// oneLine folds s onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// shorten cuts s to n characters, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
