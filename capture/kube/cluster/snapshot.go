package cluster

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Objects are the cluster objects a [Snapshot] is built from. ReplicaSets
// and Jobs are optional: they refine workload names (see the package doc).
type Objects struct {
	Pods        []corev1.Pod
	Services    []corev1.Service
	Nodes       []corev1.Node
	ReplicaSets []appsv1.ReplicaSet
	Jobs        []batchv1.Job
	// Warnings are carried into the snapshot (what could not be listed).
	Warnings []string
}

// Snapshot names addresses from the cluster objects it was built from. It
// is immutable and safe for concurrent use; a nil *Snapshot knows nothing.
type Snapshot struct {
	served   map[netip.AddrPort]string // rules 1 to 4 of the package doc
	pods     map[netip.Addr]string     // rule 5, and client names
	counts   Counts
	warnings []string
}

// Counts are the numbers of objects a snapshot was built from.
type Counts struct {
	Pods, Services, Nodes int
}

// Service names the server at addr:port: "namespace/service", or
// "namespace/workload" for a pod port no Service targets. ok is false for
// an address the snapshot does not know.
func (s *Snapshot) Service(server netip.AddrPort) (name string, ok bool) {
	if s == nil || !server.IsValid() {
		return "", false
	}
	a := normAddr(server.Addr())
	if n, ok := s.served[netip.AddrPortFrom(a, server.Port())]; ok {
		return n, true
	}
	n, ok := s.pods[a]
	return n, ok
}

// Workload names the client at addr: "namespace/workload" of the pod that
// has the IP. ok is false for an address the snapshot does not know.
func (s *Snapshot) Workload(client netip.Addr) (name string, ok bool) {
	if s == nil || !client.IsValid() {
		return "", false
	}
	n, ok := s.pods[normAddr(client)]
	return n, ok
}

// Counts returns the numbers of objects the snapshot was built from.
func (s *Snapshot) Counts() Counts {
	if s == nil {
		return Counts{}
	}
	return s.counts
}

// Warnings returns what the loader could not list, one line each.
func (s *Snapshot) Warnings() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.warnings)
}

// normAddr drops an IPv6 zone and unmaps an IPv4-mapped IPv6 address.
func normAddr(a netip.Addr) netip.Addr {
	if a.Is4In6() {
		return a.Unmap()
	}
	if a.Zone() != "" {
		return a.WithZone("")
	}
	return a
}

// parseAddr parses an IP from an object, normalised; ok is false for "",
// "None" and anything that is not an IP.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return normAddr(a), true
}

// podInfo is a pod with what naming needs of it.
type podInfo struct {
	pod      *corev1.Pod
	workload string
	addrs    []netip.Addr
	live     bool
}

// New builds a snapshot. The result depends only on the objects, not on
// their order.
func New(objs Objects) *Snapshot {
	s := &Snapshot{
		served:   map[netip.AddrPort]string{},
		pods:     map[netip.Addr]string{},
		warnings: slices.Clone(objs.Warnings),
	}
	pods := sortedPtrs(objs.Pods)
	svcs := sortedPtrs(objs.Services)
	nodes := sortedPtrs(objs.Nodes)
	s.counts = Counts{Pods: len(pods), Services: len(svcs), Nodes: len(nodes)}

	owners := ownerIndex(objs.ReplicaSets, objs.Jobs)
	infos := make([]podInfo, 0, len(pods))
	claims := map[netip.Addr][]*podInfo{}
	for _, p := range pods {
		pi := podInfo{pod: p, workload: workloadName(p, owners), live: isLive(p)}
		for _, ip := range podIPs(p) {
			if a, ok := parseAddr(ip); ok && !slices.Contains(pi.addrs, a) {
				pi.addrs = append(pi.addrs, a)
			}
		}
		infos = append(infos, pi)
	}
	for i := range infos {
		for _, a := range infos[i].addrs {
			claims[a] = append(claims[a], &infos[i])
		}
	}

	// Which pods may speak for each address: the live claimants, or, when
	// none is live, the terminated ones.
	type podAddr struct {
		p *podInfo
		a netip.Addr
	}
	var eligible []podAddr
	for i := range infos {
		p := &infos[i]
		for _, a := range p.addrs {
			if p.live || !anyLive(claims[a]) {
				eligible = append(eligible, podAddr{p, a})
			}
		}
	}
	for a, cs := range claims {
		live := anyLive(cs)
		name := ""
		unique := true
		for _, c := range cs {
			if live && !c.live {
				continue
			}
			if name != "" && name != c.workload {
				unique = false
			}
			name = c.workload
		}
		if unique && name != "" {
			s.pods[a] = name
		}
	}

	// Rule 1: Service addresses.
	for _, svc := range svcs {
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		name := svc.Namespace + "/" + svc.Name
		for _, ip := range serviceIPs(svc) {
			a, ok := parseAddr(ip)
			if !ok {
				continue
			}
			for _, sp := range svc.Spec.Ports {
				if isTCP(sp.Protocol) {
					s.add(a, sp.Port, name)
				}
			}
		}
	}

	// Rule 2: node addresses on node ports.
	nodeAddrs := map[string][]netip.Addr{}
	var allNodeAddrs []netip.Addr
	for _, n := range nodes {
		for _, na := range n.Status.Addresses {
			if na.Type != corev1.NodeInternalIP && na.Type != corev1.NodeExternalIP {
				continue
			}
			if a, ok := parseAddr(na.Address); ok && !slices.Contains(nodeAddrs[n.Name], a) {
				nodeAddrs[n.Name] = append(nodeAddrs[n.Name], a)
				allNodeAddrs = append(allNodeAddrs, a)
			}
		}
	}
	for _, svc := range svcs {
		if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		name := svc.Namespace + "/" + svc.Name
		for _, sp := range svc.Spec.Ports {
			if sp.NodePort == 0 || !isTCP(sp.Protocol) {
				continue
			}
			for _, a := range allNodeAddrs {
				s.add(a, sp.NodePort, name)
			}
		}
	}

	// Rule 3: pod ports that Services target; Services with a cluster IP
	// first, then by namespace/name.
	byNS := map[string][]podAddr{}
	for _, pa := range eligible {
		byNS[pa.p.pod.Namespace] = append(byNS[pa.p.pod.Namespace], pa)
	}
	ordered := slices.Clone(svcs)
	slices.SortStableFunc(ordered, func(x, y *corev1.Service) int {
		return cmp.Compare(b2i(isHeadless(x)), b2i(isHeadless(y)))
	})
	for _, svc := range ordered {
		if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		name := svc.Namespace + "/" + svc.Name
		for _, pa := range byNS[svc.Namespace] {
			if !selects(svc.Spec.Selector, pa.p.pod.Labels) {
				continue
			}
			for _, sp := range svc.Spec.Ports {
				if !isTCP(sp.Protocol) {
					continue
				}
				if port, ok := targetPort(sp, pa.p.pod); ok {
					s.add(pa.a, port, name)
				}
			}
		}
	}

	// Rule 4: ports pods declare, and their host ports.
	for _, pa := range eligible {
		for _, cp := range containerPorts(pa.p.pod) {
			if !isTCP(cp.Protocol) {
				continue
			}
			s.add(pa.a, cp.ContainerPort, pa.p.workload)
		}
	}
	for i := range infos {
		p := &infos[i]
		if !p.live {
			continue
		}
		for _, cp := range containerPorts(p.pod) {
			if cp.HostPort == 0 || !isTCP(cp.Protocol) {
				continue
			}
			hosts := nodeAddrs[p.pod.Spec.NodeName]
			if a, ok := parseAddr(cp.HostIP); ok && !a.IsUnspecified() {
				hosts = []netip.Addr{a}
			}
			for _, a := range hosts {
				s.add(a, cp.HostPort, p.workload)
			}
		}
	}
	return s
}

// add records a server name unless a rule before it already named a:port.
func (s *Snapshot) add(a netip.Addr, port int32, name string) {
	if port <= 0 || port > 65535 {
		return
	}
	ap := netip.AddrPortFrom(a, uint16(port))
	if _, ok := s.served[ap]; !ok {
		s.served[ap] = name
	}
}

// sortedPtrs returns pointers to the objects sorted by namespace, name,
// uid and resourceVersion, so that the snapshot does not depend on order.
func sortedPtrs[T any, P interface {
	*T
	metav1.Object
}](objs []T) []P {
	ps := make([]P, len(objs))
	for i := range objs {
		ps[i] = P(&objs[i])
	}
	slices.SortStableFunc(ps, func(x, y P) int {
		return cmp.Or(
			cmp.Compare(x.GetNamespace(), y.GetNamespace()),
			cmp.Compare(x.GetName(), y.GetName()),
			cmp.Compare(x.GetUID(), y.GetUID()),
			cmp.Compare(x.GetResourceVersion(), y.GetResourceVersion()),
		)
	})
	return ps
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func anyLive(ps []*podInfo) bool {
	for _, p := range ps {
		if p.live {
			return true
		}
	}
	return false
}

// isLive reports whether a pod has not terminated: a terminated pod's IP
// may already be another pod's.
func isLive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func podIPs(p *corev1.Pod) []string {
	ips := make([]string, 0, len(p.Status.PodIPs)+1)
	if p.Status.PodIP != "" {
		ips = append(ips, p.Status.PodIP)
	}
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return ips
}

func serviceIPs(svc *corev1.Service) []string {
	ips := []string{svc.Spec.ClusterIP}
	ips = append(ips, svc.Spec.ClusterIPs...)
	ips = append(ips, svc.Spec.ExternalIPs...)
	for _, in := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	return ips
}

func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone
}

func isTCP(p corev1.Protocol) bool { return p == "" || p == corev1.ProtocolTCP }

// selects reports whether a Service's selector matches a pod's labels.
func selects(selector, lbls map[string]string) bool {
	for k, v := range selector {
		if w, ok := lbls[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// containerPorts lists a pod's container ports, those of its sidecar
// (restartable init) containers included.
func containerPorts(p *corev1.Pod) []corev1.ContainerPort {
	var ps []corev1.ContainerPort
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			ps = append(ps, c.Ports...)
		}
	}
	for _, c := range p.Spec.Containers {
		ps = append(ps, c.Ports...)
	}
	return ps
}

// targetPort resolves a Service port's target on a pod: a number, the
// pod's container port of that name, or the Service port when unset.
func targetPort(sp corev1.ServicePort, p *corev1.Pod) (int32, bool) {
	t := sp.TargetPort
	if t.Type == intstr.String {
		if n := strings.TrimSpace(t.StrVal); n != "" {
			for _, cp := range containerPorts(p) {
				if cp.Name == n && isTCP(cp.Protocol) {
					return cp.ContainerPort, true
				}
			}
			return 0, false
		}
		return sp.Port, true
	}
	if t.IntVal == 0 {
		return sp.Port, true
	}
	return t.IntVal, true
}
