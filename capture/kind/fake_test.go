package kind

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeContainer is one container the fake engine knows.
type fakeContainer struct {
	id, name string
	labels   map[string]string
	running  bool
	pid      int
}

// fakeEngine serves the Docker Engine API endpoints Nodes uses, with the
// documented paths, query encoding and JSON shapes, on a unix socket.
type fakeEngine struct {
	apiVersion, minAPIVersion string
	containers                []fakeContainer

	mu       sync.Mutex
	requests []string // method and request URI
	filters  []map[string][]string
	versions []string // {version} prefixes used
}

// shortTempDir returns a temporary directory whose path fits a unix socket.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kind")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// start serves f on a new socket and returns its DOCKER_HOST.
func (f *fakeEngine) start(t *testing.T) string {
	t.Helper()
	if f.apiVersion == "" {
		f.apiVersion, f.minAPIVersion = "1.43", "1.24"
	}
	sock := filepath.Join(shortTempDir(t), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", f.version)
	mux.HandleFunc("GET /{ver}/containers/json", f.list)
	mux.HandleFunc("GET /{ver}/containers/{id}/json", f.inspect)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		if _, pattern := mux.Handler(r); pattern == "" {
			apiError(w, http.StatusNotFound, "page not found")
			return
		}
		mux.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeEngine) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"Version": "27.0.0", "ApiVersion": f.apiVersion, "MinAPIVersion": f.minAPIVersion, "Os": "linux"})
}

// checkVersion answers as Docker does to a version outside its range.
func (f *fakeEngine) checkVersion(w http.ResponseWriter, r *http.Request) bool {
	ver := r.PathValue("ver")
	f.mu.Lock()
	f.versions = append(f.versions, ver)
	f.mu.Unlock()
	v, ok := parseVersion(strings.TrimPrefix(ver, "v"))
	min, _ := parseVersion(f.minAPIVersion)
	max, _ := parseVersion(f.apiVersion)
	if !strings.HasPrefix(ver, "v") || !ok || v.less(min) || max.less(v) {
		apiError(w, http.StatusBadRequest, "client version "+ver+" is not supported")
		return false
	}
	return true
}

func (f *fakeEngine) list(w http.ResponseWriter, r *http.Request) {
	if !f.checkVersion(w, r) {
		return
	}
	q := r.URL.Query()
	var filters map[string][]string
	if s := q.Get("filters"); s != "" {
		if err := json.Unmarshal([]byte(s), &filters); err != nil {
			apiError(w, http.StatusBadRequest, "invalid filter: "+err.Error())
			return
		}
	}
	f.mu.Lock()
	f.filters = append(f.filters, filters)
	f.mu.Unlock()
	all := q.Get("all") == "1" || q.Get("all") == "true"
	out := []map[string]any{}
	for _, c := range f.containers {
		if !all && !c.running || !matchLabels(c.labels, filters["label"]) {
			continue
		}
		state := "exited"
		if c.running {
			state = "running"
		}
		out = append(out, map[string]any{
			"Id": c.id, "Names": []string{"/" + c.name}, "Image": "kindest/node:v1.33.1",
			"Labels": c.labels, "State": state, "Status": "Up 5 minutes",
		})
	}
	writeJSON(w, out)
}

// matchLabels applies label filters: "key" or "key=value", all must hold.
func matchLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, hasValue := strings.Cut(f, "=")
		got, ok := labels[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}

func (f *fakeEngine) inspect(w http.ResponseWriter, r *http.Request) {
	if !f.checkVersion(w, r) {
		return
	}
	i := slices.IndexFunc(f.containers, func(c fakeContainer) bool { return c.id == r.PathValue("id") })
	if i < 0 {
		apiError(w, http.StatusNotFound, "No such container: "+r.PathValue("id"))
		return
	}
	c := f.containers[i]
	status, pid := "exited", 0
	if c.running {
		status, pid = "running", c.pid
	}
	writeJSON(w, map[string]any{
		"Id":    c.id,
		"Name":  "/" + c.name,
		"State": map[string]any{"Status": status, "Running": c.running, "Paused": false, "Pid": pid, "ExitCode": 0},
		"Config": map[string]any{
			"Hostname": c.name, "Image": "kindest/node:v1.33.1", "Labels": c.labels,
		},
	})
}

// kindNode is a running kind node container of cluster.
func kindNode(id, name, cluster, role string, pid int) fakeContainer {
	return fakeContainer{id: id, name: name, running: true, pid: pid,
		labels: map[string]string{ClusterLabel: cluster, RoleLabel: role}}
}
