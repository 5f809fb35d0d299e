// Package kindsim simulates a single-node kind cluster without Docker: it
// takes a cluster name and gives, from real Linux network namespaces, a
// node laid out as kind, its CNI and kube-proxy lay one out, running the
// demo system, with a fake container engine and the cluster's Kubernetes
// objects, so that specgate's --kind-cluster paths run against it.
//
// # Layout
//
//	host namespace                node namespace (the "container")            pod namespaces
//	skSSpPID 172.31.(240+SS).1 ── eth0 172.31.(240+SS).2/24
//	(the docker network's gateway)  cni0 10.250.0.1/24 (Bridge layout)
//	                                vethXXXXXXXX ───────────────────────────── eth0 10.250.0.5 todo pod
//	                                vethYYYYYYYY ───────────────────────────── eth0 10.250.0.6 stats pod
//
// The node's process (sleep, started with ip netns exec) stands for the
// container's init: the engine reports its PID, and /proc/PID/ns/net is the
// node's namespace. Each pod has such a process too, as its pause
// container. Every process gets SIGKILL when the test process dies, and New
// removes namespaces and links left by a process that is gone.
//
// The pods attach in one of two layouts. Bridge (the default) is what CNI's
// bridge plugin builds: the pods' veths are ports of cni0, which holds
// their gateway. A pod reaching another through a
// ClusterIP sends to the gateway's MAC, so the request is routed (and
// DNATed) on the node, but the reply goes pod to pod across the bridge: it
// is de-NATed only because br_netfilter passes bridged IPv4 through
// iptables (net.bridge.bridge-nf-call-iptables, on in every new namespace
// of this kernel and set explicitly), and a pod reaching itself through its
// Service needs the port's hairpin mode, which is on. PTP is kindnet's
// layout, as kind ships it: no bridge; each pod's veth carries the gateway
// 10.250.0.1 as a /32 on the node's side, the node has a /32 route to each
// pod, and the pod routes everything through the gateway.
//
// kube-proxy's iptables mode is reproduced in the node's nat table with its
// chain names (KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*, KUBE-NODEPORTS,
// KUBE-EXT-*, KUBE-MARK-MASQ, KUBE-POSTROUTING): each Service's ClusterIP
// (in ServiceCIDR) is DNATed to its pods; NodePorts on the node's addresses
// are DNATed and masqueraded (externalTrafficPolicy Cluster), so the todo
// pod sees requests from the host through its NodePort come from the
// gateway 10.250.0.1; pod to ClusterIP traffic keeps the pod's address.
//
// Unlike kind's node, this one has no default route, only a route for
// ServiceCIDR: nothing it or the pods send can be routed off this host.
//
// # The demo system
//
// The statistics service serves in the stats pod and the todo service in
// the todo pod, both on port 8080, each listener created inside its pod's
// namespace. The todo service stores todos in Redis (Config.RedisURL,
// reached from the host's namespace) and reports writes to the statistics
// service at stats-service's ClusterIP, through an HTTP client that dials
// from inside the todo pod. Services todo-service and stats-service have
// NodePorts 30080 and 30081: Cluster.NodeURL and Cluster.StatsURL.
package kindsim
