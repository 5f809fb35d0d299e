package agent

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/specgate/specgate/internal/kubefake"
)

func TestPodListerPicksOptedInPodsOfItsNode(t *testing.T) {
	srv, client, _ := fakeCluster(t)
	pending := annotated(kubefake.Pod("shop", "pending", "node-a", "", nil), "true")
	pending.Status.Phase = corev1.PodPending
	succeeded := annotated(kubefake.Pod("shop", "done", "node-a", "10.0.0.9", nil), "true")
	succeeded.Status.Phase = corev1.PodSucceeded
	dual := annotated(kubefake.Pod("shop", "dual", "node-a", "10.0.0.7", nil), "true")
	dual.Status.PodIPs = append(dual.Status.PodIPs, corev1.PodIP{IP: "fd00::7"})
	srv.SetNamespaces(
		kubefake.Namespace("shop", nil),
		kubefake.Namespace("team", map[string]string{"specgate.io/capture": "true"}),
	)
	srv.SetPods(
		annotated(kubefake.Pod("shop", "cart", "node-a", "10.0.0.5", nil), "true"),
		annotated(kubefake.Pod("shop", "elsewhere", "node-b", "10.0.1.5", nil), "true"),
		kubefake.Pod("shop", "plain", "node-a", "10.0.0.6", nil),
		dual, pending, succeeded,
		annotated(kubefake.HostNetworkPod("kube-system", "proxy", kubefake.Node("node-a", "172.18.0.2"), nil), "true"),
		kubefake.Pod("team", "api", "node-a", "10.0.0.20", nil),
		annotated(kubefake.Pod("team", "shy", "node-a", "10.0.0.21", nil), "false"),
	)
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	for _, c := range []struct {
		name, node, selector string
		want                 []Pod
	}{
		{"annotation only", "node-a", "", []Pod{
			{"shop", "cart", addrs("10.0.0.5")},
			{"shop", "dual", addrs("10.0.0.7", "fd00::7")},
		}},
		{"namespace selector", "node-a", "specgate.io/capture=true", []Pod{
			{"shop", "cart", addrs("10.0.0.5")},
			{"shop", "dual", addrs("10.0.0.7", "fd00::7")},
			{"team", "api", addrs("10.0.0.20")},
		}},
		{"other node", "node-b", "specgate.io/capture=true", []Pod{
			{"shop", "elsewhere", addrs("10.0.1.5")},
		}},
		{"no pods", "node-c", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel, err := ParseNamespaceSelector(c.selector)
			if err != nil {
				t.Fatal(err)
			}
			l := &PodLister{Client: client, Node: c.node, NamespaceSelector: sel}
			got, err := l.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("List() =\n%v\nwant\n%v", got, c.want)
			}
		})
	}
	// The node's pods are asked for by field selector, not all pods.
	if n := srv.Requests("/api/v1/pods"); n != 4 {
		t.Errorf("%d pod lists, want 4", n)
	}
}

func TestPodListerErrors(t *testing.T) {
	_, client, _ := fakeCluster(t)
	if _, err := (&PodLister{Client: client}).List(context.Background()); err == nil || !strings.Contains(err.Error(), "NODE_NAME") {
		t.Errorf("no node: err = %v, want it to name NODE_NAME", err)
	}
	if _, err := ParseNamespaceSelector("a in (b"); err == nil {
		t.Error("a broken selector parsed")
	}
	srv, client, _ := fakeCluster(t)
	srv.Close()
	_, err := (&PodLister{Client: client, Node: "node-a"}).List(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listing the pods of node node-a") {
		t.Errorf("API down: err = %v", err)
	}
}
