// Package agent runs specgate on every Kubernetes node and gathers what it
// captured: it takes the node's opted-in pods and gives NDJSON shards.
//
// [Agent] is the node side (the DaemonSet "specgate kube agent"): it lists
// the pods of its node that opt in (the pod annotation specgate.io/capture,
// or a namespace label selector), finds each pod's network namespace by
// scanning /proc (no container runtime is asked), captures in all of them
// with one capture session, and writes rotating NDJSON shards, each with a
// statistics file, into a directory that it serves read-only over HTTP.
//
// [Collect] is the other side ("specgate kube collect"): it fetches every
// shard of every agent, directly or through the API server's pod proxy,
// checks their SHA-256, removes the exchanges seen twice (by their TCP
// identity) and hands the rest to a sink: a HAR or NDJSON writer, or
// inference.
package agent
