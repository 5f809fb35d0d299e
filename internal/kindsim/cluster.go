package kindsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/specgate/specgate/internal/demo/todo"
)

// Addresses inside every simulated node. They exist only inside the node's
// and pods' namespaces, so clusters do not collide over them; only the
// docker network (172.31.240.0/20, one /24 per cluster) is seen by the
// host.
const (
	// ClusterCIDR is the cluster's pod range (kind's podSubnet), which
	// kube-proxy's --cluster-cidr names.
	ClusterCIDR = "10.250.0.0/20"
	// PodCIDR is the node's share of ClusterCIDR (its spec.podCIDR).
	PodCIDR = "10.250.0.0/24"
	// ServiceCIDR is the range of Service ClusterIPs (kind's
	// serviceSubnet).
	ServiceCIDR = "10.250.96.0/24"
	// Namespace is the Kubernetes namespace of the demo's objects.
	Namespace = "default"
	// NodeImage is the image the node container reports.
	NodeImage = "kindest/node:v1.33.1"
)

// The demo's apps: each is a Deployment with one pod, and a Service.
const (
	AppTodo  = "todo"
	AppStats = "stats"
)

// Ports of the demo's Services.
const (
	ContainerPort = 8080  // both pods serve here
	ServicePort   = 80    // both Services' port
	TodoNodePort  = 30080 // todo-service's NodePort
	StatsNodePort = 30081 // stats-service's NodePort
)

// Layout is how pods attach to the node.
type Layout int

const (
	// Bridge: each pod's veth is a port of the bridge cni0, which holds
	// the pods' gateway (CNI's bridge plugin, with hairpin mode on, and
	// br_netfilter so that bridged replies meet conntrack).
	Bridge Layout = iota
	// PTP: kindnet's point-to-point layout: no bridge, each pod's veth has
	// the gateway address as a /32 and the node a /32 route to the pod.
	PTP
)

// String names the layout: bridge or ptp.
func (l Layout) String() string {
	switch l {
	case Bridge:
		return "bridge"
	case PTP:
		return "ptp"
	}
	return "layout(" + strconv.Itoa(int(l)) + ")"
}

// Config says what cluster New builds.
type Config struct {
	// Name is the kind cluster's name; "" is "kind", kind's default.
	// Lower-case letters, digits and dashes, at most 40.
	Name string
	// Layout is how pods attach to the node; the zero value is Bridge.
	Layout Layout
	// Version is the todo service's version as todo.Lookup names it; ""
	// is v1.
	Version string
	// RedisURL is the todo service's store (redis://host:port/db, reached
	// from the host's namespace); "" keeps todos in memory.
	RedisURL string
	// Engine is the fake container engine to list the node in; nil: a
	// new one, closed with the cluster.
	Engine *Engine
	// Log receives the services' log lines; nil discards them.
	Log io.Writer
}

// Node is the simulated node container.
type Node struct {
	Name          string     // NAME-control-plane
	PID           int        // the container's "init": /proc/PID/ns/net is Netns
	Netns         string     // /var/run/netns/skind-PID-NAME-node
	IP            netip.Addr // eth0's address on the docker network
	Gateway       netip.Addr // the docker network's gateway: the host side
	HostInterface string     // the host side of eth0's veth, in the host's namespace
	ContainerID   string     // the id the engine reports
}

// Service is one of the demo's Services.
type Service struct {
	Name       string // todo-service, stats-service
	Namespace  string
	App        string // the pods it selects: app=App
	ClusterIP  netip.Addr
	Port       int // Service port
	TargetPort int
	NodePort   int
}

// Cluster is a simulated single-node kind cluster running the demo
// system. Its methods are safe for concurrent use.
type Cluster struct {
	name    string
	layout  Layout
	pid     int
	slot    int
	created time.Time
	node    Node
	pods    []*Pod
	svcs    []Service
	engine  *Engine
	logger  *log.Logger

	nodeNS  *netns
	store   todo.Store
	client  *http.Client
	todo    atomic.Pointer[versioned]
	stopped []func(context.Context) error // run in reverse by Close

	closeOnce sync.Once
	closeErr  error
}

// versioned is the todo service's handler for one version.
type versioned struct {
	name string
	h    http.Handler
}

// New builds a cluster: the node's and pods' namespaces, links, routes and
// kube-proxy's rules, the node process, the engine's container and the demo
// system serving in the pods. It needs root, ip(8) and iptables-restore.
// Everything is torn down by Close, or when New fails; leftovers of runs
// that died without Close are removed first.
func New(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Name == "" {
		cfg.Name = "kind"
	}
	if err := checkName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Layout != Bridge && cfg.Layout != PTP {
		return nil, fmt.Errorf("kindsim: unknown layout %d", int(cfg.Layout))
	}
	version := cfg.Version
	if version == "" {
		version = "v1"
	}
	if _, ok := todo.Lookup(version); !ok {
		return nil, fmt.Errorf("kindsim: unknown todo service version %q", version)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("kindsim: building namespaces, links and iptables rules needs root")
	}
	for _, tool := range []string{"ip", "iptables-restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("kindsim: %s is needed: %w", tool, err)
		}
	}
	w := cfg.Log
	if w == nil {
		w = io.Discard
	}
	c := &Cluster{
		name:    cfg.Name,
		layout:  cfg.Layout,
		pid:     os.Getpid(),
		created: time.Now().UTC().Truncate(time.Second),
		logger:  log.New(w, "kindsim "+cfg.Name+": ", log.LstdFlags|log.Lmicroseconds),
	}
	if err := c.build(ctx, cfg, version); err != nil {
		if cerr := c.Close(); cerr != nil {
			err = fmt.Errorf("%w (and tearing down: %v)", err, cerr)
		}
		return nil, fmt.Errorf("kindsim: cluster %s: %w", cfg.Name, err)
	}
	return c, nil
}

// checkName accepts what kind accepts in practice: a DNS label.
func checkName(name string) error {
	ok := len(name) <= 40
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(name)-1:
		default:
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("kindsim: cluster name %q: want lower-case letters, digits and inner dashes, at most 40", name)
	}
	return nil
}

// onClose registers a teardown step; Close runs them newest first.
func (c *Cluster) onClose(f func(context.Context) error) { c.stopped = append(c.stopped, f) }

// build does New's work; what it made is undone by Close on failure.
func (c *Cluster) build(ctx context.Context, cfg Config, version string) error {
	if err := c.buildNetwork(ctx); err != nil {
		return err
	}
	if err := c.startProcesses(ctx); err != nil {
		return err
	}
	if err := run(ctx, proxyRules(netip.MustParsePrefix(ClusterCIDR), c.proxyServices()),
		"ip", "netns", "exec", c.nodeNSName(), "iptables-restore"); err != nil {
		return fmt.Errorf("kube-proxy rules: %w", err)
	}
	if err := c.register(cfg.Engine); err != nil {
		return err
	}
	if err := c.startDemo(ctx, cfg, version); err != nil {
		return err
	}
	return c.selfCheck(ctx)
}

// register lists the node container in the engine.
func (c *Cluster) register(e *Engine) error {
	own := e == nil
	if own {
		var err error
		if e, err = NewEngine(); err != nil {
			return err
		}
	}
	c.engine = e
	sum := sha256.Sum256([]byte(fmt.Sprintf("kindsim %d %s %d", c.pid, c.name, c.slot)))
	c.node.ContainerID = hex.EncodeToString(sum[:])
	e.Add(Container{
		ID: c.node.ContainerID, Name: c.node.Name, Image: NodeImage,
		Labels:  map[string]string{ClusterLabel: c.name, RoleLabel: "control-plane"},
		Running: true, Pid: c.node.PID, IP: c.node.IP, Created: c.created,
	})
	c.onClose(func(context.Context) error {
		e.Remove(c.node.ContainerID)
		if own {
			return e.Close()
		}
		return nil
	})
	return nil
}

// startProcesses starts the node's process and each pod's, every one an
// ip netns exec of sleep that the kernel kills if this process dies.
func (c *Cluster) startProcesses(ctx context.Context) error {
	start := func(ns string) (*exec.Cmd, error) {
		cmd := exec.Command("ip", "netns", "exec", ns, "sleep", "infinity")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start the process of %s: %w", ns, err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		c.onClose(func(context.Context) error {
			_ = cmd.Process.Kill()
			<-exited
			return nil
		})
		// ip enters the namespace, then execs sleep in the same process.
		nsPath := netnsDir + "/" + ns
		procPath := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net"
		for {
			if same, _ := sameNetns(procPath, nsPath); same {
				return cmd, nil
			}
			select {
			case <-exited:
				return nil, fmt.Errorf("the process of %s exited at once", ns)
			case <-ctx.Done():
				return nil, fmt.Errorf("the process of %s: %w", ns, ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	cmd, err := start(c.nodeNSName())
	if err != nil {
		return err
	}
	c.node.PID = cmd.Process.Pid
	for _, p := range c.pods {
		cmd, err := start(p.nsName)
		if err != nil {
			return err
		}
		p.PID = cmd.Process.Pid
	}
	return nil
}

// Close stops the demo system, the node and pod processes, removes the
// engine's container (and closes the engine when New made it), and
// deletes the links and namespaces. It may be called more than once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var errs []error
		for i := len(c.stopped) - 1; i >= 0; i-- {
			if err := c.stopped[i](ctx); err != nil {
				errs = append(errs, err)
			}
		}
		c.stopped = nil
		if err := errors.Join(errs...); err != nil {
			c.closeErr = fmt.Errorf("kindsim: close cluster %s: %w", c.name, err)
		}
	})
	return c.closeErr
}

// Name returns the cluster's name.
func (c *Cluster) Name() string { return c.name }

// Layout returns how the pods attach to the node.
func (c *Cluster) Layout() Layout { return c.layout }

// Node returns the node container.
func (c *Cluster) Node() Node { return c.node }

// NodeName returns the node's name: NAME-control-plane.
func (c *Cluster) NodeName() string { return c.node.Name }

// NodePID returns the node container's PID, whose /proc/PID/ns/net is the
// node's network namespace.
func (c *Cluster) NodePID() int { return c.node.PID }

// NodeURL returns the todo service's URL through its NodePort on the
// node's address, as a CI host reaches a kind cluster.
func (c *Cluster) NodeURL() string {
	return "http://" + net.JoinHostPort(c.node.IP.String(), strconv.Itoa(TodoNodePort))
}

// StatsURL returns the statistics service's URL through its NodePort.
func (c *Cluster) StatsURL() string {
	return "http://" + net.JoinHostPort(c.node.IP.String(), strconv.Itoa(StatsNodePort))
}

// Engine returns the fake container engine that lists the node.
func (c *Cluster) Engine() *Engine { return c.engine }

// DockerHost returns the engine's address for DOCKER_HOST.
func (c *Cluster) DockerHost() string { return c.engine.Host() }

// Pods returns the demo's pods: todo, then stats.
func (c *Cluster) Pods() []*Pod { return append([]*Pod(nil), c.pods...) }

// Pod returns the pod of app (AppTodo or AppStats), or nil.
func (c *Cluster) Pod(app string) *Pod {
	for _, p := range c.pods {
		if p.App == app {
			return p
		}
	}
	return nil
}

// Services returns the demo's Services: todo-service, stats-service.
func (c *Cluster) Services() []Service { return append([]Service(nil), c.svcs...) }

// Service returns the Service of app (AppTodo or AppStats); ok is false
// when there is none.
func (c *Cluster) Service(app string) (s Service, ok bool) {
	for _, s := range c.svcs {
		if s.App == app {
			return s, true
		}
	}
	return Service{}, false
}

// InNode runs fn on a thread inside the node's network namespace; sockets
// it opens stay there.
func (c *Cluster) InNode(fn func() error) error { return c.nodeNS.do(fn) }
