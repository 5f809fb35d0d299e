package github

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// retryPolicy bounds the retries of one request.
type retryPolicy struct {
	// attempts is how many times a request is sent at most.
	attempts int
	// base is the first backoff delay; each retry doubles it, up to max.
	base, max time.Duration
	// budget bounds the time spent waiting between attempts: a wait that
	// would pass it (a rate limit resetting in an hour) is not taken.
	budget time.Duration
}

// defaultRetry is the policy NewClient uses: four attempts, waits of
// about 1s, 2s and 4s, and at most a minute of waiting for a rate limit.
func defaultRetry() retryPolicy {
	return retryPolicy{attempts: 4, base: time.Second, max: 30 * time.Second, budget: time.Minute}
}

// unsafeRetryKey marks the context of a non-idempotent request (the
// comment's POST and PATCH) that the transport may send again.
type unsafeRetryKey struct{}

// allowRetry marks ctx so that its POST and PATCH requests are retried
// like idempotent ones.
func allowRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, unsafeRetryKey{}, true)
}

// retryTransport sends a request again, after a backoff, when the answer
// is a server error or a rate limit.
type retryTransport struct {
	base   http.RoundTripper
	policy retryPolicy
	logf   func(format string, args ...any)
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	retryable := idempotent(req.Method) || ctx.Value(unsafeRetryKey{}) != nil
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		retryable = false // the body cannot be sent twice
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.base.RoundTrip(r)
		if !retryable || attempt >= t.policy.attempts || ctx.Err() != nil {
			return resp, err
		}
		wait, why, ok := t.verdict(resp, err, attempt)
		if !ok {
			return resp, err
		}
		if waited+wait > t.policy.budget {
			t.logf("github: %s %s: %s; not retrying: the wait of %s passes the retry budget", req.Method, req.URL.Path, why, wait.Round(time.Millisecond))
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t.logf("github: %s %s: %s; retry %d of %d in %s", req.Method, req.URL.Path, why, attempt, t.policy.attempts-1, wait.Round(time.Millisecond))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		waited += wait
	}
}

// verdict tells whether an answer is worth another attempt, how long to
// wait before it, and why, in words for the log.
func (t *retryTransport) verdict(resp *http.Response, err error, attempt int) (time.Duration, string, bool) {
	backoff := t.backoff(attempt)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may be a signed one
		}
		return backoff, "request failed: " + oneLine(err.Error()), true
	}
	code := resp.StatusCode
	hint := retryAfter(resp.Header)
	switch {
	case code == http.StatusTooManyRequests,
		code == http.StatusForbidden && (resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0"):
		return max(backoff, hint), strconv.Itoa(code) + " rate limited", true
	case code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported:
		return max(backoff, hint), resp.Status, true
	}
	return 0, "", false
}

// backoff is the wait before retry n: base·2ⁿ⁻¹ capped at max, less up
// to a quarter at random so that parallel jobs spread out.
func (t *retryTransport) backoff(n int) time.Duration {
	d := t.policy.base
	for i := 1; i < n && d < t.policy.max; i++ {
		d *= 2
	}
	d = min(d, t.policy.max)
	if q := int64(d / 4); q > 0 {
		d -= time.Duration(rand.Int64N(q))
	}
	return d
}

// retryAfter reads how long the server asks a client to wait: Retry-After
// in seconds or as a date, else, when no requests remain, the time until
// X-RateLimit-Reset. Zero when it says nothing.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(time.Until(at), 0)
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Until(time.Unix(s, 0)), 0)
		}
	}
	return 0
}

// idempotent tells whether a method may be sent twice without harm.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}
