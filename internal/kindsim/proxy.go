package kindsim

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"strings"
)

// The mark kube-proxy sets on packets to masquerade (its default
// --iptables-masquerade-bit 14).
const masqMark = "0x4000/0x4000"

// proxyService is one Service port as kube-proxy programs it.
type proxyService struct {
	namespace, name, portName string
	clusterIP                 netip.Addr
	port, nodePort            int              // nodePort 0: none
	endpoints                 []netip.AddrPort // ready endpoints
}

// portName is kube-proxy's ServicePortName: ns/name:port.
func (s proxyService) portNameString() string {
	return s.namespace + "/" + s.name + ":" + s.portName
}

// chainName is kube-proxy's naming: a prefix and 16 characters of the
// base32 SHA-256 of what the chain stands for, so names are stable and
// fit iptables' 28-character limit.
func chainName(prefix, what string) string {
	sum := sha256.Sum256([]byte(what))
	return prefix + base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// proxyRules returns the nat table kube-proxy's iptables mode writes for
// services, in iptables-restore's format: ClusterIP DNAT through
// KUBE-SVC-/KUBE-SEP- chains, NodePorts on the node's local addresses
// (masqueraded, as externalTrafficPolicy Cluster does), traffic to a
// ClusterIP from outside clusterCIDR masqueraded, and hairpin traffic
// (an endpoint reaching itself) masqueraded.
func proxyRules(clusterCIDR netip.Prefix, services []proxyService) string {
	var chains, rules strings.Builder
	chain := func(name string) { fmt.Fprintf(&chains, ":%s - [0:0]\n", name) }
	rule := func(format string, args ...any) { fmt.Fprintf(&rules, format+"\n", args...) }

	chains.WriteString("*nat\n")
	for _, c := range []string{"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"} {
		chain(c)
	}
	rule(`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`)
	rule(`-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`)
	rule(`-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`)
	rule(`-A KUBE-MARK-MASQ -j MARK --set-xmark %s`, masqMark)
	rule(`-A KUBE-POSTROUTING -m mark ! --mark %s -j RETURN`, masqMark)
	rule(`-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0`)
	rule(`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`)

	for _, s := range services {
		spn := s.portNameString()
		svc := chainName("KUBE-SVC-", spn+"tcp")
		chain(svc)
		rule(`-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment "%s cluster IP" -m tcp --dport %d -j %s`,
			s.clusterIP, spn, s.port, svc)
		rule(`-A %s ! -s %s -d %s/32 -p tcp -m comment --comment "%s cluster IP" -m tcp --dport %d -j KUBE-MARK-MASQ`,
			svc, clusterCIDR, s.clusterIP, spn, s.port)
		if s.nodePort != 0 {
			ext := chainName("KUBE-EXT-", spn+"tcp")
			chain(ext)
			rule(`-A KUBE-NODEPORTS -p tcp -m comment --comment "%s" -m tcp --dport %d -j %s`, spn, s.nodePort, ext)
			rule(`-A %s -m comment --comment "masquerade traffic for %s external destinations" -j KUBE-MARK-MASQ`, ext, spn)
			rule(`-A %s -j %s`, ext, svc)
		}
		for i, ep := range s.endpoints {
			sep := chainName("KUBE-SEP-", spn+"tcp"+ep.String())
			chain(sep)
			// Spread over the endpoints left, as kube-proxy does.
			if left := len(s.endpoints) - i; left > 1 {
				rule(`-A %s -m comment --comment "%s -> %s" -m statistic --mode random --probability %.11f -j %s`,
					svc, spn, ep, 1/float64(left), sep)
			} else {
				rule(`-A %s -m comment --comment "%s -> %s" -j %s`, svc, spn, ep, sep)
			}
			rule(`-A %s -s %s/32 -m comment --comment "%s" -j KUBE-MARK-MASQ`, sep, ep.Addr(), spn)
			rule(`-A %s -p tcp -m comment --comment "%s" -m tcp -j DNAT --to-destination %s`, sep, spn, ep)
		}
	}
	// Last in KUBE-SERVICES, as kube-proxy keeps it.
	rule(`-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`)
	return chains.String() + rules.String() + "COMMIT\n"
}
