package cluster

import (
	"net/netip"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/specgate/specgate/internal/kubefake"
)

// fixture is a small kind-like cluster: two nodes, Deployments, a
// StatefulSet behind a Service and a headless Service, a DaemonSet,
// CronJob and Job pods, hostNetwork and static pods, a terminated pod whose
// IP was reused, a dual-stack pod, and NodePort and LoadBalancer Services.
func fixture() Objects {
	cp := kubefake.Node("kind-control-plane", "172.18.0.2")
	cp.Status.Addresses = append(cp.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fc00:f853:ccd:e793::2"})
	worker := kubefake.Node("kind-worker", "172.18.0.3")

	todoRS := kubefake.ReplicaSet("default", "todo", "7d9f8b6c5d", map[string]string{"app": "todo"})
	statsRS := kubefake.ReplicaSet("default", "stats", "59c7f4d8b9", map[string]string{"app": "stats"})
	webRS := kubefake.ReplicaSet("v6", "web-frontend", "6b8d9c7f5", map[string]string{"app": "web"})
	apiRS := kubefake.ReplicaSet("shop", "api", "84d5b6c7d", map[string]string{"app": "api"})
	legacy := kubefake.ReplicaSet("default", "legacy-rs", "x", nil)
	legacy.OwnerReferences = nil

	http := kubefake.ContainerPort("http", 8080)
	web := kubefake.DeploymentPod(webRS, "q2w3e", "kind-worker", "10.244.1.50", kubefake.ContainerPort("http", 8080))
	web.Status.PodIPs = append(web.Status.PodIPs, corev1.PodIP{IP: "fd00:10:244:1::32"})

	apiserver := kubefake.HostNetworkPod("kube-system", "kube-apiserver-kind-control-plane", cp, map[string]string{"component": "kube-apiserver"}, kubefake.ContainerPort("https", 6443))
	apiserver = kubefake.Owned(apiserver, "v1", "Node", "kind-control-plane")
	proxyCP := kubefake.Owned(kubefake.HostNetworkPod("kube-system", "kube-proxy-4xk8s", cp, map[string]string{"k8s-app": "kube-proxy"}), "apps/v1", "DaemonSet", "kube-proxy")
	proxyW := kubefake.Owned(kubefake.HostNetworkPod("kube-system", "kube-proxy-9zt2m", worker, map[string]string{"k8s-app": "kube-proxy"}), "apps/v1", "DaemonSet", "kube-proxy")

	evicted := kubefake.DeploymentPod(statsRS, "old01", "kind-worker", "10.244.1.6", kubefake.ContainerPort("metrics", 9090))
	evicted.Status.Phase, evicted.Status.Reason = corev1.PodFailed, "Evicted"
	reportDone := kubefake.Owned(kubefake.Pod("default", "report-k3m9x", "kind-worker", "10.244.1.40", nil), "batch/v1", "Job", "report")
	reportDone.Status.Phase = corev1.PodSucceeded

	legacyPod := kubefake.Owned(kubefake.Pod("default", "legacy-rs-abcde", "kind-worker", "10.244.1.60", nil), "apps/v1", "ReplicaSet", "legacy-rs")

	pods := []corev1.Pod{
		kubefake.DeploymentPod(todoRS, "abcde", "kind-worker", "10.244.1.5", http),
		kubefake.DeploymentPod(todoRS, "fghij", "kind-worker", "10.244.1.6", http),
		kubefake.DeploymentPod(statsRS, "k8s9d", "kind-worker", "10.244.1.7", kubefake.ContainerPort("metrics", 9090)),
		kubefake.DeploymentPod(apiRS, "z9x8c", "kind-worker", "10.244.3.4", http),
		web,
		kubefake.Owned(kubefake.Pod("data", "redis-0", "kind-worker", "10.244.2.3", map[string]string{"app": "redis"}, kubefake.ContainerPort("redis", 6379)), "apps/v1", "StatefulSet", "redis"),
		kubefake.Owned(kubefake.Pod("monitoring", "node-exporter-7kq2p", "kind-worker", "10.244.1.9", map[string]string{"app": "node-exporter"}), "apps/v1", "DaemonSet", "node-exporter"),
		kubefake.Owned(kubefake.Pod("batch", "nightly-28999999-x7k2p", "kind-worker", "10.244.1.20", nil), "batch/v1", "Job", "nightly-28999999"),
		kubefake.Owned(kubefake.Pod("default", "migrate-p4s8t", "kind-worker", "10.244.1.21", nil), "batch/v1", "Job", "migrate"),
		kubefake.Pod("default", "debug", "kind-worker", "10.244.1.30", nil),
		evicted, reportDone, legacyPod,
		apiserver, proxyCP, proxyW,
	}

	todoSvc := kubefake.Service("default", "todo-service", "10.96.100.10", map[string]string{"app": "todo"},
		kubefake.ServicePort("http", 80, intstr.FromString("http"), 30080))
	statsSvc := kubefake.Service("default", "stats", "10.96.100.11", map[string]string{"app": "stats"},
		kubefake.ServicePort("", 80, intstr.FromInt32(9090), 0))
	promSvc := kubefake.Service("default", "todo-metrics", "10.96.100.12", map[string]string{"app": "todo"},
		kubefake.ServicePort("prom", 9100, intstr.FromString("prom"), 0))
	redis := kubefake.Service("data", "redis-svc", "10.96.50.1", map[string]string{"app": "redis"},
		kubefake.ServicePort("redis", 6379, intstr.FromString("redis"), 0))
	redisHL := kubefake.Service("data", "redis-headless", "None", map[string]string{"app": "redis"},
		kubefake.ServicePort("redis", 6379, intstr.FromInt32(6379), 0))
	apiA := kubefake.Service("shop", "api-a", "10.96.60.1", map[string]string{"app": "api"}, kubefake.ServicePort("", 80, intstr.FromInt32(8080), 0))
	apiB := kubefake.Service("shop", "api-b", "10.96.60.2", map[string]string{"app": "api"}, kubefake.ServicePort("", 80, intstr.FromInt32(8080), 0))
	webSvc := kubefake.Service("v6", "web", "10.96.7.7", map[string]string{"app": "web"}, kubefake.ServicePort("", 80, intstr.FromInt32(8080), 0))
	webSvc.Spec.ClusterIPs = []string{"10.96.7.7", "fd00:10:96::7"}
	webSvc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	gateway := kubefake.Service("edge", "gateway", "10.96.9.9", map[string]string{"app": "gateway"},
		kubefake.ServicePort("https", 443, intstr.FromInt32(8443), 31443))
	gateway.Spec.Type = corev1.ServiceTypeLoadBalancer
	gateway.Spec.ExternalIPs = []string{"203.0.113.10"}
	gateway.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "172.18.255.200"}}
	syslog := kubefake.Service("default", "syslog", "10.96.5.14", nil, corev1.ServicePort{Port: 514, Protocol: corev1.ProtocolUDP})
	external := corev1.Service{}
	external.Namespace, external.Name = "default", "upstream"
	external.Spec.Type = corev1.ServiceTypeExternalName
	external.Spec.ExternalName = "api.example.com"

	return Objects{
		Pods:        pods,
		Services:    []corev1.Service{todoSvc, statsSvc, promSvc, redis, redisHL, apiA, apiB, webSvc, gateway, syslog, external},
		Nodes:       []corev1.Node{cp, worker},
		ReplicaSets: []appsv1.ReplicaSet{todoRS, statsRS, webRS, apiRS, legacy},
		Jobs:        []batchv1.Job{kubefake.Job("batch", "nightly-28999999", "nightly"), kubefake.Job("default", "migrate", ""), kubefake.Job("default", "report", "")},
	}
}

// serverCase is one server address and the name expected for it ("" for
// unknown).
type serverCase struct {
	addr string
	want string
	why  string
}

// fixtureServers are the server lookups the fixture must answer.
var fixtureServers = []serverCase{
	{"10.96.100.10:80", "default/todo-service", "cluster IP"},
	{"10.96.100.10:81", "", "cluster IP on a port the Service lacks"},
	{"10.244.1.5:8080", "default/todo-service", "pod IP on a named targetPort"},
	{"10.244.1.6:8080", "default/todo-service", "second pod, its IP also once a terminated pod's"},
	{"10.244.1.6:9090", "default/todo", "an evicted pod's ports do not count on its reused IP"},
	{"10.244.1.5:9100", "default/todo", "pod port no Service targets: the workload"},
	{"10.244.1.7:9090", "default/stats", "numeric targetPort"},
	{"10.96.100.11:80", "default/stats", "cluster IP, numeric target"},
	{"172.18.0.2:30080", "default/todo-service", "NodePort on the control plane"},
	{"172.18.0.3:30080", "default/todo-service", "NodePort on the worker"},
	{"[fc00:f853:ccd:e793::2]:30080", "default/todo-service", "NodePort on a node's IPv6 address"},
	{"10.244.2.3:6379", "data/redis-svc", "a Service with a cluster IP beats a headless one"},
	{"10.96.50.1:6379", "data/redis-svc", "cluster IP"},
	{"10.244.3.4:8080", "shop/api-a", "two Services on one pod port: first by name"},
	{"10.96.60.2:80", "shop/api-b", "each cluster IP names its own Service"},
	{"[fd00:10:96::7]:80", "v6/web", "IPv6 cluster IP"},
	{"[fd00:10:244:1::32]:8080", "v6/web", "IPv6 pod IP"},
	{"[::ffff:10.244.1.5]:8080", "default/todo-service", "IPv4-mapped IPv6"},
	{"[fd00:10:244:1::32]:22", "v6/web-frontend", "IPv6 pod IP, other port"},
	{"203.0.113.10:443", "edge/gateway", "externalIP"},
	{"172.18.255.200:443", "edge/gateway", "load-balancer ingress IP"},
	{"172.18.0.3:31443", "edge/gateway", "LoadBalancer's nodePort"},
	{"172.18.0.2:6443", "kube-system/kube-apiserver-kind-control-plane", "hostNetwork static pod, by its declared port"},
	{"172.18.0.2:10250", "", "node IP shared by two hostNetwork pods"},
	{"172.18.0.3:10256", "kube-system/kube-proxy", "node IP claimed by one hostNetwork pod"},
	{"10.244.1.40:8080", "default/report", "terminated pod, IP not reused"},
	{"10.96.5.14:514", "", "UDP-only Service"},
	{"10.244.9.9:80", "", "unknown pod IP"},
}

// fixtureClients are the client lookups the fixture must answer.
var fixtureClients = []serverCase{
	{"10.244.1.5", "default/todo", "Deployment pod"},
	{"10.244.1.6", "default/todo", "live pod preferred to a terminated one on the same IP"},
	{"10.244.2.3", "data/redis", "StatefulSet pod"},
	{"10.244.1.9", "monitoring/node-exporter", "DaemonSet pod"},
	{"10.244.1.20", "batch/nightly", "CronJob's Job's pod"},
	{"10.244.1.21", "default/migrate", "Job pod"},
	{"10.244.1.30", "default/debug", "bare pod"},
	{"10.244.1.40", "default/report", "terminated pod alone on its IP"},
	{"10.244.1.60", "default/legacy-rs", "ReplicaSet without a Deployment"},
	{"fd00:10:244:1::32", "v6/web-frontend", "IPv6 pod IP"},
	{"10.244.1.50", "v6/web-frontend", "dual-stack pod's IPv4"},
	{"172.18.0.2", "", "node IP with several hostNetwork pods"},
	{"172.18.0.3", "kube-system/kube-proxy", "node IP with one hostNetwork pod"},
	{"10.96.100.10", "", "cluster IPs are not clients"},
	{"192.0.2.1", "", "outside the cluster"},
}

// checkFixture asserts every fixture lookup against snap.
func checkFixture(t testingT, snap *Snapshot) {
	t.Helper()
	for _, c := range fixtureServers {
		got, ok := snap.Service(netip.MustParseAddrPort(c.addr))
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Service(%s) = %q, %v; want %q (%s)", c.addr, got, ok, c.want, c.why)
		}
	}
	for _, c := range fixtureClients {
		got, ok := snap.Workload(netip.MustParseAddr(c.addr))
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Workload(%s) = %q, %v; want %q (%s)", c.addr, got, ok, c.want, c.why)
		}
	}
}

// testingT is the part of testing.TB checkFixture uses.
type testingT interface {
	Helper()
	Errorf(format string, args ...any)
}
