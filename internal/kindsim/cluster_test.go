package kindsim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture/kind"
	"github.com/specgate/specgate/internal/demo/client"
	"github.com/specgate/specgate/internal/demo/redistest"
	"github.com/specgate/specgate/internal/testenv"
)

// needTools skips (or, in CI, fails) without what New needs.
func needTools(t testing.TB) {
	t.Helper()
	testenv.NeedRoot(t)
	for _, c := range []string{"ip", "iptables-restore", "iptables-save", "sleep"} {
		testenv.NeedCommand(t, c)
	}
}

// testLog sends the services' log to the test's.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// newCluster builds a cluster that the test's cleanup closes.
func newCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	needTools(t)
	if cfg.Log == nil {
		cfg.Log = testLog{t}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

// get sends GET url with rt and returns the status and body.
func get(t testing.TB, rt http.RoundTripper, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, string(b)
}

// natCounters returns iptables-save -c's packet count of each nat rule of
// the node, by the rule's text.
func natCounters(t *testing.T, c *Cluster) map[string]int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", filepath.Base(c.Node().Netns), "iptables-save", "-c", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	m := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "[") {
			continue
		}
		counts, rule, ok := strings.Cut(line[1:], "] ")
		pkts, _, _ := strings.Cut(counts, ":")
		n, err := strconv.Atoi(pkts)
		if !ok || err != nil {
			t.Fatalf("iptables-save line %q", line)
		}
		m[rule] += n
	}
	return m
}

// matching sums the counters of the rules that contain every part.
func matching(counters map[string]int, parts ...string) (rules, packets int) {
	for rule, n := range counters {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(rule, p)
		}
		if all {
			rules++
			packets += n
		}
	}
	return rules, packets
}

// TestDemoThroughServices runs the demo's integration suite through the
// todo service's NodePort, as CI does against kind, for each layout and
// for v1, v2 and v3, and checks how the traffic went: the todo pod sees
// the NodePort's requests masqueraded to the pods' gateway, and the
// statistics pod sees one event per write, from the todo pod's own
// address, sent to stats-service's ClusterIP and DNATed by the node.
func TestDemoThroughServices(t *testing.T) {
	needTools(t)
	redis := redistest.Start(t)
	for _, layout := range []Layout{Bridge, PTP} {
		t.Run(layout.String(), func(t *testing.T) {
			c := newCluster(t, Config{Name: "demo-" + layout.String(), Layout: layout, RedisURL: redis})
			todoPod, statsPod := c.Pod(AppTodo), c.Pod(AppStats)
			statsSvc, _ := c.Service(AppStats)
			gateway := netip.MustParseAddr("10.250.0.1")
			for i, version := range []string{"v1", "v2", "v3"} {
				if err := c.SetVersion(version); err != nil {
					t.Fatal(err)
				}
				todoPod.ResetServed()
				statsPod.ResetServed()
				start := time.Now()
				err := client.Run(context.Background(), c.NodeURL(), uint64(i+1), client.Options{Version: version, StatsURL: c.StatsURL()})
				if err != nil {
					t.Fatalf("%s: integration suite: %v", version, err)
				}
				t.Logf("%s: suite took %v", version, time.Since(start))

				writes := 0
				for _, s := range todoPod.Served() {
					if s.Client.Addr() != gateway || s.Server != netip.AddrPortFrom(todoPod.IP, ContainerPort) {
						t.Errorf("%s: todo pod served %s %s from %s to %s, want from %s (NodePort masquerade) to %s:%d",
							version, s.Method, s.Target, s.Client, s.Server, gateway, todoPod.IP, ContainerPort)
					}
					if s.Status < 300 && s.Method != http.MethodGet {
						writes++
					}
				}
				if todoPod.ServedTotal() < 20 {
					t.Errorf("%s: todo pod served %d requests", version, todoPod.ServedTotal())
				}
				events := 0
				sawStats := false
				for _, s := range statsPod.Served() {
					switch {
					case s.Method == http.MethodPost && s.Target == "/events":
						events++
						if s.Client.Addr() != todoPod.IP || s.Server != netip.AddrPortFrom(statsPod.IP, ContainerPort) {
							t.Errorf("%s: event from %s to %s, want from the todo pod %s to %s:%d", version, s.Client, s.Server, todoPod.IP, statsPod.IP, ContainerPort)
						}
						if s.UserAgent != "todo-service/"+version || s.Status != http.StatusAccepted {
							t.Errorf("%s: event by %q answered %d", version, s.UserAgent, s.Status)
						}
					case s.Method == http.MethodGet && s.Target == "/stats":
						sawStats = true
						if s.Client.Addr() != gateway {
							t.Errorf("%s: GET /stats from %s, want %s", version, s.Client, gateway)
						}
					}
				}
				// v3's DELETE /todos reports one event per todo it deletes.
				if events < writes || writes == 0 {
					t.Errorf("%s: %d events for %d writes", version, events, writes)
				}
				if !sawStats {
					t.Errorf("%s: the suite's GET /stats did not reach the stats pod", version)
				}
				if _, body := get(t, http.DefaultTransport, c.NodeURL()+"/healthz"); !strings.Contains(body, `"version":"`+version+`"`) {
					t.Errorf("healthz after SetVersion(%s): %s", version, body)
				}
			}
			// The events went through the stats Service's DNAT rule.
			counters := natCounters(t, c)
			dnat := "DNAT --to-destination " + netip.AddrPortFrom(statsPod.IP, ContainerPort).String()
			if rules, pkts := matching(counters, "default/stats-service:http", dnat); rules != 1 || pkts == 0 {
				t.Errorf("stats-service DNAT rule: %d rules, %d packets", rules, pkts)
			}
			clusterIP := "-d " + statsSvc.ClusterIP.String() + "/32"
			if rules, pkts := matching(counters, "-A KUBE-SERVICES", clusterIP); rules != 1 || pkts == 0 {
				t.Errorf("stats-service ClusterIP rule: %d rules, %d packets", rules, pkts)
			}
			if rules, pkts := matching(counters, "-A KUBE-NODEPORTS", "--dport "+strconv.Itoa(TodoNodePort)); rules != 1 || pkts == 0 {
				t.Errorf("todo-service NodePort rule: %d rules, %d packets", rules, pkts)
			}
			if c.Version() != "v3" {
				t.Errorf("Version() = %s", c.Version())
			}
		})
	}
}

// interfaces lists the interfaces seen from fn's namespace, with their
// IPv4 prefixes.
func interfaces(t *testing.T, do func(func() error) error) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	err := do(func() error {
		ifs, err := net.Interfaces()
		if err != nil {
			return err
		}
		for _, ifc := range ifs {
			addrs, err := ifc.Addrs()
			if err != nil {
				return err
			}
			m[ifc.Name] = []string{}
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
					m[ifc.Name] = append(m[ifc.Name], n.String())
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTopology checks the node's and pods' interfaces and addresses, and
// that the Services answer from the node and from a pod to itself.
func TestTopology(t *testing.T) {
	for _, layout := range []Layout{Bridge, PTP} {
		t.Run(layout.String(), func(t *testing.T) {
			c := newCluster(t, Config{Name: "topo", Layout: layout})
			node := c.Node()
			if node.Name != "topo-control-plane" || !strings.HasPrefix(node.IP.String(), "172.31.") || node.Gateway.Next() != node.IP {
				t.Errorf("node %+v", node)
			}
			got := interfaces(t, c.InNode)
			want := map[string][]string{
				"lo":   {"127.0.0.1/8"},
				"eth0": {node.IP.String() + "/24"},
			}
			if layout == Bridge {
				want["cni0"] = []string{"10.250.0.1/24"}
			}
			for _, p := range c.Pods() {
				want[p.HostVeth] = []string{}
				if layout == PTP {
					want[p.HostVeth] = []string{"10.250.0.1/32"}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("node interfaces\n got %v\nwant %v", got, want)
			}
			for _, p := range c.Pods() {
				got := interfaces(t, p.Do)
				want := map[string][]string{"lo": {"127.0.0.1/8"}, "eth0": {p.IP.String() + "/24"}}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s pod interfaces\n got %v\nwant %v", p.App, got, want)
				}
				if same, err := sameNetns(fmt.Sprintf("/proc/%d/ns/net", p.PID), p.Netns); err != nil || !same {
					t.Errorf("%s pod's process %d is not in %s: %v", p.App, p.PID, p.Netns, err)
				}
			}
			// The host's end of the docker network.
			hostIf, err := net.InterfaceByName(node.HostInterface)
			if err != nil {
				t.Fatal(err)
			}
			addrs, _ := hostIf.Addrs()
			if len(addrs) == 0 || addrs[0].String() != node.Gateway.String()+"/24" {
				t.Errorf("host interface %s has %v, want %s/24", node.HostInterface, addrs, node.Gateway)
			}

			todoPod := c.Pod(AppTodo)
			for _, tc := range []struct {
				name string
				rt   http.RoundTripper
				svc  string
				from netip.Addr
			}{
				// kube-proxy masquerades node-local traffic to a ClusterIP
				// (its source is not in the cluster CIDR) and a pod
				// reaching itself through its Service (hairpin).
				{"node to stats ClusterIP", &http.Transport{DialContext: dialIn(c.InNode)}, AppStats, podGateway},
				{"todo pod to its own ClusterIP", &http.Transport{DialContext: todoPod.DialContext}, AppTodo, podGateway},
				{"todo pod to stats ClusterIP", &http.Transport{DialContext: todoPod.DialContext}, AppStats, todoPod.IP},
			} {
				svc, _ := c.Service(tc.svc)
				pod := c.Pod(tc.svc)
				pod.ResetServed()
				url := "http://" + net.JoinHostPort(svc.ClusterIP.String(), strconv.Itoa(svc.Port)) + "/healthz"
				if code, body := get(t, tc.rt, url); code != http.StatusOK {
					t.Errorf("%s: %d %s", tc.name, code, body)
				}
				if s := pod.Served(); len(s) != 1 || s[0].Client.Addr() != tc.from {
					t.Errorf("%s: served %+v, want one request from %s", tc.name, s, tc.from)
				}
			}
			// Nothing leaves the node for an address it has no Service for.
			_, err = dialIn(c.InNode)(context.Background(), "tcp4", "192.0.2.1:80")
			if err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Errorf("dial off the node: %v, want network unreachable", err)
			}
		})
	}
}

// dialIn returns a DialContext that dials inside a namespace.
func dialIn(do func(func() error) error) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := do(func() error {
			var d net.Dialer
			var err error
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
}

// TestEngineFindsNode runs capture/kind's discovery against the fake
// engine: it finds the node, whose Netns is the node's namespace, and
// reports a stopped node and an unknown cluster.
func TestEngineFindsNode(t *testing.T) {
	c := newCluster(t, Config{Name: "found"})
	e, err := kind.NewEngine(c.DockerHost())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nodes, err := e.Nodes(ctx, "found")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 {
		t.Fatalf("nodes %+v", nodes)
	}
	n := nodes[0]
	if n.Err != nil {
		t.Fatalf("node: %v", n.Err)
	}
	if n.Name != "found-control-plane" || n.Role != "control-plane" || n.Pid != c.NodePID() || n.ID != c.Node().ContainerID {
		t.Errorf("node %+v, cluster node %+v", n, c.Node())
	}
	if same, err := sameNetns(n.Netns, c.Node().Netns); err != nil || !same {
		t.Errorf("%s is not the node's namespace %s: %v", n.Netns, c.Node().Netns, err)
	}
	if same, _ := sameNetns(n.Netns, "/proc/self/ns/net"); same {
		t.Errorf("%s is the test's own namespace", n.Netns)
	}
	// Capture reads the node's interfaces through that path.
	var names []string
	ns, err := openNetns(n.Netns)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.close()
	if err := ns.do(func() error {
		ifs, err := net.Interfaces()
		for _, ifc := range ifs {
			names = append(names, ifc.Name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "eth0") || !slices.Contains(names, "cni0") || !slices.Contains(names, c.Pod(AppTodo).HostVeth) {
		t.Errorf("interfaces in %s: %v", n.Netns, names)
	}

	if _, err := e.Nodes(ctx, "missing"); !errors.Is(err, kind.ErrNoCluster) || !strings.Contains(err.Error(), "clusters seen: found") {
		t.Errorf("unknown cluster: %v", err)
	}
	// A stopped node is reported as such, with the node.
	c.Engine().SetRunning(c.Node().ContainerID, false)
	if nodes, err := e.Nodes(ctx, "found"); err != nil || len(nodes) != 1 || !errors.Is(nodes[0].Err, kind.ErrNodeNotRunning) {
		t.Errorf("stopped node: %+v, %v", nodes, err)
	}
	c.Engine().SetRunning(c.Node().ContainerID, true)
	if nodes, err := e.Nodes(ctx, "found"); err != nil || len(nodes) != 1 || nodes[0].Err != nil {
		t.Errorf("restarted node: %+v, %v", nodes, err)
	}
}

// TestTwoClusters: two clusters at once share one engine, get their own
// docker networks, and keep their own todos.
func TestTwoClusters(t *testing.T) {
	engine, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	a := newCluster(t, Config{Name: "one", Engine: engine})
	b := newCluster(t, Config{Name: "two", Engine: engine, Layout: PTP})
	if a.Node().IP == b.Node().IP || a.Node().HostInterface == b.Node().HostInterface {
		t.Fatalf("clusters share %v / %s", a.Node().IP, a.Node().HostInterface)
	}
	e, err := kind.NewEngine(engine.Host())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Cluster{a, b} {
		nodes, err := e.Nodes(context.Background(), c.Name())
		if err != nil || len(nodes) != 1 || nodes[0].Pid != c.NodePID() || nodes[0].Err != nil {
			t.Errorf("%s: nodes %+v, %v", c.Name(), nodes, err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, a.NodeURL()+"/todos", strings.NewReader(`{"title":"only in one"}`))
	req.Header.Set("Authorization", "Bearer x")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /todos: %v %v", res, err)
	}
	res.Body.Close()
	count := func(c *Cluster) int {
		req, _ := http.NewRequest(http.MethodGet, c.NodeURL()+"/todos", nil)
		req.Header.Set("Authorization", "Bearer x")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var list []json.RawMessage
		if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	if n, m := count(a), count(b); n != 1 || m != 0 {
		t.Errorf("todos: %d in one, %d in two; want 1 and 0", n, m)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(engine.Containers()); got != 1 {
		t.Errorf("after closing one: %d containers, want 1", got)
	}
	if code, _ := get(t, http.DefaultTransport, b.NodeURL()+"/healthz"); code != http.StatusOK {
		t.Errorf("two after closing one: %d", code)
	}
}

// TestCloseRemovesEverything: after Close, no namespace, link, process or
// socket is left. (It does not dial the old NodePort: with the link gone,
// the host would route that address off the machine.)
func TestCloseRemovesEverything(t *testing.T) {
	needTools(t)
	c, err := New(context.Background(), Config{Name: "gone", Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	node := c.Node()
	paths := []string{node.Netns, c.Engine().Socket()}
	pids := []int{node.PID}
	for _, p := range c.Pods() {
		paths = append(paths, p.Netns)
		pids = append(pids, p.PID)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("before Close: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close, %s: %v", p, err)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("after Close, process %d lives", pid)
		}
	}
	if _, err := net.InterfaceByName(node.HostInterface); err == nil {
		t.Errorf("after Close, %s exists", node.HostInterface)
	}
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if alive(pid) {
		t.Skipf("pid %d was reused at once", pid)
	}
	return pid
}

// TestLeftoversRemoved: what a process that died without Close left (a
// namespace with a process in it, a host link, an engine directory) is
// removed by the next New, and a live process's are not.
func TestLeftoversRemoved(t *testing.T) {
	needTools(t)
	dead := deadPID(t)
	ns := fmt.Sprintf("%s%d-crashed-node", nsPrefix, dead)
	link := hostLinkName(slots-1, dead)
	mustIP := func(args ...string) {
		t.Helper()
		if err := ip(context.Background(), args...); err != nil {
			t.Fatal(err)
		}
	}
	mustIP("netns", "add", ns)
	t.Cleanup(func() { _ = ip(context.Background(), "netns", "delete", ns) })
	mustIP("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns)
	t.Cleanup(func() { _ = ip(context.Background(), "link", "delete", link) })
	orphan := exec.Command("ip", "netns", "exec", ns, "sleep", "60")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- orphan.Wait() }()
	t.Cleanup(func() { orphan.Process.Kill() })
	engineDir := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-leftover", engineDirPrefix, dead))
	if err := os.MkdirAll(engineDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A live process's namespace (this one's) stays.
	mine := fmt.Sprintf("%s%d-keepme-node", nsPrefix, os.Getpid())
	mustIP("netns", "add", mine)
	t.Cleanup(func() { _ = ip(context.Background(), "netns", "delete", mine) })

	newCluster(t, Config{Name: "after-crash"})

	if _, err := os.Stat(filepath.Join(netnsDir, ns)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover namespace %s: %v", ns, err)
	}
	if _, err := net.InterfaceByName(link); err == nil {
		t.Errorf("leftover link %s is still there", link)
	}
	if _, err := os.Stat(engineDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover engine directory: %v", err)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Errorf("the leftover namespace's process was not killed")
	}
	if _, err := os.Stat(filepath.Join(netnsDir, mine)); err != nil {
		t.Errorf("a live process's namespace was removed: %v", err)
	}
}

// TestConfigRefused: bad configurations fail before anything is built.
func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "Upper"}, `cluster name "Upper"`},
		{Config{Name: "-dash"}, `cluster name "-dash"`},
		{Config{Name: "dash-"}, `cluster name "dash-"`},
		{Config{Name: "a_b"}, `cluster name "a_b"`},
		{Config{Name: strings.Repeat("a", 41)}, "at most 40"},
		{Config{Version: "v9"}, `unknown todo service version "v9"`},
		{Config{Layout: Layout(7)}, "unknown layout 7"},
	} {
		_, err := New(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
