package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v81/github"
)

// ErrCannotWrite is wrapped by the error of UpsertComment when the token
// may not comment on the pull request (a 403 or 404, as a fork's pull
// request gets): the caller falls back to the job summary and
// annotations.
var ErrCannotWrite = errors.New("the token cannot write to the pull request")

// ErrRateLimited is wrapped by the error of a call that the API kept
// refusing for its rate limit after the retries.
var ErrRateLimited = errors.New("rate limited")

// ErrNoBaseline is wrapped by the error of DownloadBaseline when no
// artifact of a successful run on the branch can be had: the caller falls
// back to a committed baseline.
var ErrNoBaseline = errors.New("no baseline artifact")

// Client calls the GitHub REST API for one repository with one token.
type Client struct {
	// Logf, when set, receives one line for each retry; it never holds
	// the token.
	Logf func(format string, args ...any)

	api     *gh.Client
	storage *http.Client // for signed artifact URLs: never sends the token
	owner   string
	repo    string
	token   string
	limits  zipLimits
}

// defaultTimeout bounds one call, its retries included, when NewClient
// is given no http.Client.
const defaultTimeout = 3 * time.Minute

// NewClient makes a client for env.Repository at env.APIURL (DefaultAPIURL
// when empty) that authenticates with env.Token. hc gives the transport
// and timeout (nil: http.DefaultTransport, and a timeout of three
// minutes); its requests are retried as the package doc says. NewClient
// sends no request.
func NewClient(ctx context.Context, env Env, hc *http.Client) (*Client, error) {
	return newClient(ctx, env, hc, defaultRetry())
}

func newClient(_ context.Context, env Env, hc *http.Client, policy retryPolicy) (*Client, error) {
	if env.Token == "" {
		return nil, errors.New("github: no token: pass one, or set GITHUB_TOKEN")
	}
	owner, repo := env.Owner, env.Repo
	if owner == "" || repo == "" {
		o, r, ok := strings.Cut(env.Repository, "/")
		if !ok || o == "" || r == "" || strings.Contains(r, "/") {
			return nil, fmt.Errorf("github: repository %q is not owner/name", env.Repository)
		}
		owner, repo = o, r
	}
	api, err := normalizeAPIURL(env.APIURL)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	base, err := url.Parse(api)
	if err != nil {
		return nil, fmt.Errorf("github: api url: %v", err)
	}
	var transport http.RoundTripper = http.DefaultTransport
	httpc := http.Client{Timeout: defaultTimeout}
	if hc != nil {
		if hc.Transport != nil {
			transport = hc.Transport
		}
		httpc.Timeout = hc.Timeout
	}
	c := &Client{owner: owner, repo: repo, token: env.Token, limits: defaultZipLimits()}
	rt := &retryTransport{base: transport, policy: policy, logf: c.logf}
	httpc.Transport = rt
	c.api = gh.NewClient(&httpc).WithAuthToken(env.Token)
	c.api.BaseURL = base
	c.api.UserAgent = "specgate"
	c.storage = &http.Client{
		Transport: rt,
		Timeout:   httpc.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			req.Header.Del("Authorization")
			return nil
		},
	}
	return c, nil
}

// String names the client's repository and API, never its token, so that
// printing a Client with any verb is safe.
func (c *Client) String() string {
	return fmt.Sprintf("github.Client{%s/%s at %s}", c.owner, c.repo, c.api.BaseURL)
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// logf sends a line to Logf, without the token.
func (c *Client) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf("%s", c.redact(fmt.Sprintf(format, args...)))
	}
}

// redact replaces the token in s.
func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[token]")
}

// classify picks the sentinel an API failure with this status wraps, or nil.
type classify func(status int) error

// apiError turns what go-github gave for a failed call into one line
// naming op, with the status and the API's message, never the token. It
// wraps ErrRateLimited for a rate limit, else kind(status) when that is
// not nil, and the context's error when ctx ended.
func (c *Client) apiError(ctx context.Context, op string, resp *gh.Response, err error, kind classify) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("github: %s: %w", op, ctxErr)
	}
	status := 0
	var h http.Header
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
		h = resp.Header
	}
	msg := err.Error()
	var (
		er  *gh.ErrorResponse
		rl  *gh.RateLimitError
		arl *gh.AbuseRateLimitError
		ue  *url.Error
	)
	limited := status == http.StatusTooManyRequests ||
		status == http.StatusForbidden && (h.Get("X-RateLimit-Remaining") == "0" || h.Get("Retry-After") != "")
	switch {
	case errors.As(err, &rl):
		msg, limited = rl.Message, true
	case errors.As(err, &arl):
		msg, limited = arl.Message, true
	case errors.As(err, &er):
		msg = er.Message
	case errors.As(err, &ue):
		msg = ue.Err.Error()
	}
	text := "github: " + op + ": "
	if status != 0 {
		text += fmt.Sprintf("%d %s", status, http.StatusText(status))
		if msg != "" && !strings.HasPrefix(msg, "unexpected status code") {
			text += ": " + msg
		}
	} else {
		text += msg
	}
	text = oneLine(c.redact(text))
	var sentinel error
	switch {
	case limited:
		sentinel = ErrRateLimited
	case kind != nil:
		sentinel = kind(status)
	}
	if sentinel == nil {
		return errors.New(text)
	}
	return &opError{text: text, kind: sentinel}
}

// opError is a failure's one line, and the sentinel it is.
type opError struct {
	text string
	kind error
}

func (e *opError) Error() string { return e.text }
func (e *opError) Unwrap() error { return e.kind }

// oneLine collapses the white space of s (line breaks too) and bounds its
// length, for one-line errors built from a server's words.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}
