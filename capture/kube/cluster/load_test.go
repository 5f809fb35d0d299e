package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/specgate/specgate/internal/kubefake"
)

const testToken = "s3cr3t-token-value"

// startFake serves the fixture and returns the server and a kubeconfig
// for it whose context is kind-demo.
func startFake(t *testing.T, opts kubefake.Options) (*kubefake.Server, string) {
	t.Helper()
	srv := kubefake.New(opts)
	t.Cleanup(srv.Close)
	objs := fixture()
	srv.SetPods(objs.Pods...)
	srv.SetServices(objs.Services...)
	srv.SetNodes(objs.Nodes...)
	srv.SetReplicaSets(objs.ReplicaSets...)
	srv.SetJobs(objs.Jobs...)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := srv.WriteKubeconfig(path, "demo"); err != nil {
		t.Fatal(err)
	}
	return srv, path
}

func TestLoadThroughKubeconfig(t *testing.T) {
	for _, opts := range []kubefake.Options{{Token: testToken}, {PlainHTTP: true}} {
		t.Run(fmt.Sprintf("plain=%v", opts.PlainHTTP), func(t *testing.T) {
			srv, kc := startFake(t, opts)
			cs, err := NewClient(kc, KindContext("demo"))
			if err != nil {
				t.Fatal(err)
			}
			snap, err := Load(context.Background(), cs)
			if err != nil {
				t.Fatal(err)
			}
			checkFixture(t, snap)
			if w := snap.Warnings(); len(w) != 0 {
				t.Errorf("warnings: %q", w)
			}
			for _, p := range []string{"/api/v1/pods", "/api/v1/services", "/api/v1/nodes", "/apis/batch/v1/jobs"} {
				if n := srv.Requests(p); n != 1 {
					t.Errorf("%d requests to %s, want 1", n, p)
				}
			}
			if n := srv.Requests("/apis/apps/v1/replicasets"); n != 0 {
				t.Errorf("Load listed replicasets %d times; it names Deployments by pod-template-hash", n)
			}
		})
	}
}

func TestLoadPaginates(t *testing.T) {
	srv, kc := startFake(t, kubefake.Options{})
	pods := make([]corev1.Pod, 2*pageSize+1)
	for i := range pods {
		pods[i] = kubefake.Pod("load", fmt.Sprintf("p-%04d", i), "kind-worker",
			netip.AddrFrom4([4]byte{10, 250, byte(i >> 8), byte(i)}).String(), nil)
	}
	srv.SetPods(pods...)
	cs, err := NewClient(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Load(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests("/api/v1/pods"); n != 3 {
		t.Errorf("%d pod list requests for %d pods, want 3 pages", n, len(pods))
	}
	if c := snap.Counts(); c.Pods != len(pods) {
		t.Errorf("Counts().Pods = %d, want %d", c.Pods, len(pods))
	}
	last := netip.AddrFrom4([4]byte{10, 250, byte((len(pods) - 1) >> 8), byte(len(pods) - 1)})
	if got, _ := snap.Workload(last); got != fmt.Sprintf("load/p-%04d", len(pods)-1) {
		t.Errorf("Workload(%s) = %q", last, got)
	}
}

// rewriteKubeconfig loads a kubeconfig, edits it and writes it back.
func rewriteKubeconfig(t *testing.T, path string, edit func(*clientcmdapi.Config)) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

// checkOneLine fails t unless err is a one-line error containing each of
// want and none of the secrets.
func checkOneLine(t *testing.T, err error, want []string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error %q reveals %q", msg, s)
		}
	}
}

func TestLoadUnauthorized(t *testing.T) {
	srv, kc := startFake(t, kubefake.Options{Token: testToken})
	rewriteKubeconfig(t, kc, func(c *clientcmdapi.Config) {
		c.AuthInfos[KindContext("demo")].Token = "wrong-token-value"
	})
	cs, err := NewClient(kc, KindContext("demo"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(context.Background(), cs)
	checkOneLine(t, err, []string{"list pods", srv.URL, "unauthorized", "401"}, testToken, "wrong-token-value")
}

func TestLoadUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + ln.Addr().String()
	ln.Close()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kind-gone"] = &clientcmdapi.Cluster{Server: url, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["kind-gone"] = &clientcmdapi.AuthInfo{Token: testToken}
	cfg.Contexts["kind-gone"] = &clientcmdapi.Context{Cluster: "kind-gone", AuthInfo: "kind-gone"}
	cfg.CurrentContext = "kind-gone"
	kc := filepath.Join(t.TempDir(), "config")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}
	cs, err := NewClient(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Load(context.Background(), cs)
	checkOneLine(t, err, []string{"list pods", url, "connection refused"}, testToken)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Load took %v against a closed port", d)
	}
}

// statusHandler answers like the API server refusing a request.
func statusHandler(code int, reason metav1.StatusReason, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusFailure, Reason: reason, Message: msg, Code: int32(code),
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(b)
	})
}

// TestLoadForbidden: nodes and jobs are optional (the snapshot says what
// it lacks), pods are not.
func TestLoadForbidden(t *testing.T) {
	srv, kc := startFake(t, kubefake.Options{})
	forbid := func(res string) http.Handler {
		return statusHandler(http.StatusForbidden, metav1.StatusReasonForbidden,
			res+` is forbidden: User "system:serviceaccount:ci:specgate" cannot list resource "`+res+`" at the cluster scope`)
	}
	if err := srv.Handle("GET /api/v1/nodes", forbid("nodes")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Handle("GET /apis/batch/v1/jobs", forbid("jobs")); err != nil {
		t.Fatal(err)
	}
	cs, err := NewClient(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Load(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(snap.Warnings(), "\n")
	for _, want := range []string{"list nodes", "list jobs", "forbidden (403)", "NodePorts are not named"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
	if n, ok := snap.Service(netip.MustParseAddrPort("172.18.0.2:30080")); ok {
		t.Errorf("NodePort named %q without nodes", n)
	}
	if n, _ := snap.Workload(netip.MustParseAddr("10.244.1.20")); n != "batch/nightly-28999999" {
		t.Errorf("CronJob pod without jobs = %q, want its Job", n)
	}
	if n, _ := snap.Service(netip.MustParseAddrPort("10.96.100.10:80")); n != "default/todo-service" {
		t.Errorf("cluster IP = %q", n)
	}

	if err := srv.Handle("GET /api/v1/pods", forbid("pods")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(context.Background(), cs)
	checkOneLine(t, err, []string{"list pods", srv.URL, "forbidden (403)", "cannot list resource"})
}
