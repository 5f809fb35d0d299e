package cluster

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func TestSnapshotFixture(t *testing.T) {
	checkFixture(t, New(fixture()))
}

func TestSnapshotCounts(t *testing.T) {
	objs := fixture()
	got := New(objs).Counts()
	want := Counts{Pods: len(objs.Pods), Services: len(objs.Services), Nodes: len(objs.Nodes)}
	if got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
}

// TestSnapshotOrder builds the snapshot from shuffled lists and checks that
// every lookup gives the same answer.
func TestSnapshotOrder(t *testing.T) {
	base := New(fixture())
	probes := probeAddrs(fixture())
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		objs := fixture()
		r.Shuffle(len(objs.Pods), func(i, j int) { objs.Pods[i], objs.Pods[j] = objs.Pods[j], objs.Pods[i] })
		r.Shuffle(len(objs.Services), func(i, j int) { objs.Services[i], objs.Services[j] = objs.Services[j], objs.Services[i] })
		r.Shuffle(len(objs.Nodes), func(i, j int) { objs.Nodes[i], objs.Nodes[j] = objs.Nodes[j], objs.Nodes[i] })
		r.Shuffle(len(objs.ReplicaSets), func(i, j int) {
			objs.ReplicaSets[i], objs.ReplicaSets[j] = objs.ReplicaSets[j], objs.ReplicaSets[i]
		})
		snap := New(objs)
		for _, ap := range probes {
			g, gok := snap.Service(ap)
			w, wok := base.Service(ap)
			if g != w || gok != wok {
				t.Fatalf("shuffle %d: Service(%s) = %q, %v; in list order %q, %v", i, ap, g, gok, w, wok)
			}
			g, gok = snap.Workload(ap.Addr())
			w, wok = base.Workload(ap.Addr())
			if g != w || gok != wok {
				t.Fatalf("shuffle %d: Workload(%s) = %q, %v; in list order %q, %v", i, ap.Addr(), g, gok, w, wok)
			}
		}
	}
}

// probeAddrs lists every address:port the objects mention, and each
// address on a port nothing declares.
func probeAddrs(objs Objects) []netip.AddrPort {
	var addrs []netip.Addr
	var ports []uint16
	for _, p := range objs.Pods {
		for _, ip := range podIPs(&p) {
			if a, ok := parseAddr(ip); ok {
				addrs = append(addrs, a)
			}
		}
		for _, cp := range containerPorts(&p) {
			ports = append(ports, uint16(cp.ContainerPort))
		}
	}
	for _, s := range objs.Services {
		for _, ip := range serviceIPs(&s) {
			if a, ok := parseAddr(ip); ok {
				addrs = append(addrs, a)
			}
		}
		for _, sp := range s.Spec.Ports {
			ports = append(ports, uint16(sp.Port), uint16(sp.NodePort), uint16(sp.TargetPort.IntVal))
		}
	}
	for _, n := range objs.Nodes {
		for _, na := range n.Status.Addresses {
			if a, ok := parseAddr(na.Address); ok {
				addrs = append(addrs, a)
			}
		}
	}
	ports = append(ports, 1)
	var out []netip.AddrPort
	for _, a := range addrs {
		for _, p := range ports {
			out = append(out, netip.AddrPortFrom(a, p))
		}
	}
	return out
}

// TestSnapshotWithoutOwners builds the snapshot without ReplicaSets and
// Jobs, as Load does when it may not list Jobs: Deployments still come
// from pod-template-hash, a CronJob's pod is named by its Job.
func TestSnapshotWithoutOwners(t *testing.T) {
	objs := fixture()
	objs.ReplicaSets, objs.Jobs = nil, nil
	snap := New(objs)
	for _, c := range []struct{ addr, want string }{
		{"10.244.1.5", "default/todo"},
		{"10.244.1.50", "v6/web-frontend"},
		{"10.244.1.20", "batch/nightly-28999999"},
		{"10.244.1.60", "default/legacy-rs"},
	} {
		if got, _ := snap.Workload(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Workload(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
}

// TestSnapshotReplicaSetOwner: a ReplicaSet the snapshot has is followed
// to its controller, whatever its kind, instead of trimming the hash.
func TestSnapshotReplicaSetOwner(t *testing.T) {
	objs := fixture()
	for i := range objs.ReplicaSets {
		if objs.ReplicaSets[i].Name == "todo-7d9f8b6c5d" {
			objs.ReplicaSets[i].OwnerReferences[0].Kind = "Rollout"
			objs.ReplicaSets[i].OwnerReferences[0].Name = "todo-rollout"
		}
	}
	if got, _ := New(objs).Workload(netip.MustParseAddr("10.244.1.5")); got != "default/todo-rollout" {
		t.Errorf("Workload = %q, want default/todo-rollout", got)
	}
}

func TestSnapshotNilAndInvalid(t *testing.T) {
	var s *Snapshot
	if n, ok := s.Service(netip.MustParseAddrPort("10.0.0.1:80")); ok || n != "" {
		t.Errorf("nil Service = %q, %v", n, ok)
	}
	if n, ok := s.Workload(netip.MustParseAddr("10.0.0.1")); ok || n != "" {
		t.Errorf("nil Workload = %q, %v", n, ok)
	}
	if c := s.Counts(); c != (Counts{}) {
		t.Errorf("nil Counts = %+v", c)
	}
	snap := New(fixture())
	if _, ok := snap.Service(netip.AddrPort{}); ok {
		t.Error("zero AddrPort named")
	}
	if _, ok := snap.Workload(netip.Addr{}); ok {
		t.Error("zero Addr named")
	}
}

// TestSnapshotIgnoresBadAddresses: objects with addresses that are not IPs
// and ports out of range build a snapshot that names the rest.
func TestSnapshotIgnoresBadAddresses(t *testing.T) {
	objs := fixture()
	objs.Pods[0].Status.PodIP = "not-an-ip"
	objs.Pods[0].Status.PodIPs[0].IP = "10.244.1.5/24"
	objs.Services[0].Spec.Ports[0].NodePort = 70000
	objs.Nodes[0].Status.Addresses[0].Address = "kind-control-plane"
	snap := New(objs)
	if _, ok := snap.Workload(netip.MustParseAddr("10.244.1.5")); ok {
		t.Error("pod with a bad IP named")
	}
	if got, _ := snap.Workload(netip.MustParseAddr("10.244.1.6")); got != "default/todo" {
		t.Errorf("other pod = %q", got)
	}
	if w := slices.Clone(snap.Warnings()); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
}
