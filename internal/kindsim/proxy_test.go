package kindsim

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name      string
		slot, pid int
		ok        bool
	}{
		{"sk00p1", 0, 1, true},
		{"sk15p4194304", 15, 4194304, true},
		{"sk16p10", 0, 0, false}, // no such slot
		{"sk3p10", 0, 0, false},
		{"sk03p", 0, 0, false},
		{"sk03p012", 0, 0, false},
		{"sk03x12", 0, 0, false},
		{"skx3p12", 0, 0, false},
		{"eth0", 0, 0, false},
	} {
		slot, pid, ok := parseHostLink(tc.name)
		if ok != tc.ok || ok && (slot != tc.slot || pid != tc.pid) {
			t.Errorf("parseHostLink(%q) = %d, %d, %v", tc.name, slot, pid, ok)
		}
		if tc.ok {
			if back := hostLinkName(slot, pid); back != tc.name || len(back) > 15 {
				t.Errorf("hostLinkName(%d, %d) = %q", slot, pid, back)
			}
		}
	}
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"skind-123-kind-node", 123, true},
		{"skind-123-a-b-c-todo", 123, true},
		{"skind-0123-kind-node", 0, false},
		{"skind-x-kind-node", 0, false},
		{"skind-123", 0, false},
		{"cni-1234", 0, false},
	} {
		pid, ok := parseNetnsName(tc.name)
		if ok != tc.ok || pid != tc.pid {
			t.Errorf("parseNetnsName(%q) = %d, %v", tc.name, pid, ok)
		}
	}
	// Every slot's docker network is a distinct /24 inside 172.31.240.0/20.
	all := netip.MustParsePrefix("172.31.240.0/20")
	for s := range slots {
		n := dockerNetwork(s)
		if !all.Contains(n.Addr()) || n.Bits() != 24 || s > 0 && n.Overlaps(dockerNetwork(s-1)) {
			t.Errorf("slot %d: %s", s, n)
		}
	}
}

// TestProxyRulesLoad loads kube-proxy's rules for a Service with three
// endpoints (the random spread the demo's Services never need) into a
// throwaway namespace, and checks the kernel took every chain.
func TestProxyRulesLoad(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	ns := fmt.Sprintf("%s%d-rules-test", nsPrefix, os.Getpid())
	if err := ip(ctx, "netns", "add", ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ip(ctx, "netns", "delete", ns) })
	svcs := []proxyService{
		{namespace: "shop", name: "cart", portName: "http", clusterIP: netip.MustParseAddr("10.250.96.7"), port: 80, nodePort: 31000,
			endpoints: []netip.AddrPort{
				netip.MustParseAddrPort("10.250.0.10:8080"),
				netip.MustParseAddrPort("10.250.0.11:8080"),
				netip.MustParseAddrPort("10.250.0.12:8080"),
			}},
		{namespace: "shop", name: "empty", portName: "grpc", clusterIP: netip.MustParseAddr("10.250.96.8"), port: 9000},
	}
	rules := proxyRules(netip.MustParsePrefix(ClusterCIDR), svcs)
	if err := run(ctx, rules, "ip", "netns", "exec", ns, "iptables-restore"); err != nil {
		t.Fatalf("%v\n%s", err, rules)
	}
	out, err := runOutput(ctx, "ip", "netns", "exec", ns, "iptables-save", "-t", "nat")
	if err != nil {
		t.Fatal(err)
	}
	chains := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(line, ":"); ok {
			name, _, _ = strings.Cut(name, " ")
			chains[name] = true
			if len(name) > 28 {
				t.Errorf("chain %s is longer than iptables allows", name)
			}
		}
	}
	seps, svc := 0, 0
	for c := range chains {
		switch {
		case strings.HasPrefix(c, "KUBE-SEP-"):
			seps++
		case strings.HasPrefix(c, "KUBE-SVC-"):
			svc++
		}
	}
	if seps != 3 || svc != 2 || !chains["KUBE-NODEPORTS"] || !chains["KUBE-MARK-MASQ"] {
		t.Errorf("chains %v", chains)
	}
	// The first two endpoints take 1/3 and then 1/2 of what is left.
	for _, want := range []string{"--probability 0.33333333349", "--probability 0.50000000000", "--to-destination 10.250.0.12:8080", "--dport 31000"} {
		if !strings.Contains(out, want) {
			t.Errorf("iptables-save lacks %q:\n%s", want, out)
		}
	}
	// The nodeport jump stays last in KUBE-SERVICES.
	var last string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "-A KUBE-SERVICES ") {
			last = line
		}
	}
	if !strings.Contains(last, "-j KUBE-NODEPORTS") {
		t.Errorf("last KUBE-SERVICES rule: %s", last)
	}
}

// runOutput runs a command and returns its standard output.
func runOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}
