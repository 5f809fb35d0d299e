package kind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// errPermission is the kernel's answer for a file we may not open.
const errPermission = syscall.EACCES

func mustEngine(t *testing.T, host string) *Engine {
	t.Helper()
	e, err := NewEngine(host)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNodesTwoNodes(t *testing.T) {
	pid := os.Getpid()
	f := &fakeEngine{containers: []fakeContainer{
		kindNode("bbb222", "dev-worker", "dev", "worker", pid),
		kindNode("aaa111", "dev-control-plane", "dev", "control-plane", pid),
		kindNode("ccc333", "other-control-plane", "other", "control-plane", pid),
		{id: "ddd444", name: "postgres", running: true, pid: pid, labels: map[string]string{}},
	}}
	e := mustEngine(t, f.start(t))
	nodes, err := e.Nodes(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	netns := fmt.Sprintf("/proc/%d/ns/net", pid)
	want := []Node{
		{Name: "dev-control-plane", ID: "aaa111", Role: "control-plane", Pid: pid, Netns: netns},
		{Name: "dev-worker", ID: "bbb222", Role: "worker", Pid: pid, Netns: netns},
	}
	if !reflect.DeepEqual(nodes, want) {
		t.Fatalf("nodes:\n got %+v\nwant %+v", nodes, want)
	}
	for _, n := range nodes {
		if _, err := os.Stat(n.Netns); err != nil {
			t.Errorf("netns of %s: %v", n.Name, err)
		}
	}
	// The fake decoded the filter as the API documents it.
	if len(f.filters) != 1 || !reflect.DeepEqual(f.filters[0], map[string][]string{"label": {"io.x-k8s.kind.cluster=dev"}}) {
		t.Errorf("filters sent: %v", f.filters)
	}
	for _, v := range f.versions {
		if v != "v1.41" {
			t.Errorf("API version prefix %q, want v1.41", v)
		}
	}
	wantReq := []string{"GET /version", "GET /v1.41/containers/json?", "GET /v1.41/containers/bbb222/json", "GET /v1.41/containers/aaa111/json"}
	if len(f.requests) != len(wantReq) {
		t.Fatalf("requests %q, want %q", f.requests, wantReq)
	}
	for i, w := range wantReq {
		if !strings.HasPrefix(f.requests[i], w) {
			t.Errorf("request %d: %q, want prefix %q", i, f.requests[i], w)
		}
	}
}

func TestListQueryEncoding(t *testing.T) {
	got := listQuery(true, "io.x-k8s.kind.cluster=dev")
	want := "all=1&filters=%7B%22label%22%3A%5B%22io.x-k8s.kind.cluster%3Ddev%22%5D%7D"
	if got != want {
		t.Errorf("query %s, want %s", got, want)
	}
}

func TestNegotiateVersion(t *testing.T) {
	for _, tc := range []struct{ max, min, want string }{
		{"1.43", "1.24", "v1.41"}, // Docker 24
		{"1.41", "1.24", "v1.41"}, // Podman 4, Docker 20.10
		{"1.40", "1.12", "v1.40"}, // older than asked: use what it has
		{"1.52", "1.44", "v1.44"}, // Docker 29 dropped 1.41
	} {
		t.Run(tc.max+"-"+tc.min, func(t *testing.T) {
			f := &fakeEngine{apiVersion: tc.max, minAPIVersion: tc.min, containers: []fakeContainer{
				kindNode("aaa111", "kind-control-plane", "kind", "control-plane", os.Getpid()),
			}}
			nodes, err := mustEngine(t, f.start(t)).Nodes(context.Background(), "kind")
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes) != 1 || nodes[0].Name != "kind-control-plane" {
				t.Errorf("nodes %+v", nodes)
			}
			for _, v := range f.versions {
				if v != tc.want {
					t.Errorf("prefix %s, want %s", v, tc.want)
				}
			}
		})
	}
}

func TestUnknownClusterListsOthers(t *testing.T) {
	pid := os.Getpid()
	f := &fakeEngine{containers: []fakeContainer{
		kindNode("a1", "b-control-plane", "b", "control-plane", pid),
		kindNode("a2", "b-worker", "b", "worker", pid),
		kindNode("a3", "a-control-plane", "a", "control-plane", pid),
		{id: "a4", name: "c-control-plane", pid: pid, labels: map[string]string{ClusterLabel: "c"}}, // stopped
		{id: "a5", name: "web", running: true, pid: pid, labels: map[string]string{"app": "web"}},
	}}
	_, err := mustEngine(t, f.start(t)).Nodes(context.Background(), "x")
	want := `no kind cluster named "x" (clusters seen: a, b, c)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if !errors.Is(err, ErrNoCluster) {
		t.Errorf("%v is not ErrNoCluster", err)
	}
	if len(f.filters) != 2 || !reflect.DeepEqual(f.filters[1], map[string][]string{"label": {ClusterLabel}}) {
		t.Errorf("filters %v", f.filters)
	}
}

func TestNoClustersAtAll(t *testing.T) {
	f := &fakeEngine{}
	host := f.start(t)
	_, err := mustEngine(t, host).Nodes(context.Background(), "kind")
	if err == nil || !errors.Is(err, ErrNoCluster) || !strings.Contains(err.Error(), "no kind clusters seen at "+host) {
		t.Fatalf("error %v", err)
	}
}

func TestStoppedNode(t *testing.T) {
	pid := os.Getpid()
	f := &fakeEngine{containers: []fakeContainer{
		kindNode("aaa111", "dev-control-plane", "dev", "control-plane", pid),
		{id: "bbb222", name: "dev-worker", labels: map[string]string{ClusterLabel: "dev", RoleLabel: "worker"}},
	}}
	nodes, err := mustEngine(t, f.start(t)).Nodes(context.Background(), "dev")
	if err != nil || len(nodes) != 2 {
		t.Fatalf("nodes %v, error %v: want both nodes", nodes, err)
	}
	if nodes[0].Err != nil || nodes[0].Netns == "" {
		t.Errorf("running node %+v", nodes[0])
	}
	want := `node dev-worker of kind cluster "dev" is exited: start it (docker start dev-worker) or recreate the cluster`
	if err := nodes[1].Err; err == nil || err.Error() != want || nodes[1].Name != "dev-worker" || nodes[1].Netns != "" {
		t.Fatalf("stopped node %+v, want error %s", nodes[1], want)
	}
	if !errors.Is(nodes[1].Err, ErrNodeNotRunning) {
		t.Errorf("%v is not ErrNodeNotRunning", nodes[1].Err)
	}
}

func TestNetnsMissing(t *testing.T) {
	// A pid beyond pid_max: the engine's processes are not visible here.
	f := &fakeEngine{containers: []fakeContainer{kindNode("aaa111", "kind-control-plane", "kind", "control-plane", 1<<23)}}
	nodes, err := mustEngine(t, f.start(t)).Nodes(context.Background(), "kind")
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes %v, error %v", nodes, err)
	}
	err = nodes[0].Err
	if err == nil || !errors.Is(err, ErrNetns) || !errors.Is(err, os.ErrNotExist) ||
		!strings.Contains(err.Error(), "/proc/8388608/ns/net does not exist") {
		t.Fatalf("error %v", err)
	}
}

func TestEngineDown(t *testing.T) {
	dir := shortTempDir(t)
	missing := filepath.Join(dir, "missing.sock")

	stale := filepath.Join(dir, "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("stale socket file: %v", err)
	}

	for _, sock := range []string{missing, stale} {
		t.Run(filepath.Base(sock), func(t *testing.T) {
			_, err := mustEngine(t, "unix://"+sock).Nodes(context.Background(), "kind")
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !errors.Is(err, ErrUnreachable) ||
				!strings.HasPrefix(msg, "cannot reach the container engine at unix://"+sock+": ") ||
				!strings.HasSuffix(msg, ": is Docker or Podman running?") || strings.Contains(msg, "\n") {
				t.Errorf("error %q", msg)
			}
		})
	}
}

func TestSocketPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root opens any socket")
	}
	f := &fakeEngine{}
	host := f.start(t)
	sock := strings.TrimPrefix(host, "unix://")
	if err := os.Chmod(sock, 0); err != nil {
		t.Fatal(err)
	}
	_, err := mustEngine(t, host).Nodes(context.Background(), "kind")
	if err == nil || !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "run as root or join the docker group") {
		t.Fatalf("error %v", err)
	}
}

func TestPermissionMessages(t *testing.T) {
	// The kernel's answer for a socket or namespace we may not open.
	e := mustEngine(t, "unix:///run/x.sock")
	err := e.dialError(&net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errPermission)})
	if !errors.Is(err, ErrUnreachable) || err.Error() != "cannot open the container engine's socket /run/x.sock: dial unix: connect: permission denied: run as root or join the docker group" {
		t.Errorf("socket: %v", err)
	}
	err = checkNetnsErr("/proc/1/ns/net", &os.PathError{Op: "stat", Path: "/proc/1/ns/net", Err: errPermission})
	if !errors.Is(err, ErrNetns) || !strings.Contains(err.Error(), "needs root (CAP_SYS_ADMIN)") {
		t.Errorf("netns: %v", err)
	}
}

func TestNewEngine(t *testing.T) {
	for _, tc := range []struct{ host, socket, err string }{
		{"", "/var/run/docker.sock", ""},
		{"unix:///var/run/docker.sock", "/var/run/docker.sock", ""},
		{"unix:///run/user/1000/podman/podman.sock", "/run/user/1000/podman/podman.sock", ""},
		{"tcp://127.0.0.1:2376", "", `container engine host "tcp://127.0.0.1:2376": scheme tcp is not supported: the nodes' network namespaces are only reachable on this machine, so give a local socket as unix:///path/to/docker.sock`},
		{"ssh://me@build-host", "", "scheme ssh is not supported"},
		{"npipe:////./pipe/docker_engine", "", "scheme npipe is not supported"},
		{"/var/run/docker.sock", "", "scheme none is not supported"},
		{"unix://", "", "give an absolute socket path"},
		{"unix://relative.sock", "", "give an absolute socket path"},
		{"tcp://user:s3cr3t-planted@host:2376", "", "scheme tcp is not supported"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			e, err := NewEngine(tc.host)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e.socket != tc.socket || e.Host() != "unix://"+tc.socket {
					t.Errorf("socket %q host %q, want %q", e.socket, e.Host(), tc.socket)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if strings.Contains(err.Error(), "s3cr3t-planted") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestEngineFromEnv(t *testing.T) {
	dir := shortTempDir(t)
	docker := filepath.Join(dir, "docker.sock")
	xdg := filepath.Join(dir, "xdg")
	podman := filepath.Join(xdg, "podman", "podman.sock")
	touch := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	steps := []struct {
		name   string
		setup  func()
		env    map[string]string
		socket string
		err    string
	}{
		{"nothing exists", nil, map[string]string{"XDG_RUNTIME_DIR": xdg}, docker, ""},
		{"podman only", func() { touch(podman) }, map[string]string{"XDG_RUNTIME_DIR": xdg}, podman, ""},
		{"no XDG_RUNTIME_DIR", nil, map[string]string{}, docker, ""},
		{"docker first", func() { touch(docker) }, map[string]string{"XDG_RUNTIME_DIR": xdg}, docker, ""},
		{"DOCKER_HOST wins", nil, map[string]string{"DOCKER_HOST": "unix:///elsewhere.sock", "XDG_RUNTIME_DIR": xdg}, "/elsewhere.sock", ""},
		{"DOCKER_HOST tcp", nil, map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2375"}, "", `DOCKER_HOST: container engine host "tcp://10.0.0.1:2375": scheme tcp is not supported`},
	}
	for _, s := range steps {
		if s.setup != nil {
			s.setup()
		}
		e, err := engineFromEnv(env(s.env), docker)
		if s.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), s.err) {
				t.Errorf("%s: error %v, want %q", s.name, err, s.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		if e.socket != s.socket {
			t.Errorf("%s: socket %s, want %s", s.name, e.socket, s.socket)
		}
	}
}

func TestEngineErrorStatus(t *testing.T) {
	// An engine that answers an error keeps its message, on one line.
	f := &fakeEngine{apiVersion: "1.41", minAPIVersion: "1.24"}
	host := f.start(t)
	e := mustEngine(t, host)
	var v any
	err := e.get(context.Background(), "/v1.41/containers/nope/json", &v)
	want := "container engine at " + host + ": GET /v1.41/containers/nope/json: 404 Not Found: No such container: nope"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func TestEmptyClusterName(t *testing.T) {
	if _, err := mustEngine(t, "").Nodes(context.Background(), ""); err == nil {
		t.Fatal("no error for an empty cluster name")
	}
}
