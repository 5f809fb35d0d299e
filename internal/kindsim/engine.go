package kindsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Labels kind puts on its node containers.
const (
	ClusterLabel = "io.x-k8s.kind.cluster"
	RoleLabel    = "io.x-k8s.kind.role"
)

// The Engine API versions the fake engine serves, as Docker 24 does.
const (
	EngineAPIVersion    = "1.43"
	EngineMinAPIVersion = "1.24"
)

// Container is a container the fake engine reports.
type Container struct {
	ID      string // 64 hex digits
	Name    string // without the leading slash
	Image   string
	Labels  map[string]string
	Running bool
	Pid     int        // the init process, when running
	IP      netip.Addr // its address on the "kind" network
	Created time.Time
}

// Engine is a fake container engine: it serves, on a unix socket, the
// Docker Engine API calls that find kind's nodes (GET /_ping, /version,
// /containers/json with filters, /containers/{id}/json), with Docker's
// paths, version prefixes, JSON shapes and error bodies. It is safe for
// concurrent use.
type Engine struct {
	dir, socket string
	ln          net.Listener
	srv         *http.Server
	done        chan struct{}

	mu         sync.Mutex
	containers []Container
	requests   []string
}

// NewEngine starts a fake engine on a new socket in a new temporary
// directory.
func NewEngine() (*Engine, error) {
	dir, err := os.MkdirTemp("", engineDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("fake engine: %w", err)
	}
	// A unix socket's path is at most 107 bytes.
	if len(dir) > 90 {
		os.RemoveAll(dir)
		if dir, err = os.MkdirTemp("/tmp", engineDirPrefix+strconv.Itoa(os.Getpid())+"-"); err != nil {
			return nil, fmt.Errorf("fake engine: %w", err)
		}
	}
	e := &Engine{dir: dir, socket: filepath.Join(dir, "docker.sock"), done: make(chan struct{})}
	e.ln, err = net.Listen("unix", e.socket)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("fake engine: %w", err)
	}
	e.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(e.route)}
	go func() {
		defer close(e.done)
		_ = e.srv.Serve(e.ln)
	}()
	return e, nil
}

// route dispatches a request as Docker does: an optional /vX.Y prefix,
// then the endpoint.
func (e *Engine) route(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests = append(e.requests, r.Method+" "+r.URL.RequestURI())
	e.mu.Unlock()
	w.Header().Set("Api-Version", EngineAPIVersion)
	w.Header().Set("Server", "Docker/24.0.7 (linux)")
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/v"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		ver, tail, _ := strings.Cut(rest, "/")
		if !e.checkVersion(w, ver) {
			return
		}
		path = "/" + tail
	}
	get := r.Method == http.MethodGet
	switch {
	case path == "/_ping" && (get || r.Method == http.MethodHead):
		e.ping(w, r)
	case path == "/version" && get:
		e.version(w, r)
	case path == "/containers/json" && get:
		e.list(w, r)
	case strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json") && get:
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/json")
		if id == "" || strings.Contains(id, "/") {
			apiError(w, http.StatusNotFound, "page not found")
			return
		}
		e.inspect(w, id)
	default:
		apiError(w, http.StatusNotFound, "page not found")
	}
}

// Host returns the engine's address for DOCKER_HOST: unix:///.../docker.sock.
func (e *Engine) Host() string { return "unix://" + e.socket }

// Socket returns the path of the engine's socket.
func (e *Engine) Socket() string { return e.socket }

// Add adds a container, or replaces the one with the same ID.
func (e *Engine) Add(c Container) {
	c.Labels = cloneLabels(c.Labels)
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := slices.IndexFunc(e.containers, func(o Container) bool { return o.ID == c.ID }); i >= 0 {
		e.containers[i] = c
		return
	}
	e.containers = append(e.containers, c)
}

// Remove removes the container with id, as docker rm does; it reports
// whether there was one.
func (e *Engine) Remove(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.containers)
	e.containers = slices.DeleteFunc(e.containers, func(c Container) bool { return c.ID == id })
	return len(e.containers) < n
}

// SetRunning marks the container with id running or stopped (its Pid is
// kept for when it runs again); it reports whether there is one.
func (e *Engine) SetRunning(id string, running bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.containers {
		if e.containers[i].ID == id {
			e.containers[i].Running = running
			return true
		}
	}
	return false
}

// Containers returns the containers the engine reports.
func (e *Engine) Containers() []Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := slices.Clone(e.containers)
	for i := range out {
		out[i].Labels = cloneLabels(out[i].Labels)
	}
	return out
}

// Requests returns the requests served so far, as "METHOD /path?query".
func (e *Engine) Requests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.requests)
}

// Close stops the engine and removes its socket.
func (e *Engine) Close() error {
	err := e.srv.Close()
	<-e.done
	if rerr := os.RemoveAll(e.dir); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("fake engine: close: %w", err)
	}
	return nil
}

func cloneLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkVersion refuses, as Docker does, a /vX.Y prefix outside the range
// the engine serves.
func (e *Engine) checkVersion(w http.ResponseWriter, v string) bool {
	got, ok := parseAPIVersion(v)
	min, _ := parseAPIVersion(EngineMinAPIVersion)
	max, _ := parseAPIVersion(EngineAPIVersion)
	switch {
	case !ok:
		apiError(w, http.StatusNotFound, "page not found")
		return false
	case got < min:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, EngineMinAPIVersion))
		return false
	case got > max:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", v, EngineAPIVersion))
		return false
	}
	return true
}

// parseAPIVersion reads "1.41" as 1041.
func parseAPIVersion(s string) (int, bool) {
	a, b, ok := strings.Cut(s, ".")
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || major < 0 || minor < 0 || minor > 999 {
		return 0, false
	}
	return major*1000 + minor, true
}

func (e *Engine) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("OK"))
	}
}

// versionBody is GET /version's answer.
type versionBody struct {
	Version       string `json:"Version"`
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:"MinAPIVersion"`
	Os            string `json:"Os"`
	Arch          string `json:"Arch"`
	KernelVersion string `json:"KernelVersion"`
}

func (e *Engine) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, versionBody{Version: "24.0.7", APIVersion: EngineAPIVersion, MinAPIVersion: EngineMinAPIVersion, Os: "linux", Arch: "amd64", KernelVersion: kernelRelease()})
}

// kernelRelease is what uname -r says, or "" when unknown.
func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// endpointSettings is a container's place on one network.
type endpointSettings struct {
	NetworkID   string `json:"NetworkID"`
	IPAddress   string `json:"IPAddress"`
	IPPrefixLen int    `json:"IPPrefixLen"`
	Gateway     string `json:"Gateway"`
}

// networkSettings lists a container's networks by name.
type networkSettings struct {
	Networks map[string]endpointSettings `json:"Networks"`
}

// summary is one item of GET /containers/json.
type summary struct {
	ID              string            `json:"Id"`
	Names           []string          `json:"Names"`
	Image           string            `json:"Image"`
	Command         string            `json:"Command"`
	Created         int64             `json:"Created"`
	Labels          map[string]string `json:"Labels"`
	State           string            `json:"State"`
	Status          string            `json:"Status"`
	NetworkSettings networkSettings   `json:"NetworkSettings"`
}

// filterKeys are the filters GET /containers/json takes here.
var filterKeys = []string{"id", "label", "name", "status"}

func (e *Engine) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filters := map[string][]string{}
	if s := q.Get("filters"); s != "" {
		if err := json.Unmarshal([]byte(s), &filters); err != nil {
			// Docker also takes the older {"label":{"k=v":true}} form.
			var old map[string]map[string]bool
			if json.Unmarshal([]byte(s), &old) != nil {
				apiError(w, http.StatusBadRequest, "invalid filter: "+err.Error())
				return
			}
			filters = map[string][]string{}
			for k, set := range old {
				for v, on := range set {
					if on {
						filters[k] = append(filters[k], v)
					}
				}
			}
		}
	}
	for k := range filters {
		if !slices.Contains(filterKeys, k) {
			apiError(w, http.StatusBadRequest, fmt.Sprintf("invalid filter '%s'", k))
			return
		}
	}
	all := q.Get("all") == "1" || strings.EqualFold(q.Get("all"), "true")
	out := []summary{}
	for _, c := range e.Containers() {
		if !all && !c.Running || !matchFilters(c, filters) {
			continue
		}
		state, status := "exited", "Exited (137) 1 second ago"
		if c.Running {
			state, status = "running", "Up "+upFor(c.Created)
		}
		out = append(out, summary{
			ID: c.ID, Names: []string{"/" + c.Name}, Image: c.Image, Command: "/usr/local/bin/entrypoint /sbin/init",
			Created: c.Created.Unix(), Labels: c.Labels, State: state, Status: status,
			NetworkSettings: networkSettings{Networks: c.networks()},
		})
	}
	writeJSON(w, out)
}

// upFor words a container's uptime as docker ps does, roughly.
func upFor(since time.Time) string {
	d := time.Since(since)
	switch {
	case d < time.Minute:
		return "Less than a minute"
	case d < 2*time.Minute:
		return "About a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	return fmt.Sprintf("%d hours", int(d.Hours()))
}

// matchFilters applies Docker's filters: values of one key are
// alternatives (any may match), except label, whose values must all hold;
// different keys must all match.
func matchFilters(c Container, filters map[string][]string) bool {
	for k, values := range filters {
		if len(values) == 0 {
			continue
		}
		var ok bool
		switch k {
		case "label":
			ok = true
			for _, f := range values {
				key, want, hasValue := strings.Cut(f, "=")
				got, has := c.Labels[key]
				if !has || hasValue && got != want {
					ok = false
				}
			}
		case "name":
			ok = slices.ContainsFunc(values, func(v string) bool { return strings.Contains(c.Name, strings.TrimPrefix(v, "/")) })
		case "id":
			ok = slices.ContainsFunc(values, func(v string) bool { return strings.HasPrefix(c.ID, v) })
		case "status":
			state := "exited"
			if c.Running {
				state = "running"
			}
			ok = slices.Contains(values, state)
		}
		if !ok {
			return false
		}
	}
	return true
}

// networks places a container on kind's docker network.
func (c Container) networks() map[string]endpointSettings {
	if !c.IP.IsValid() {
		return map[string]endpointSettings{}
	}
	s := endpointSettings{NetworkID: "kind", IPAddress: c.IP.String(), IPPrefixLen: 24}
	if p, err := c.IP.Prefix(24); err == nil {
		s.Gateway = p.Addr().Next().String()
	}
	return map[string]endpointSettings{"kind": s}
}

// inspectBody is GET /containers/{id}/json's answer.
type inspectBody struct {
	ID              string          `json:"Id"`
	Created         string          `json:"Created"`
	Name            string          `json:"Name"`
	Image           string          `json:"Image"`
	State           stateBody       `json:"State"`
	Config          configBody      `json:"Config"`
	NetworkSettings networkSettings `json:"NetworkSettings"`
}

type stateBody struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	Restarting bool   `json:"Restarting"`
	OOMKilled  bool   `json:"OOMKilled"`
	Dead       bool   `json:"Dead"`
	Pid        int    `json:"Pid"`
	ExitCode   int    `json:"ExitCode"`
	StartedAt  string `json:"StartedAt"`
}

type configBody struct {
	Hostname string            `json:"Hostname"`
	Image    string            `json:"Image"`
	Labels   map[string]string `json:"Labels"`
}

// inspect finds the container by full ID, unique ID prefix or name, as
// Docker does.
func (e *Engine) inspect(w http.ResponseWriter, ref string) {
	var found []Container
	for _, c := range e.Containers() {
		if c.ID == ref || c.Name == strings.TrimPrefix(ref, "/") {
			found = []Container{c}
			break
		}
		if ref != "" && strings.HasPrefix(c.ID, ref) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		apiError(w, http.StatusNotFound, "No such container: "+ref)
		return
	case 1:
	default:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("multiple IDs found with provided prefix: %s", ref))
		return
	}
	c := found[0]
	st := stateBody{Status: "exited", ExitCode: 137, StartedAt: c.Created.UTC().Format(time.RFC3339Nano)}
	if c.Running {
		st = stateBody{Status: "running", Running: true, Pid: c.Pid, StartedAt: st.StartedAt}
	}
	writeJSON(w, inspectBody{
		ID: c.ID, Created: c.Created.UTC().Format(time.RFC3339Nano), Name: "/" + c.Name, Image: c.Image,
		State:           st,
		Config:          configBody{Hostname: c.Name, Image: c.Image, Labels: c.Labels},
		NetworkSettings: networkSettings{Networks: c.networks()},
	})
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
