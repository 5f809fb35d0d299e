package kindsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
)

// Fixed addresses inside the node (see the package doc).
var (
	podGateway = netip.MustParseAddr("10.250.0.1")
	// kind's first pods (coredns, local-path-provisioner) take the
	// lowest addresses; the demo's come after.
	todoPodIP      = netip.MustParseAddr("10.250.0.5")
	statsPodIP     = netip.MustParseAddr("10.250.0.6")
	kubernetesIP   = netip.MustParseAddr("10.250.96.1")
	todoClusterIP  = netip.MustParseAddr("10.250.96.100")
	statsClusterIP = netip.MustParseAddr("10.250.96.101")
)

const (
	apiServerPort   = 6443
	kubernetesPort  = 443
	kubernetesName  = "kubernetes"
	servicesPortTag = "http"
)

// nodeNSName is the node namespace's name under /var/run/netns.
func (c *Cluster) nodeNSName() string {
	return nsPrefix + strconv.Itoa(c.pid) + "-" + c.name + "-node"
}

// ip runs ip(8) with args.
func ip(ctx context.Context, args ...string) error { return run(ctx, "", "ip", args...) }

// plan names the cluster's parts: node, pods, Services.
func (c *Cluster) plan() {
	c.node.Name = c.name + "-control-plane"
	c.node.Netns = netnsDir + "/" + c.nodeNSName()
	for _, p := range []struct {
		app string
		ip  netip.Addr
	}{{AppTodo, todoPodIP}, {AppStats, statsPodIP}} {
		hash := safeString(c.name+"/"+p.app+"/template", 10)
		name := p.app + "-" + hash + "-" + safeString(c.name+"/"+p.app+"/pod", 5)
		sum := sha256.Sum256([]byte(name))
		nsName := nsPrefix + strconv.Itoa(c.pid) + "-" + c.name + "-" + p.app
		c.pods = append(c.pods, &Pod{
			Name: name, Namespace: Namespace, App: p.app, IP: p.ip, Port: ContainerPort,
			Netns: netnsDir + "/" + nsName, HostVeth: "veth" + hex.EncodeToString(sum[:4]),
			TemplateHash: hash, nsName: nsName,
		})
	}
	c.svcs = []Service{
		{Name: "todo-service", Namespace: Namespace, App: AppTodo, ClusterIP: todoClusterIP,
			Port: ServicePort, TargetPort: ContainerPort, NodePort: TodoNodePort},
		{Name: "stats-service", Namespace: Namespace, App: AppStats, ClusterIP: statsClusterIP,
			Port: ServicePort, TargetPort: ContainerPort, NodePort: StatsNodePort},
	}
}

// proxyServices are the Services as kube-proxy sees them: the demo's, and
// default/kubernetes, whose endpoint is the API server on the node.
func (c *Cluster) proxyServices() []proxyService {
	out := []proxyService{{
		namespace: Namespace, name: kubernetesName, portName: "https", clusterIP: kubernetesIP, port: kubernetesPort,
		endpoints: []netip.AddrPort{netip.AddrPortFrom(c.node.IP, apiServerPort)},
	}}
	for _, s := range c.svcs {
		ps := proxyService{namespace: s.Namespace, name: s.Name, portName: servicesPortTag,
			clusterIP: s.ClusterIP, port: s.Port, nodePort: s.NodePort}
		for _, p := range c.pods {
			if p.App == s.App {
				ps.endpoints = append(ps.endpoints, netip.AddrPortFrom(p.IP, uint16(s.TargetPort)))
			}
		}
		out = append(out, ps)
	}
	return out
}

// buildNetwork makes the namespaces and links: the host's veth to the
// node's eth0 on the docker network, and each pod's veth to the node, in
// the cluster's layout.
func (c *Cluster) buildNetwork(ctx context.Context) error {
	c.plan()
	lock, err := lockHost(ctx)
	if err != nil {
		return err
	}
	locked := true
	defer func() {
		if locked {
			lock.unlock()
		}
	}()
	removeLeftovers(ctx)
	if c.slot, err = freeSlot(); err != nil {
		return err
	}
	dockerNet := dockerNetwork(c.slot)
	c.node.Gateway = dockerNet.Addr().Next()
	c.node.IP = c.node.Gateway.Next()
	c.node.HostInterface = hostLinkName(c.slot, c.pid)

	names := []string{c.nodeNSName()}
	for _, p := range c.pods {
		names = append(names, p.nsName)
	}
	for _, ns := range names {
		if err := ip(ctx, "netns", "add", ns); err != nil {
			return fmt.Errorf("namespace (is a cluster of this name running in this process?): %w", err)
		}
		c.onClose(func(ctx context.Context) error { return ip(ctx, "netns", "delete", ns) })
	}
	// The host's end: the docker network's gateway, as Docker's bridge.
	host := c.node.HostInterface
	if err := ip(ctx, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", c.nodeNSName()); err != nil {
		return err
	}
	// Deleting the link is what removes it at once: a deleted namespace's
	// interfaces go away later, in the kernel's own time.
	c.onClose(func(ctx context.Context) error { return ip(ctx, "link", "delete", host) })
	lock.unlock() // the link holds the slot now
	locked = false

	if err := c.openNamespaces(); err != nil {
		return err
	}
	node := c.nodeNSName()
	steps := [][]string{
		{"addr", "add", prefixString(c.node.Gateway, 24), "dev", host},
		{"link", "set", host, "up"},
		{"-n", node, "link", "set", "lo", "up"},
		{"-n", node, "addr", "add", prefixString(c.node.IP, 24), "dev", "eth0"},
		{"-n", node, "link", "set", "eth0", "up"},
		// kind's node has a default route through the docker gateway;
		// this one covers only the Service range, so that a node-local
		// process reaches ClusterIPs (DNAT happens after this lookup)
		// and nothing is ever routed off this host.
		{"-n", node, "route", "add", ServiceCIDR, "dev", "eth0"},
	}
	if c.layout == Bridge {
		steps = append(steps,
			[]string{"-n", node, "link", "add", "cni0", "type", "bridge"},
			[]string{"-n", node, "addr", "add", prefixString(podGateway, 24), "dev", "cni0"},
			[]string{"-n", node, "link", "set", "cni0", "up"},
		)
	}
	for _, p := range c.pods {
		steps = append(steps, c.podSteps(p)...)
	}
	for _, args := range steps {
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	if err := c.nodeNS.writeSysctl("net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	if c.layout == Bridge {
		// Bridged replies (pod to pod on cni0) must meet conntrack to be
		// de-NATed; new namespaces have it on, but say so.
		if err := c.nodeNS.writeSysctl("net.bridge.bridge-nf-call-iptables", "1"); err != nil {
			return fmt.Errorf("the bridge layout needs br_netfilter: %w", err)
		}
	}
	return nil
}

// openNamespaces keeps a descriptor of each namespace, to enter it.
func (c *Cluster) openNamespaces() error {
	var err error
	if c.nodeNS, err = openNetns(c.node.Netns); err != nil {
		return err
	}
	c.onClose(func(context.Context) error { return c.nodeNS.close() })
	for _, p := range c.pods {
		if p.ns, err = openNetns(p.Netns); err != nil {
			return err
		}
		c.onClose(func(context.Context) error { return p.ns.close() })
	}
	return nil
}

// podSteps are the ip(8) commands that attach pod p to the node, as the
// layout's CNI plugin does.
func (c *Cluster) podSteps(p *Pod) [][]string {
	node, pod, veth := c.nodeNSName(), p.nsName, p.HostVeth
	steps := [][]string{
		{"-n", node, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod},
		{"-n", pod, "link", "set", "lo", "up"},
	}
	switch c.layout {
	case Bridge:
		steps = append(steps,
			[]string{"-n", node, "link", "set", veth, "master", "cni0"},
			[]string{"-n", node, "link", "set", veth, "type", "bridge_slave", "hairpin", "on"},
			[]string{"-n", node, "link", "set", veth, "up"},
			[]string{"-n", pod, "addr", "add", prefixString(p.IP, 24), "dev", "eth0"},
			[]string{"-n", pod, "link", "set", "eth0", "up"},
			[]string{"-n", pod, "route", "add", "default", "via", podGateway.String()},
		)
	case PTP:
		steps = append(steps,
			[]string{"-n", node, "addr", "add", prefixString(podGateway, 32), "dev", veth},
			[]string{"-n", node, "link", "set", veth, "up"},
			[]string{"-n", node, "route", "add", prefixString(p.IP, 32), "dev", veth, "scope", "host"},
			[]string{"-n", pod, "addr", "add", prefixString(p.IP, 24), "dev", "eth0", "noprefixroute"},
			[]string{"-n", pod, "link", "set", "eth0", "up"},
			[]string{"-n", pod, "route", "add", podGateway.String(), "dev", "eth0", "scope", "link"},
			[]string{"-n", pod, "route", "add", PodCIDR, "via", podGateway.String(), "dev", "eth0", "src", p.IP.String()},
			[]string{"-n", pod, "route", "add", "default", "via", podGateway.String(), "dev", "eth0"},
		)
	}
	return steps
}

func prefixString(a netip.Addr, bits int) string { return a.String() + "/" + strconv.Itoa(bits) }

// safeAlphabet is the alphabet Kubernetes draws generated name parts
// from: no vowels, no look-alikes.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// safeString derives n characters of safeAlphabet from seed, so that a
// cluster's names are the same in every run.
func safeString(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = safeAlphabet[int(sum[i])%len(safeAlphabet)]
	}
	return string(b)
}
