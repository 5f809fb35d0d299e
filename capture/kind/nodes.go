package kind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Labels kind puts on every node container.
const (
	ClusterLabel = "io.x-k8s.kind.cluster"
	RoleLabel    = "io.x-k8s.kind.role"
)

// Errors Nodes wraps, for callers that tell them apart.
var (
	// ErrNoCluster: no container carries the cluster's label.
	ErrNoCluster = errors.New("no such kind cluster")
	// ErrNodeNotRunning: a node container is stopped or paused.
	ErrNodeNotRunning = errors.New("kind node not running")
	// ErrNetns: a node's network namespace cannot be opened here.
	ErrNetns = errors.New("kind node network namespace unavailable")
)

// Node is one node container of a kind cluster.
type Node struct {
	Name  string // container name, as kind-control-plane
	ID    string // container id
	Role  string // control-plane or worker (label io.x-k8s.kind.role)
	Pid   int    // the container's init process, in this machine's PID namespace
	Netns string // /proc/PID/ns/net
	// Err says why the node cannot be captured (it is stopped or paused,
	// or its network namespace cannot be opened from here: ErrNodeNotRunning,
	// ErrNetns); nil when it can.
	Err error
}

// containerSummary is the part of GET /containers/json's items read here.
type containerSummary struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	Labels map[string]string `json:"Labels"`
	State  string            `json:"State"`
}

// containerInspect is the part of GET /containers/{id}/json read here.
type containerInspect struct {
	ID    string `json:"Id"`
	Name  string `json:"Name"`
	State struct {
		Status  string `json:"Status"`
		Running bool   `json:"Running"`
		Paused  bool   `json:"Paused"`
		Pid     int    `json:"Pid"`
	} `json:"State"`
	Config struct {
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
}

// Nodes returns the node containers of the kind cluster named cluster,
// sorted by name, each with the path of its network namespace. A node
// that is not running, cannot be inspected, or whose namespace cannot be
// opened from here is returned with Err set, so that the others can still
// be captured. Nodes fails when the engine cannot be reached or the
// cluster has no containers (naming the clusters that exist).
func (e *Engine) Nodes(ctx context.Context, cluster string) ([]Node, error) {
	if cluster == "" {
		return nil, errors.New("kind cluster name is empty; kind's default is \"kind\"")
	}
	prefix, err := e.negotiate(ctx)
	if err != nil {
		return nil, err
	}
	// all=1: a stopped node is reported as such, not silently left out.
	var list []containerSummary
	if err := e.get(ctx, prefix+"/containers/json?"+listQuery(true, ClusterLabel+"="+cluster), &list); err != nil {
		return nil, fmt.Errorf("listing the nodes of kind cluster %q: %w", cluster, err)
	}
	if len(list) == 0 {
		return nil, e.noCluster(ctx, prefix, cluster)
	}
	nodes := make([]Node, 0, len(list))
	for _, c := range list {
		n, err := e.node(ctx, prefix, cluster, c)
		if err != nil {
			if errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
				return nil, err // the engine went away: nothing to report per node
			}
			n.Err = err
		}
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// node inspects one container of cluster and checks its namespace.
func (e *Engine) node(ctx context.Context, prefix, cluster string, c containerSummary) (Node, error) {
	label := c.ID
	if len(c.Names) > 0 {
		label = strings.TrimPrefix(c.Names[0], "/")
	}
	if c.ID == "" {
		return Node{Name: label}, fmt.Errorf("kind cluster %q: the container engine listed node %s without an id", cluster, label)
	}
	var in containerInspect
	if err := e.get(ctx, prefix+"/containers/"+url.PathEscape(c.ID)+"/json", &in); err != nil {
		return Node{Name: label, ID: c.ID}, fmt.Errorf("inspecting node %s of kind cluster %q: %w", label, cluster, err)
	}
	n := Node{
		Name: strings.TrimPrefix(in.Name, "/"),
		ID:   c.ID,
		Role: in.Config.Labels[RoleLabel],
		Pid:  in.State.Pid,
	}
	if n.Name == "" {
		n.Name = label
	}
	if !in.State.Running || in.State.Paused || n.Pid <= 0 {
		status := in.State.Status
		if status == "" {
			status = "not running"
		}
		return n, tagged(ErrNodeNotRunning, nil, "node %s of kind cluster %q is %s: start it (docker start %s) or recreate the cluster", n.Name, cluster, status, n.Name)
	}
	netns := "/proc/" + strconv.Itoa(n.Pid) + "/ns/net"
	if err := checkNetns(netns); err != nil {
		return n, fmt.Errorf("node %s of kind cluster %q: %w", n.Name, cluster, err)
	}
	n.Netns = netns
	return n, nil
}

// checkNetns checks that the namespace at path can be opened from here.
func checkNetns(path string) error {
	_, err := os.Stat(path)
	return checkNetnsErr(path, err)
}

// checkNetnsErr explains the error of stat on a namespace's path.
func checkNetnsErr(path string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return tagged(ErrNetns, err, "network namespace %s does not exist: the engine's processes are not visible here (is the engine in a VM, another PID namespace, or on another host?)", path)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return tagged(ErrNetns, err, "network namespace %s: permission denied: entering a node's network namespace needs root (CAP_SYS_ADMIN); run with sudo", path)
	}
	return tagged(ErrNetns, err, "network namespace %s: %v", path, err)
}

// noCluster builds the error for a cluster with no containers, naming
// the kind clusters the engine does have.
func (e *Engine) noCluster(ctx context.Context, prefix, cluster string) error {
	var all []containerSummary
	if err := e.get(ctx, prefix+"/containers/json?"+listQuery(true, ClusterLabel), &all); err != nil {
		return tagged(ErrNoCluster, err, "no kind cluster named %q (listing the others failed: %v)", cluster, err)
	}
	var seen []string
	for _, c := range all {
		if name := c.Labels[ClusterLabel]; name != "" && !slices.Contains(seen, name) {
			seen = append(seen, name)
		}
	}
	if len(seen) == 0 {
		return tagged(ErrNoCluster, nil, "no kind cluster named %q (no kind clusters seen at %s; create one with kind create cluster)", cluster, e.host)
	}
	slices.Sort(seen)
	return tagged(ErrNoCluster, nil, "no kind cluster named %q (clusters seen: %s)", cluster, strings.Join(seen, ", "))
}

// listQuery encodes the query of GET /containers/json: filters is a
// JSON-encoded map[string][]string, as the Engine API documents.
func listQuery(all bool, labels ...string) string {
	f, _ := json.Marshal(map[string][]string{"label": labels}) // cannot fail
	q := url.Values{"filters": {string(f)}}
	if all {
		q.Set("all", "1")
	}
	return q.Encode()
}
