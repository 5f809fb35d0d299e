package kubefake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const token = "fake-token-1"

// cluster starts a server with two nodes, three namespaces, a Deployment's
// pods on both nodes, a bare pod, a Service and a replica set.
func cluster(t *testing.T, opts Options) *Server {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	rs := ReplicaSet("default", "todo", "7d9f8b6c5d", map[string]string{"app": "todo"})
	s.SetNodes(Node("kind-control-plane", "172.18.0.2"), Node("kind-worker", "172.18.0.3"))
	s.SetNamespaces(Namespace("default", nil), Namespace("shop", map[string]string{"specgate.io/capture": "true"}), Namespace("kube-system", nil))
	s.SetPods(
		DeploymentPod(rs, "aaaaa", "kind-worker", "10.244.1.5", ContainerPort("http", 8080)),
		DeploymentPod(rs, "bbbbb", "kind-control-plane", "10.244.0.5", ContainerPort("http", 8080)),
		Pod("shop", "debug", "kind-worker", "10.244.1.9", map[string]string{"app": "debug"}),
	)
	s.SetServices(Service("default", "todo-service", "10.96.100.10", map[string]string{"app": "todo"},
		ServicePort("http", 80, intstr.FromString("http"), 30080)))
	s.SetReplicaSets(rs)
	return s
}

// client returns a clientset configured from the server's kubeconfig.
func client(t *testing.T, s *Server) kubernetes.Interface {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := s.WriteKubeconfig(path, "fake"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path},
		&clientcmd.ConfigOverrides{CurrentContext: ContextName("fake")}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000 // client-go's default of 5 per second would slow the tests
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func podNames(l *corev1.PodList) string {
	var n []string
	for _, p := range l.Items {
		n = append(n, p.Namespace+"/"+p.Name)
	}
	return strings.Join(n, ",")
}

func TestClientGoLists(t *testing.T) {
	s := cluster(t, Options{Token: token})
	cs := client(t, s)
	ctx := context.Background()
	tests := []struct {
		name string
		ns   string
		opts metav1.ListOptions
		want string
	}{
		{"all", "", metav1.ListOptions{}, "default/todo-7d9f8b6c5d-aaaaa,default/todo-7d9f8b6c5d-bbbbb,shop/debug"},
		{"namespace", "shop", metav1.ListOptions{}, "shop/debug"},
		{"node", "", metav1.ListOptions{FieldSelector: "spec.nodeName=kind-worker"}, "default/todo-7d9f8b6c5d-aaaaa,shop/debug"},
		{"node in namespace", "default", metav1.ListOptions{FieldSelector: "spec.nodeName=kind-worker"}, "default/todo-7d9f8b6c5d-aaaaa"},
		{"labels", "", metav1.ListOptions{LabelSelector: "app=todo,pod-template-hash"}, "default/todo-7d9f8b6c5d-aaaaa,default/todo-7d9f8b6c5d-bbbbb"},
		{"set-based labels", "", metav1.ListOptions{LabelSelector: "app in (debug, other)"}, "shop/debug"},
		{"not", "", metav1.ListOptions{FieldSelector: "spec.nodeName!=kind-worker,status.phase=Running"}, "default/todo-7d9f8b6c5d-bbbbb"},
		{"none", "", metav1.ListOptions{LabelSelector: "app=nothing"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := cs.CoreV1().Pods(tc.ns).List(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := podNames(l); got != tc.want {
				t.Errorf("pods %q, want %q", got, tc.want)
			}
			if l.ResourceVersion == "" {
				t.Error("list without resourceVersion")
			}
		})
	}

	p, err := cs.CoreV1().Pods("default").Get(ctx, "todo-7d9f8b6c5d-aaaaa", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.PodIP != "10.244.1.5" || metav1.GetControllerOf(p).Name != "todo-7d9f8b6c5d" {
		t.Errorf("pod %+v", p.Status)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "nope", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: %v, want NotFound", err)
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "specgate.io/capture=true"})
	if err != nil || len(nss.Items) != 1 || nss.Items[0].Name != "shop" {
		t.Errorf("namespaces by label: %v %v", nss, err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil || ns.Labels[corev1.LabelMetadataName] != "kube-system" {
		t.Errorf("namespace: %v %v", ns, err)
	}
	svcs, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil || len(svcs.Items) != 1 || svcs.Items[0].Spec.Ports[0].NodePort != 30080 || svcs.Items[0].Spec.Type != corev1.ServiceTypeNodePort {
		t.Errorf("services: %v %v", svcs, err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 2 || nodes.Items[1].Status.Addresses[0].Address != "172.18.0.3" {
		t.Errorf("nodes: %v %v", nodes, err)
	}
	rss, err := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(rss.Items) != 1 || metav1.GetControllerOf(&rss.Items[0]).Kind != "Deployment" {
		t.Errorf("replicasets: %v %v", rss, err)
	}
	_, err = cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.color=blue"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "field label not supported: spec.color") {
		t.Errorf("unsupported field: %v", err)
	}
	if _, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("pod field on services: %v", err)
	}
}

func TestPagination(t *testing.T) {
	s := cluster(t, Options{})
	var pods []corev1.Pod
	for i := 0; i < 7; i++ {
		pods = append(pods, Pod("load", fmt.Sprintf("p%d", i), "kind-worker", fmt.Sprintf("10.244.5.%d", i), nil))
	}
	s.SetPods(pods...)
	cs := client(t, s)
	var got []string
	opts := metav1.ListOptions{Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		l, err := cs.CoreV1().Pods("load").List(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, podNames(l))
		if l.Continue == "" {
			break
		}
		if pages == 0 && (l.RemainingItemCount == nil || *l.RemainingItemCount != 4) {
			t.Errorf("remainingItemCount %v, want 4", l.RemainingItemCount)
		}
		opts.Continue = l.Continue
	}
	want := "load/p0,load/p1,load/p2|load/p3,load/p4,load/p5|load/p6"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("pages %q, want %q", g, want)
	}
	if _, err := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{Limit: 1, Continue: "!!"}); !apierrors.IsBadRequest(err) {
		t.Errorf("bad continue: %v", err)
	}
}

// get fetches a path with the server's client and decodes the JSON body.
func get(t *testing.T, s *Server, path, tok string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: %d, body not JSON: %q", path, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return resp.StatusCode, m
}

// TestWireShapes checks the JSON as the API server shapes it: lists with
// kind, apiVersion and metadata.resourceVersion, items without kind;
// single objects with kind; errors as Status.
func TestWireShapes(t *testing.T) {
	s := cluster(t, Options{Token: token})
	code, l := get(t, s, "/api/v1/pods", token)
	if code != 200 || l["kind"] != "PodList" || l["apiVersion"] != "v1" {
		t.Fatalf("%d %v", code, l)
	}
	if rv, _ := l["metadata"].(map[string]any)["resourceVersion"].(string); rv == "" {
		t.Error("no metadata.resourceVersion")
	}
	items := l["items"].([]any)
	first := items[0].(map[string]any)
	if _, ok := first["kind"]; ok {
		t.Error("list item has a kind")
	}
	if rv, _ := first["metadata"].(map[string]any)["resourceVersion"].(string); rv == "" {
		t.Error("item without resourceVersion")
	}
	code, l = get(t, s, "/apis/apps/v1/namespaces/default/replicasets", token)
	if code != 200 || l["kind"] != "ReplicaSetList" || l["apiVersion"] != "apps/v1" {
		t.Errorf("%d %v", code, l)
	}
	code, l = get(t, s, "/api/v1/namespaces/empty/pods", token)
	if code != 200 || l["items"] == nil || len(l["items"].([]any)) != 0 {
		t.Errorf("empty list: %d %v", code, l)
	}
	code, o := get(t, s, "/api/v1/nodes/kind-worker", token)
	if code != 200 || o["kind"] != "Node" || o["apiVersion"] != "v1" {
		t.Errorf("node: %d %v", code, o)
	}

	for _, c := range []struct {
		path, tok string
		code      int
		reason    string
	}{
		{"/api/v1/pods", "", 401, "Unauthorized"},
		{"/api/v1/pods", "wrong", 401, "Unauthorized"},
		{"/api/v1/pods?watch=true", token, 405, "MethodNotAllowed"},
		{"/api/v1/namespaces/default/pods?watch=1&resourceVersion=5", token, 405, "MethodNotAllowed"},
		{"/api/v1/configmaps", token, 404, "NotFound"},
		{"/api/v1/namespaces/default/nodes", token, 404, "NotFound"},
		{"/api/v1/namespaces/default/pods/todo/proxy/x", token, 404, "NotFound"},
		{"/api/v1/pods?labelSelector=a%3D%3D%3Db", token, 400, "BadRequest"},
		{"/metrics", token, 404, "NotFound"},
	} {
		code, st := get(t, s, c.path, c.tok)
		if code != c.code || st["kind"] != "Status" || st["reason"] != c.reason || st["code"] != float64(c.code) {
			t.Errorf("GET %s: %d %v, want %d %s Status", c.path, code, st, c.code, c.reason)
		}
	}
	req, _ := http.NewRequest("DELETE", s.URL+"/api/v1/namespaces/default/pods/x", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	// One list, two refused for the token, one watch, one bad selector.
	if n := s.Requests("/api/v1/pods"); n != 5 {
		t.Errorf("Requests(/api/v1/pods) = %d, want 5", n)
	}
}

func TestDiscovery(t *testing.T) {
	s := cluster(t, Options{})
	cs := client(t, s)
	groups, resources, err := cs.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups {
		names = append(names, g.Name)
	}
	if strings.Join(names, ",") != ",apps,batch" {
		t.Errorf("groups %q", names)
	}
	found := map[string]bool{}
	for _, rl := range resources {
		for _, r := range rl.APIResources {
			found[rl.GroupVersion+"/"+r.Name] = true
		}
	}
	for _, want := range []string{"v1/pods", "v1/services", "v1/nodes", "v1/namespaces", "apps/v1/replicasets", "batch/v1/jobs"} {
		if !found[want] {
			t.Errorf("discovery lacks %s: %v", want, found)
		}
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil || v.Major != "1" {
		t.Errorf("version %v %v", v, err)
	}
}

// TestHandle routes the pod proxy to a test's handler, behind the token.
func TestHandle(t *testing.T) {
	s := cluster(t, Options{Token: token})
	err := s.Handle("GET /api/v1/namespaces/{ns}/pods/{name}/proxy/{path...}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s|%s", r.PathValue("ns"), r.PathValue("name"), r.PathValue("path"))
	}))
	if err != nil {
		t.Fatal(err)
	}
	cs := client(t, s)
	b, err := cs.CoreV1().RESTClient().Get().Namespace("shop").Resource("pods").Name("debug:9090").SubResource("proxy").Suffix("shards/latest").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "shop|debug:9090|shards/latest" {
		t.Errorf("proxy answered %q", b)
	}
	if code, _ := get(t, s, "/api/v1/namespaces/shop/pods/debug:9090/proxy/x", ""); code != 401 {
		t.Errorf("extra route without token: %d", code)
	}
	if err := s.Handle("GET /api/v1/namespaces/{ns}/pods/{name}/proxy/{path...}", http.NotFoundHandler()); err == nil {
		t.Error("the same pattern twice was accepted")
	}
	if err := s.Handle("GET /bad/{x", http.NotFoundHandler()); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}

func TestKubeconfig(t *testing.T) {
	s := cluster(t, Options{Token: token})
	b, err := s.Kubeconfig("demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "kind-demo" {
		t.Errorf("current context %q", cfg.CurrentContext)
	}
	ctx := cfg.Contexts["kind-demo"]
	if ctx == nil || cfg.Clusters[ctx.Cluster].Server != s.URL || cfg.AuthInfos[ctx.AuthInfo].Token != token ||
		len(cfg.Clusters[ctx.Cluster].CertificateAuthorityData) == 0 {
		t.Errorf("kubeconfig %s", b)
	}
	if !strings.HasPrefix(s.URL, "https://") {
		t.Errorf("URL %q is not https", s.URL)
	}
	plain := New(Options{PlainHTTP: true})
	defer plain.Close()
	if !strings.HasPrefix(plain.URL, "http://") {
		t.Errorf("plain URL %q", plain.URL)
	}
	if err := s.WriteKubeconfig(filepath.Join(t.TempDir(), "no", "such", "dir"), "demo"); err == nil {
		t.Error("writing into a missing directory did not fail")
	}
}

// TestConcurrentUpdates lists while pods are replaced and added (run
// with -race): every list is one consistent state.
func TestConcurrentUpdates(t *testing.T) {
	s := cluster(t, Options{})
	cs := client(t, s)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			s.SetPods(Pod("a", "p", "n", "10.0.0.1", nil))
			s.AddPods(Pod("a", fmt.Sprintf("q%d", i), "n", "10.0.0.2", nil))
		}
	}()
	for i := 0; i < 50; i++ {
		l, err := cs.CoreV1().Pods("a").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(l.Items); n < 1 || n > 2 || l.Items[0].Name != "p" {
			t.Fatalf("list %d: %s", i, podNames(l))
		}
	}
	wg.Wait()
}

func TestObjects(t *testing.T) {
	rs := ReplicaSet("default", "todo", "abc12", map[string]string{"app": "todo"})
	p := DeploymentPod(rs, "xyz98", "kind-worker", "fd00:10:244::5")
	if p.Name != "todo-abc12-xyz98" || p.Labels["pod-template-hash"] != "abc12" || p.Labels["app"] != "todo" {
		t.Errorf("pod %s %v", p.Name, p.Labels)
	}
	if ref := metav1.GetControllerOf(&p); ref == nil || ref.Kind != "ReplicaSet" || ref.Name != "todo-abc12" {
		t.Errorf("pod owner %v", ref)
	}
	if ref := metav1.GetControllerOf(&rs); ref == nil || ref.Kind != "Deployment" || ref.Name != "todo" {
		t.Errorf("replica set owner %v", ref)
	}
	if p.Status.PodIPs[0].IP != "fd00:10:244::5" || p.Status.Phase != corev1.PodRunning {
		t.Errorf("status %+v", p.Status)
	}
	n := Node("kind-worker", "172.18.0.3")
	h := HostNetworkPod("kube-system", "kube-proxy-x", n, nil)
	if !h.Spec.HostNetwork || h.Status.PodIP != "172.18.0.3" {
		t.Errorf("host network pod %+v", h.Status)
	}
	svc := Service("default", "web", "10.96.0.5", nil, ServicePort("", 80, intstr.FromInt32(8080), 0))
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("type %s", svc.Spec.Type)
	}
	if j := Job("batch", "nightly-1", "nightly"); metav1.GetControllerOf(&j).Kind != "CronJob" {
		t.Errorf("job owner %v", j.OwnerReferences)
	}
	// The helpers copy their label maps.
	lbls := map[string]string{"app": "x"}
	q := Pod("a", "b", "c", "", lbls)
	lbls["app"] = "changed"
	if q.Labels["app"] != "x" || q.Status.PodIP != "" || len(q.Status.PodIPs) != 0 {
		t.Errorf("pod %v %+v", q.Labels, q.Status)
	}
}
