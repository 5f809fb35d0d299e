// Package kind finds the node containers of a local kind cluster through the
// container engine's API (Docker or Podman, on a unix socket) and gives, for
// each node, the path of its network namespace (/proc/PID/ns/net) to capture in.
package kind
