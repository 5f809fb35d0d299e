// Package inject adds a specgate capture sidecar to Kubernetes workloads.
//
// It takes a stream of YAML documents (separated by ---, or a kind: List with
// items) holding any Kubernetes objects, and gives the same stream with a
// capture container appended to the pod template of every apps/v1
// Deployment, StatefulSet and DaemonSet and every batch/v1 Job and CronJob,
// plus a [Report] of what it changed. Other objects, and apiVersions other
// than apps/v1 and batch/v1, pass through unchanged. The sidecar shares the pod's network
// namespace, so capturing on "any" sees the pod's traffic; it writes NDJSON
// to an emptyDir volume named specgate-out.
//
// Documents it does not change are copied byte for byte, comments and
// quoting included; changed documents are re-encoded from their yaml.v3
// node tree, which keeps keys, order, quoting styles and the comments
// yaml.v3 attaches to nodes.
//
// Flushing on termination: the sidecar has a preStop hook that runs
// "specgate kube stop" in its own container (the image is FROM scratch, so
// the hook runs specgate itself, not a shell). It sends SIGTERM to the
// capture, PID 1 of the container, and waits until it has written
// everything captured so far and exited, within the pod's
// terminationGracePeriodSeconds, which is left as it is. The kubelet's own
// SIGTERM, which follows, would do the same.
//
// Jobs and CronJobs get a native sidecar instead: an init container with
// restartPolicy: Always (Kubernetes 1.29 and later), so that their pods
// complete when the job's containers exit; the kubelet then stops the
// sidecar with SIGTERM, as above. A plain container that never exits
// would keep every Job running forever.
//
// Injection is idempotent: a pod template that already has a container (or
// init container) with the sidecar's name is left unchanged, and an existing
// volume named specgate-out is kept as it is, so it may be replaced by a
// persistent volume.
package inject
