package kindsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture/kind"
)

// startEngine starts an engine with containers, closed at cleanup.
func startEngine(t *testing.T, containers ...Container) *Engine {
	t.Helper()
	e, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	for _, c := range containers {
		e.Add(c)
	}
	return e
}

// unixClient talks HTTP to a unix socket, as Docker's clients do.
func unixClient(socket string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
}

func node(id, name, cluster, role string, running bool, pid int) Container {
	return Container{ID: id, Name: name, Image: NodeImage, Running: running, Pid: pid,
		Labels: map[string]string{ClusterLabel: cluster, RoleLabel: role}, Created: time.Now().Add(-time.Hour),
		IP: netip.MustParseAddr("172.18.0.2")}
}

func id(prefix string) string { return prefix + strings.Repeat("0", 64-len(prefix)) }

// filters encodes a filters query parameter.
func filters(v any) string {
	b, _ := json.Marshal(v)
	return url.QueryEscape(string(b))
}

func TestEngineAPI(t *testing.T) {
	e := startEngine(t,
		node(id("aa1"), "dev-control-plane", "dev", "control-plane", true, 111),
		node(id("aa2"), "dev-worker", "dev", "worker", true, 222),
		node(id("bb3"), "dev-worker2", "dev", "worker", false, 333),
		node(id("cc4"), "other-control-plane", "other", "control-plane", true, 444),
		Container{ID: id("dd5"), Name: "postgres", Image: "postgres:16", Running: true, Pid: 555},
	)
	hc := unixClient(e.Socket())
	type answer struct {
		code int
		body string
	}
	call := func(method, path string) answer {
		t.Helper()
		req, err := http.NewRequest(method, "http://docker"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.Header.Get("Api-Version") != EngineAPIVersion {
			t.Errorf("%s %s: Api-Version %q", method, path, res.Header.Get("Api-Version"))
		}
		return answer{res.StatusCode, string(b)}
	}
	names := func(body string) []string {
		t.Helper()
		var list []struct {
			ID     string            `json:"Id"`
			Names  []string          `json:"Names"`
			State  string            `json:"State"`
			Labels map[string]string `json:"Labels"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("list %s: %v", body, err)
		}
		var out []string
		for _, c := range list {
			out = append(out, strings.Join(c.Names, ",")+":"+c.State)
		}
		slices.Sort(out)
		return out
	}

	t.Run("ping and version", func(t *testing.T) {
		if a := call("GET", "/_ping"); a.code != 200 || a.body != "OK" {
			t.Errorf("GET /_ping: %+v", a)
		}
		if a := call("HEAD", "/_ping"); a.code != 200 || a.body != "" {
			t.Errorf("HEAD /_ping: %+v", a)
		}
		if a := call("GET", "/v1.41/_ping"); a.code != 200 {
			t.Errorf("GET /v1.41/_ping: %+v", a)
		}
		a := call("GET", "/version")
		var v struct {
			APIVersion    string `json:"ApiVersion"`
			MinAPIVersion string
			Os            string
		}
		if err := json.Unmarshal([]byte(a.body), &v); err != nil || a.code != 200 || v.APIVersion != "1.43" || v.MinAPIVersion != "1.24" || v.Os != "linux" {
			t.Errorf("GET /version: %+v %v", a, err)
		}
	})

	t.Run("list", func(t *testing.T) {
		for _, tc := range []struct {
			name, query string
			want        []string
		}{
			{"running only", "", []string{"/dev-control-plane:running", "/dev-worker:running", "/other-control-plane:running", "/postgres:running"}},
			{"all", "?all=1", []string{"/dev-control-plane:running", "/dev-worker2:exited", "/dev-worker:running", "/other-control-plane:running", "/postgres:running"}},
			{"cluster label", "?all=1&filters=" + filters(map[string][]string{"label": {ClusterLabel + "=dev"}}),
				[]string{"/dev-control-plane:running", "/dev-worker2:exited", "/dev-worker:running"}},
			{"label key only", "?filters=" + filters(map[string][]string{"label": {ClusterLabel}}),
				[]string{"/dev-control-plane:running", "/dev-worker:running", "/other-control-plane:running"}},
			{"labels all hold", "?all=true&filters=" + filters(map[string][]string{"label": {ClusterLabel + "=dev", RoleLabel + "=worker"}}),
				[]string{"/dev-worker2:exited", "/dev-worker:running"}},
			{"old filter form", "?filters=" + filters(map[string]map[string]bool{"label": {ClusterLabel + "=other": true}}),
				[]string{"/other-control-plane:running"}},
			{"name", "?filters=" + filters(map[string][]string{"name": {"worker"}}), []string{"/dev-worker:running"}},
			{"status", "?all=1&filters=" + filters(map[string][]string{"status": {"exited"}}), []string{"/dev-worker2:exited"}},
			{"nothing", "?filters=" + filters(map[string][]string{"label": {ClusterLabel + "=none"}}), nil},
		} {
			for _, prefix := range []string{"", "/v1.41"} {
				a := call("GET", prefix+"/containers/json"+tc.query)
				if a.code != 200 {
					t.Errorf("%s%s: %+v", prefix, tc.name, a)
					continue
				}
				if got := names(a.body); !slices.Equal(got, tc.want) {
					t.Errorf("%s %s: %v, want %v", prefix, tc.name, got, tc.want)
				}
			}
		}
	})

	t.Run("inspect", func(t *testing.T) {
		for _, ref := range []string{id("aa2"), "dev-worker", "aa2"} {
			a := call("GET", "/v1.41/containers/"+ref+"/json")
			var in struct {
				ID    string `json:"Id"`
				Name  string
				State struct {
					Status  string
					Running bool
					Pid     int
				}
				Config          struct{ Labels map[string]string }
				NetworkSettings struct {
					Networks map[string]struct{ IPAddress, Gateway string }
				}
			}
			if err := json.Unmarshal([]byte(a.body), &in); err != nil || a.code != 200 {
				t.Fatalf("inspect %s: %+v %v", ref, a, err)
			}
			if in.ID != id("aa2") || in.Name != "/dev-worker" || !in.State.Running || in.State.Status != "running" || in.State.Pid != 222 ||
				in.Config.Labels[RoleLabel] != "worker" || in.NetworkSettings.Networks["kind"].IPAddress != "172.18.0.2" ||
				in.NetworkSettings.Networks["kind"].Gateway != "172.18.0.1" {
				t.Errorf("inspect %s: %+v", ref, in)
			}
		}
		a := call("GET", "/v1.41/containers/dev-worker2/json")
		if a.code != 200 || !strings.Contains(a.body, `"Status":"exited"`) || !strings.Contains(a.body, `"Pid":0`) || !strings.Contains(a.body, `"Running":false`) {
			t.Errorf("stopped: %+v", a)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			code         int
			message      string
		}{
			{"GET", "/v1.41/containers/nope/json", 404, "No such container: nope"},
			{"GET", "/v1.41/containers/aa/json", 400, "multiple IDs found with provided prefix: aa"},
			{"GET", "/v1.12/containers/json", 400, "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
			{"GET", "/v1.99/version", 400, "client version 1.99 is too new. Maximum supported API version is 1.43"},
			{"GET", "/v1.41/containers/json?filters=" + filters(map[string][]string{"color": {"red"}}), 400, "invalid filter 'color'"},
			{"GET", "/v1.41/containers/json?filters=%7Bnot-json", 400, "invalid filter: "},
			{"GET", "/v1.41/images/json", 404, "page not found"},
			{"POST", "/v1.41/containers/json", 404, "page not found"},
		} {
			a := call(tc.method, tc.path)
			var m struct{ Message string }
			if err := json.Unmarshal([]byte(a.body), &m); err != nil || a.code != tc.code || !strings.HasPrefix(m.Message, tc.message) {
				t.Errorf("%s %s: %+v, want %d %q", tc.method, tc.path, a, tc.code, tc.message)
			}
		}
	})

	if got := e.Requests(); len(got) == 0 || got[0] != "GET /_ping" {
		t.Errorf("requests %v", got)
	}
}

// TestEngineChanges: containers added, stopped and removed while the
// engine runs are seen by the next request.
func TestEngineChanges(t *testing.T) {
	e := startEngine(t)
	c := node(id("ee1"), "x-control-plane", "x", "control-plane", true, os.Getpid())
	e.Add(c)
	c.Pid = 1
	e.Add(c) // replaces
	if got := e.Containers(); len(got) != 1 || got[0].Pid != 1 {
		t.Errorf("after replace: %+v", got)
	}
	got := e.Containers()
	got[0].Labels[ClusterLabel] = "changed"
	if e.Containers()[0].Labels[ClusterLabel] != "x" {
		t.Error("Containers shares its labels with the caller")
	}
	if !e.SetRunning(c.ID, false) || e.SetRunning(id("ff"), false) {
		t.Error("SetRunning's result")
	}
	if e.Containers()[0].Running {
		t.Error("still running")
	}
	if !e.Remove(c.ID) || e.Remove(c.ID) || len(e.Containers()) != 0 {
		t.Error("Remove")
	}
}

// TestCaptureKindOnEngine runs capture/kind's discovery against the fake
// engine with this process standing for the nodes (no root needed): it
// negotiates the API version, filters by label, and reports a stopped
// node and an unknown cluster.
func TestCaptureKindOnEngine(t *testing.T) {
	pid := os.Getpid()
	e := startEngine(t,
		node(id("a1"), "dev-control-plane", "dev", "control-plane", true, pid),
		node(id("a2"), "dev-worker", "dev", "worker", false, pid),
		node(id("b1"), "prod-control-plane", "prod", "control-plane", true, pid),
	)
	ke, err := kind.NewEngine(e.Host())
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := ke.Nodes(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Name != "dev-control-plane" || nodes[0].Err != nil || nodes[0].Pid != pid ||
		nodes[0].Netns != fmt.Sprintf("/proc/%d/ns/net", pid) || nodes[0].Role != "control-plane" ||
		nodes[1].Name != "dev-worker" || !errors.Is(nodes[1].Err, kind.ErrNodeNotRunning) {
		t.Errorf("nodes %+v", nodes)
	}
	_, err = ke.Nodes(context.Background(), "staging")
	if !errors.Is(err, kind.ErrNoCluster) || !strings.Contains(err.Error(), "clusters seen: dev, prod") {
		t.Errorf("unknown cluster: %v", err)
	}
	versioned := 0
	for _, r := range e.Requests() {
		if strings.HasPrefix(r, "GET /v1.41/") {
			versioned++
		}
	}
	if versioned == 0 {
		t.Errorf("no request used the negotiated version 1.41: %v", e.Requests())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ke.Nodes(context.Background(), "dev"); !errors.Is(err, kind.ErrUnreachable) {
		t.Errorf("closed engine: %v", err)
	}
	if _, err := os.Stat(e.Socket()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Close: %v", err)
	}
}
