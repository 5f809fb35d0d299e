package kindsim

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestObjectsMatchTheCluster checks the objects against each other, as
// Kubernetes relates them (owners, selectors, named ports), and against
// what the cluster really does: each Service's ClusterIP and NodePort
// reach the pod its selector picks.
func TestObjectsMatchTheCluster(t *testing.T) {
	c := newCluster(t, Config{Name: "objects"})
	o := c.Objects()
	node := c.Node()

	if len(o.Nodes) != 1 {
		t.Fatalf("nodes %d", len(o.Nodes))
	}
	n := o.Nodes[0]
	var internal string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			internal = a.Address
		}
	}
	if n.Name != node.Name || internal != node.IP.String() || n.Spec.PodCIDR != PodCIDR {
		t.Errorf("node %s, InternalIP %s, podCIDR %s", n.Name, internal, n.Spec.PodCIDR)
	}
	podCIDR := netip.MustParsePrefix(n.Spec.PodCIDR)

	rsByName := map[string]appsv1.ReplicaSet{}
	for _, rs := range o.ReplicaSets {
		rsByName[rs.Name] = rs
	}
	if len(o.Pods) != 2 || len(o.ReplicaSets) != 2 {
		t.Fatalf("%d pods, %d ReplicaSets", len(o.Pods), len(o.ReplicaSets))
	}
	for _, p := range o.Pods {
		real := c.Pod(p.Labels["app"])
		if real == nil {
			t.Fatalf("pod %s: no pod of app %q", p.Name, p.Labels["app"])
		}
		if p.Name != real.Name || p.Status.PodIP != real.IP.String() || p.Spec.NodeName != node.Name ||
			p.Status.HostIP != node.IP.String() || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %+v\nreal %+v", p, real)
		}
		if !podCIDR.Contains(netip.MustParseAddr(p.Status.PodIP)) {
			t.Errorf("pod %s's IP %s is outside the node's podCIDR", p.Name, p.Status.PodIP)
		}
		owner := metav1.GetControllerOf(&p)
		if owner == nil || owner.Kind != "ReplicaSet" {
			t.Fatalf("pod %s's controller %+v", p.Name, owner)
		}
		rs, ok := rsByName[owner.Name]
		if !ok || rs.UID != owner.UID {
			t.Fatalf("pod %s's ReplicaSet %s is not listed", p.Name, owner.Name)
		}
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(p.Labels)) {
			t.Errorf("ReplicaSet %s's selector %v does not select pod %s (%v)", rs.Name, rs.Spec.Selector, p.Name, err)
		}
		// The workload: Deployment APP owns ReplicaSet APP-HASH, whose
		// hash is the pods' pod-template-hash.
		dep := metav1.GetControllerOf(&rs)
		if dep == nil || dep.Kind != "Deployment" || dep.Name != real.App ||
			rs.Name != dep.Name+"-"+p.Labels["pod-template-hash"] || !strings.HasPrefix(p.Name, rs.Name+"-") {
			t.Errorf("pod %s, ReplicaSet %s, Deployment %+v", p.Name, rs.Name, dep)
		}
	}

	hc := &http.Client{Transport: &http.Transport{DialContext: c.Pod(AppTodo).DialContext}}
	seen := map[string]bool{}
	for _, s := range o.Services {
		seen[s.Name] = true
		if s.Spec.Selector == nil {
			if s.Name != "kubernetes" || s.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("service %s without a selector", s.Name)
			}
			continue
		}
		if !netip.MustParsePrefix(ServiceCIDR).Contains(netip.MustParseAddr(s.Spec.ClusterIP)) {
			t.Errorf("service %s: ClusterIP %s outside %s", s.Name, s.Spec.ClusterIP, ServiceCIDR)
		}
		var selected []corev1.Pod
		for _, p := range o.Pods {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
				selected = append(selected, p)
			}
		}
		if len(selected) != 1 || len(s.Spec.Ports) != 1 {
			t.Fatalf("service %s selects %d pods, has %d ports", s.Name, len(selected), len(s.Spec.Ports))
		}
		port := s.Spec.Ports[0]
		// The named target port resolves to the pod's container port.
		target := -1
		for _, cp := range selected[0].Spec.Containers[0].Ports {
			if cp.Name == port.TargetPort.StrVal {
				target = int(cp.ContainerPort)
			}
		}
		if target != ContainerPort {
			t.Errorf("service %s: target port %v resolves to %d", s.Name, port.TargetPort, target)
		}
		pod := c.Pod(selected[0].Labels["app"])
		for _, via := range []struct {
			name string
			hc   *http.Client
			url  string
		}{
			{"ClusterIP from the todo pod", hc, "http://" + net.JoinHostPort(s.Spec.ClusterIP, strconv.Itoa(int(port.Port))) + "/healthz"},
			{"NodePort from the host", http.DefaultClient, "http://" + net.JoinHostPort(internal, strconv.Itoa(int(port.NodePort))) + "/healthz"},
		} {
			pod.ResetServed()
			res, err := via.hc.Get(via.url)
			if err != nil {
				t.Fatalf("service %s, %s: %v", s.Name, via.name, err)
			}
			res.Body.Close()
			if got := pod.Served(); res.StatusCode != 200 || len(got) != 1 || got[0].Server.Addr().String() != selected[0].Status.PodIP {
				t.Errorf("service %s, %s: status %d, selected pod %s served %+v", s.Name, via.name, res.StatusCode, selected[0].Status.PodIP, got)
			}
		}
	}
	for _, name := range []string{"kubernetes", "todo-service", "stats-service"} {
		if !seen[name] {
			t.Errorf("no service %s", name)
		}
	}
	if s, _ := c.Service(AppTodo); s.NodePort != TodoNodePort || s.Name != "todo-service" {
		t.Errorf("todo service %+v", s)
	}

	// The objects survive the JSON a fake API server sends.
	for _, v := range []any{&o.Pods, &o.Services, &o.Nodes, &o.ReplicaSets} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(back, v) {
			t.Errorf("JSON round trip of %T changed it:\n%s", v, b)
		}
	}
	// The same cluster gives the same objects.
	if !reflect.DeepEqual(o, c.Objects()) {
		t.Error("Objects differ between calls")
	}
}
