package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/kube/cluster"
	"github.com/specgate/specgate/capture/session"
	"github.com/specgate/specgate/internal/kubefake"
	"github.com/specgate/specgate/internal/testenv"
)

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// specgateBinary builds the specgate command once per test process.
func specgateBinary(t *testing.T) string {
	t.Helper()
	gobin := testenv.NeedCommand(t, "go")
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "specgate-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "specgate")
		out, err := exec.Command(gobin, "build", "-o", buildOnce.bin, "github.com/specgate/specgate/cmd/specgate").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.bin
}

// specgate runs the command and returns its exit code and stderr.
func specgate(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(specgateBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	case err != nil:
		t.Fatalf("specgate %s: %v", strings.Join(args, " "), err)
	}
	return 0, stderr.String()
}

// readDir returns the files of dir by name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestAcceptanceAgentAndCollectGiveTheSingleCaptureSpecs runs the agent on
// "node-a" (two pods in network namespaces of their own, traffic between
// them, a third opted-in pod whose namespace does not exist), with a
// plain capture of the same pods running beside it, then collects the
// shards with the CLI, directly and through the API server's pod proxy,
// and compares the documents with those inferred from the plain capture.
func TestAcceptanceAgentAndCollectGiveTheSingleCaptureSpecs(t *testing.T) {
	testenv.NeedRoot(t)
	specgateBinary(t) // build first: the capture below is timed
	tag := fmt.Sprintf("sgx%d", os.Getpid()%100000)
	todo, stats, todoAddr, _ := demoPair(t, tag, 237)

	// The cluster as the API server sees it.
	api, client, kubeconfig := fakeCluster(t)
	todoLabels := map[string]string{"app": "todo"}
	statsLabels := map[string]string{"app": "stats"}
	http8080 := kubefake.ContainerPort("http", 8080)
	api.SetNamespaces(kubefake.Namespace("shop", nil), kubefake.Namespace("specgate", nil))
	api.SetNodes(kubefake.Node("node-a", "172.18.0.2"), kubefake.Node("node-b", "172.18.0.3"))
	agentLabels := map[string]string{"app.kubernetes.io/name": "specgate-agent"}
	api.SetPods(
		annotated(kubefake.Pod("shop", "todo", "node-a", "10.237.0.1", todoLabels, http8080), "true"),
		annotated(kubefake.Pod("shop", "stats", "node-a", "10.237.0.2", statsLabels, http8080), "true"),
		annotated(kubefake.Pod("shop", "ghost", "node-a", "10.237.0.99", nil), "true"),
		kubefake.Pod("shop", "plain", "node-a", "10.237.0.3", nil),
		kubefake.Pod("specgate", "specgate-agent-aaaaa", "node-a", "172.18.0.2", agentLabels),
		kubefake.Pod("specgate", "specgate-agent-bbbbb", "node-b", "172.18.0.3", agentLabels),
	)
	api.SetServices(
		kubefake.Service("shop", "todo-service", "10.96.0.10", todoLabels, kubefake.ServicePort("http", 8080, intstr.FromString("http"), 0)),
		kubefake.Service("shop", "stats-service", "10.96.0.11", statsLabels, kubefake.ServicePort("http", 8080, intstr.FromInt32(8080), 0)),
	)

	// The agent of node-a, in process, its shards served over HTTP and
	// through the fake API server's pod proxy; node-b's agent is down.
	store, err := OpenStore(t.TempDir(), "node-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The agent's handler, once it exists (POST /flush needs it).
	var handler atomic.Pointer[http.Handler]
	agentSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		store.Handler().ServeHTTP(w, r)
	}))
	defer agentSrv.Close()
	target, _ := url.Parse(agentSrv.URL)
	err = api.Handle("/api/v1/namespaces/specgate/pods/{name}/proxy/{path...}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "specgate-agent-aaaaa:9090" {
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no route to host","reason":"ServiceUnavailable","code":503}`, http.StatusServiceUnavailable)
			return
		}
		p := httputil.NewSingleHostReverseProxy(target)
		r.URL.Path = "/" + r.PathValue("path")
		r.URL.RawPath = ""
		p.ServeHTTP(w, r)
	}))
	if err != nil {
		t.Fatal(err)
	}
	resolver := cluster.NewResolver(cluster.ClientLoader(client), cluster.ResolverOptions{})
	defer resolver.Close()
	if err := resolver.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := &lineWaiter{}
	ag, err := New(Config{
		Node: "node-a", Pods: &PodLister{Client: client, Node: "node-a"}, Store: store,
		Options: testOptions(), Rotate: 400 * time.Millisecond, Resync: 100 * time.Millisecond,
		Annotate: resolver.Annotate, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := ag.Handler()
	handler.Store(&h)
	agentCtx, stopAgent := context.WithCancel(context.Background())
	defer stopAgent()
	agentDone := make(chan error, 1)
	go func() { agentDone <- ag.Run(agentCtx) }()

	// The plain capture: one session in the same two namespaces.
	refResolver := cluster.NewResolver(cluster.ClientLoader(client), cluster.ResolverOptions{})
	defer refResolver.Close()
	if err := refResolver.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	ref := filepath.Join(work, "single.ndjson")
	refStop := make(chan os.Signal)
	refReady := make(chan struct{})
	refDone := make(chan error, 1)
	go func() {
		_, err := session.Run(context.Background(), session.Config{
			Options: testOptions(), Output: ref, Annotate: refResolver.Annotate, Stop: refStop,
			Targets: []session.Target{{Name: "shop/todo", Netns: todo.path}, {Name: "shop/stats", Netns: stats.path}},
			Ready:   func([]string) { close(refReady) },
		})
		refDone <- err
	}()
	select {
	case <-refReady:
	case err := <-refDone:
		t.Fatalf("the plain capture did not start: %v", err)
	}
	log.wait(t, "capturing in 2 pods on node node-a: shop/stats, shop/todo", 10*time.Second)

	sent := traffic(t, stats, todoAddr, 60, 1500*time.Millisecond)
	total := 0
	for _, n := range sent {
		total += n
	}
	stopAgent() // SIGTERM
	close(refStop)
	for name, ch := range map[string]chan error{"agent": agentDone, "plain capture": refDone} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not stop", name)
		}
	}
	if n := len(store.List()); n < 3 {
		t.Fatalf("%d shards, want at least 3 (1.5s of traffic, rotating every 400ms)", n)
	}
	if !strings.Contains(log.String(), "pod shop/ghost not captured: no network namespace on this node holds 10.237.0.99") {
		t.Errorf("the agent did not name the pod it missed:\n%s", log)
	}
	for _, st := range readStats(t, store) {
		if len(st.Missed) != 1 || st.Missed[0].Target != "shop/ghost" {
			t.Errorf("shard %s: missed %+v, want shop/ghost", st.Shard, st.Missed)
		}
	}

	// The documents of the plain capture.
	refSpecs := filepath.Join(work, "single")
	if code, stderr := specgate(t, "infer", ref, "-o", refSpecs+"/"); code != 0 {
		t.Fatalf("infer: exit %d: %s", code, stderr)
	}
	want := readDir(t, refSpecs)
	if _, ok := want["shop.todo-service.yaml"]; !ok || len(want) != 2 {
		t.Fatalf("the plain capture's documents are %v, want shop.todo-service.yaml and shop.stats-service.yaml", keys(want))
	}

	for _, c := range []struct {
		name string
		args []string
		code int
		says []string
	}{
		{"agent URL", []string{"--agent", agentSrv.URL}, 0, nil},
		{"agent URL and one gone", []string{"--agent", agentSrv.URL, "--agent", "http://127.0.0.1:1"}, 3,
			[]string{"not collected: http://127.0.0.1:1: listing shards:", "exit 3; --allow-missing accepts it"}},
		{"pod proxy, node-b down", []string{"--kubeconfig", kubeconfig}, 3,
			[]string{"not collected: specgate/specgate-agent-bbbbb on node-b: listing shards:"}},
		{"pod proxy, allow missing", []string{"--kubeconfig", kubeconfig, "--allow-missing"}, 0,
			[]string{"not collected: specgate/specgate-agent-bbbbb on node-b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "specs")
			merged := filepath.Join(t.TempDir(), "merged.ndjson")
			code, stderr := specgate(t, append([]string{"kube", "collect", "--specs", dir, "-w", merged}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			for _, s := range append(c.says, "node node-a did not capture pod shop/ghost") {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, stderr)
				}
			}
			got := readDir(t, dir)
			if !reflect.DeepEqual(keys(got), keys(want)) {
				t.Fatalf("documents %v, want %v", keys(got), keys(want))
			}
			for name := range want {
				if got[name] != want[name] {
					t.Errorf("%s differs from the plain capture's:\n--- collected\n%s\n--- plain capture\n%s", name, got[name], want[name])
				}
			}
			if n := countExchanges(t, merged); n != total {
				t.Errorf("the merge holds %d exchanges, %d were sent", n, total)
			}
			t.Logf("stderr:\n%s", stderr)
		})
	}
	if n := api.Requests("/api/v1/namespaces/specgate/pods/specgate-agent-aaaaa:9090/proxy/shards"); n != 2 {
		t.Errorf("the pod proxy listed node-a's shards %d times, want 2", n)
	}
	if n := api.Requests("/api/v1/namespaces/specgate/pods/specgate-agent-aaaaa:9090/proxy/flush"); n != 2 {
		t.Errorf("collect asked node-a's agent to flush %d times through the pod proxy, want 2", n)
	}
	t.Logf("shop.todo-service.yaml:\n%s", want["shop.todo-service.yaml"])
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// countExchanges reads an NDJSON file back.
func countExchanges(t *testing.T, path string) int {
	t.Helper()
	exs, _, err := har.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(exs)
}

// TestAgentCommandFlushesOnSIGTERM runs 'specgate kube agent' as a process,
// as the DaemonSet does, and stops it with SIGTERM: it writes the shard it
// was capturing (its rotation is an hour away) and exits 0.
func TestAgentCommandFlushesOnSIGTERM(t *testing.T) {
	testenv.NeedRoot(t)
	bin := specgateBinary(t)
	tag := fmt.Sprintf("sgt%d", os.Getpid()%100000)
	_, stats, todoAddr, _ := demoPair(t, tag, 238)
	api, _, kubeconfig := fakeCluster(t)
	api.SetNamespaces(kubefake.Namespace("shop", map[string]string{"capture": "yes"}))
	api.SetPods(
		kubefake.Pod("shop", "todo", "node-a", "10.238.0.1", nil),
		kubefake.Pod("shop", "stats", "node-a", "10.238.0.2", nil),
	)
	dir := t.TempDir()
	cmd := exec.Command(bin, "kube", "agent", "--kubeconfig", kubeconfig, "--dir", dir, "--listen", "127.0.0.1:0",
		"--rotate", "1h", "--resync", "100ms", "--buffer", "2MiB", "--namespace-selector", "capture=yes")
	cmd.Env = append(os.Environ(), "NODE_NAME=node-a")
	log := &lineWaiter{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	log.wait(t, "capturing in 2 pods on node node-a: shop/stats, shop/todo", 10*time.Second)
	sent := traffic(t, stats, todoAddr, 10, 100*time.Millisecond)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the agent exited with %v; stderr:\n%s", err, log)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent did not exit after SIGTERM; stderr:\n%s", log)
	}
	shards, err := filepath.Glob(filepath.Join(dir, "node-a-*.ndjson"))
	if err != nil || len(shards) != 1 {
		t.Fatalf("shards %v (%v), want one", shards, err)
	}
	if _, err := os.Stat(strings.TrimSuffix(shards[0], ".ndjson") + ".stats.json"); err != nil {
		t.Error(err)
	}
	total := 0
	for _, n := range sent {
		total += n
	}
	if n := countExchanges(t, shards[0]); n != total {
		t.Errorf("the shard holds %d exchanges, %d were sent; stderr:\n%s", n, total, log)
	}
}
