// Package cluster takes a Kubernetes cluster's pods, Services and nodes (from the API or kubectl's
// JSON) and gives its names for addresses: "namespace/service" for servers, "namespace/workload" for clients.
//
// A [Resolver] sets them on capture.Exchange (Service and Caller).
//
// # Server names ([Snapshot.Service])
//
// An address:port is looked up in this order; the first rule that knows it wins:
//
//  1. A Service's cluster IPs, externalIPs and load-balancer ingress IPs, on
//     one of its TCP ports: that Service.
//  2. Any address of a node (InternalIP, ExternalIP) on a nodePort of a
//     NodePort or LoadBalancer Service: that Service. Traffic from outside
//     the cluster through a NodePort is named after the Service behind it.
//  3. A pod IP on a port that a Service selecting the pod targets (by
//     number, or by the name of a container port of that pod): that
//     Service. When several Services select the pod on that port, one with a
//     cluster IP is preferred to a headless one, then the first by
//     namespace/name, so the answer does not depend on list order.
//  4. A pod IP (or a node IP with hostPort) on a port a pod declares: that
//     pod's workload. This names the ports of hostNetwork pods, which share
//     the node's IP and so are told apart by port only.
//  5. A pod IP that one pod alone claims (rule below), on any port: that
//     pod's workload.
//
// # Client names ([Snapshot.Workload])
//
// A pod IP gives "namespace/workload": the Deployment of a pod owned by a
// ReplicaSet (read from the ReplicaSet's owner when the snapshot has the
// ReplicaSet, else by trimming the pod's pod-template-hash label off the
// ReplicaSet's name, which is how the Deployment controller names them —
// [Load] lists no ReplicaSets); the StatefulSet, DaemonSet or
// ReplicationController that owns the pod; the CronJob that owns the pod's
// Job when the snapshot has the Job ([Load] lists Jobs and goes on without
// them when it may not), else the Job; the owner's name for any other
// controller kind; the pod's own name for a pod without a controller (and
// for a static pod, owned by its Node).
//
// An IP names a pod only when one pod claims it. Pods that have not
// terminated (phase other than Succeeded or Failed) are preferred: a
// terminated pod's IP may already belong to a new pod, so a terminated pod
// is used only when no live pod claims its IP. hostNetwork pods share their
// node's IP with each other and with the node itself: such an IP names no
// one unless exactly one pod claims it (several claimants of the same
// workload count as one). Node IPs are otherwise not named.
//
// # Loading
//
// [NewClient] builds a client-go clientset from a kubeconfig (as kubectl
// finds it) or from the pod's service account; [Load] lists pods, Services,
// nodes and Jobs through it. [FromList] reads `kubectl get -o json` output
// instead, and [LoadKubectl] runs kubectl to get it, for when client-go
// cannot be used. A [Resolver] holds the current [Snapshot] and reloads it
// in the background when it meets an address it does not know.
package cluster
