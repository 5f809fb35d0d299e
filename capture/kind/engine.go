package kind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultHost is the Docker socket used when DOCKER_HOST is unset.
const DefaultHost = "unix:///var/run/docker.sock"

// apiVersion is the Engine API version asked for when the engine accepts
// it: Docker 20.10 and Podman 3 serve it, and every field read here exists
// in it.
var apiVersion = version{1, 41}

// maxBody bounds an API response body.
const maxBody = 32 << 20

// ErrUnreachable reports that the container engine's socket is missing,
// refuses connections or may not be opened.
var ErrUnreachable = errors.New("container engine unreachable")

// Engine talks to the Docker Engine REST API (also served by Podman) over a
// unix socket. It is safe for concurrent use.
type Engine struct {
	host   string // as given, for messages (user info removed)
	socket string // path of the unix socket
	client *http.Client
}

// NewEngine returns an Engine for host, in DOCKER_HOST's syntax
// (unix:///path/to/socket); "" means DefaultHost. Only unix:// is
// supported.
func NewEngine(host string) (*Engine, error) {
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("container engine host %q: not a URL; give unix:///path/to/docker.sock", redactHost(host))
	}
	shown := u.Redacted()
	if u.Scheme != "unix" {
		scheme := u.Scheme
		if scheme == "" {
			scheme = "none"
		}
		return nil, fmt.Errorf("container engine host %q: scheme %s is not supported: the nodes' network namespaces are only reachable on this machine, so give a local socket as unix:///path/to/docker.sock", shown, scheme)
	}
	path := u.Path
	if u.Host != "" || u.Opaque != "" || path == "" {
		return nil, fmt.Errorf("container engine host %q: give an absolute socket path, as unix:///var/run/docker.sock", shown)
	}
	e := &Engine{host: "unix://" + path, socket: path}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	e.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		},
		MaxIdleConns:    4,
		IdleConnTimeout: 30 * time.Second,
	}}
	return e, nil
}

// EngineFromEnv returns an Engine for DOCKER_HOST when getenv gives it;
// otherwise for /var/run/docker.sock when that exists, then for
// $XDG_RUNTIME_DIR/podman/podman.sock when that exists, and otherwise for
// DefaultHost (whose absence Nodes then reports).
func EngineFromEnv(getenv func(string) string) (*Engine, error) {
	return engineFromEnv(getenv, "/var/run/docker.sock")
}

// engineFromEnv is EngineFromEnv with the Docker socket's path given.
func engineFromEnv(getenv func(string) string, dockerSock string) (*Engine, error) {
	if h := getenv("DOCKER_HOST"); h != "" {
		e, err := NewEngine(h)
		if err != nil {
			return nil, fmt.Errorf("DOCKER_HOST: %w", err)
		}
		return e, nil
	}
	candidates := []string{dockerSock}
	if xdg := getenv("XDG_RUNTIME_DIR"); xdg != "" {
		candidates = append(candidates, filepath.Join(xdg, "podman", "podman.sock"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return NewEngine("unix://" + c)
		}
	}
	return NewEngine("unix://" + dockerSock)
}

// Host returns the engine's address, as unix:///path.
func (e *Engine) Host() string { return e.host }

// get sends GET path (with its query) and decodes the JSON answer into v.
func (e *Engine) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return fmt.Errorf("container engine: GET %s: %w", path, err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return e.dialError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("container engine at %s: GET %s: reading the answer: %w", e.host, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var m struct {
			Message string `json:"message"`
		}
		msg := ""
		if json.Unmarshal(body, &m) == nil && m.Message != "" {
			msg = ": " + oneLine(m.Message)
		}
		return fmt.Errorf("container engine at %s: GET %s: %s%s", e.host, path, resp.Status, msg)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("container engine at %s: GET %s: decoding the answer: %w", e.host, path, err)
	}
	return nil
}

// dialError explains a failed request: most often the engine is not
// running, or the socket may not be opened.
func (e *Engine) dialError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("container engine at %s: %w", e.host, err)
	}
	var op *net.OpError
	detail := err
	if errors.As(err, &op) {
		detail = op
	}
	switch {
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return tagged(ErrUnreachable, err, "cannot open the container engine's socket %s: %v: run as root or join the docker group", e.socket, detail)
	}
	return tagged(ErrUnreachable, err, "cannot reach the container engine at %s: %v: is Docker or Podman running?", e.host, detail)
}

// negotiate picks the API version prefix: apiVersion when the engine
// accepts it, else the nearest version it accepts.
func (e *Engine) negotiate(ctx context.Context) (string, error) {
	var v struct {
		APIVersion    string `json:"ApiVersion"`
		MinAPIVersion string `json:"MinAPIVersion"`
	}
	if err := e.get(ctx, "/version", &v); err != nil {
		return "", err
	}
	use := apiVersion
	if max, ok := parseVersion(v.APIVersion); ok && max.less(use) {
		use = max
	}
	if min, ok := parseVersion(v.MinAPIVersion); ok && use.less(min) {
		use = min
	}
	return "/v" + use.String(), nil
}

// version is an Engine API version, major.minor.
type version struct{ major, minor int }

func (v version) less(w version) bool {
	return v.major < w.major || v.major == w.major && v.minor < w.minor
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// parseVersion reads "1.41".
func parseVersion(s string) (version, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return version{}, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return version{}, false
	}
	return version{major, minor}, true
}

// redactHost hides anything that looks like user info in an unparsable host.
func redactHost(h string) string {
	if at := strings.LastIndex(h, "@"); at >= 0 {
		if i := strings.Index(h, "://"); i >= 0 && i < at {
			return h[:i+3] + "xxxxx" + h[at:]
		}
		return "xxxxx" + h[at:]
	}
	return h
}

// oneLine folds an engine message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// taggedError is a message that also matches a sentinel (and the cause it
// explains) under errors.Is, without repeating the sentinel's text.
type taggedError struct {
	msg  string
	errs []error
}

func (e *taggedError) Error() string   { return e.msg }
func (e *taggedError) Unwrap() []error { return e.errs }

// tagged formats a message that matches sentinel and cause (nil for none).
func tagged(sentinel, cause error, format string, args ...any) error {
	errs := []error{sentinel}
	if cause != nil {
		errs = append(errs, cause)
	}
	return &taggedError{msg: fmt.Sprintf(format, args...), errs: errs}
}
