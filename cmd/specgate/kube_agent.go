package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/kube/agent"
	"github.com/specgate/specgate/capture/kube/cluster"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/internal/atomicfile"
	"github.com/specgate/specgate/internal/oserr"
)

// kubeAgentFlags are the flags of 'specgate kube agent' besides the
// capture flags.
type kubeAgentFlags struct {
	node              string
	dir               string
	listen            string
	rotate            time.Duration
	resync            time.Duration
	maxDisk           sizeValue
	namespaceSelector string
	kubeconfig        string
	context           string
}

func (a *app) kubeAgentCmd() *cobra.Command {
	cf := newCaptureFlags()
	f := &kubeAgentFlags{maxDisk: 1 << 30}
	cmd := &cobra.Command{
		Use:   "agent [flags]",
		Short: "Capture the opted-in pods of this node into shards (DaemonSet)",
		Long: `Agent runs on every node, as the DaemonSet in deploy/agent.yaml (hostNetwork,
hostPID, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_SYS_PTRACE). It lists the pods of
its node (--node, default $NODE_NAME) that opt in, with the annotation
specgate.io/capture: "true" or a namespace matching --namespace-selector,
and are Running with a pod IP of their own. It finds each pod's network
namespace by scanning /proc/*/ns/net, and captures in all of them at once,
naming every exchange after the cluster's Services and workloads.

Exchanges go to NDJSON shards in --dir, NODE-SEQ.ndjson, each with a
statistics file NODE-SEQ.stats.json (drops, losses, pods missed). A new
shard starts every --rotate and whenever the set of pods changes; it starts
before the previous one stops, so nothing falls between them ('kube collect'
removes the copies). Files appear whole or not at all. When the shards use
more than --max-disk, the oldest are deleted, with a warning.

The shards are served on --listen: GET /shards (the list, with sizes and
SHA-256), GET /shards/NAME, GET /healthz, and POST /flush, which writes the
current shard now (at most once a second; 'kube collect' asks for it, so
a collection right after the tests holds all of their traffic). SIGTERM or
SIGINT write the current shard and exit 0.`,
		Example: `  # in the DaemonSet (deploy/agent.yaml)
  specgate kube agent --dir /var/lib/specgate/shards --rotate 1m --max-disk 1GiB

  # capture every pod of the namespaces labelled for it, HTTP on port 8080 only
  specgate kube agent --namespace-selector specgate.io/capture=true -f 'tcp port 8080'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runKubeAgent(cmd.Context(), cf, f)
		},
	}
	cf.register(cmd.Flags())
	fl := cmd.Flags()
	for _, n := range []string{"read", "netns"} {
		fl.MarkHidden(n)
	}
	fl.StringVar(&f.node, "node", os.Getenv("NODE_NAME"), "the node this agent runs on (the downward API's spec.nodeName)")
	fl.StringVar(&f.dir, "dir", "/var/lib/specgate/shards", "directory the shards are written to (a hostPath)")
	fl.StringVar(&f.listen, "listen", ":9090", "address to serve the shards on")
	fl.DurationVar(&f.rotate, "rotate", agent.DefaultRotate, "start a new shard this often")
	fl.DurationVar(&f.resync, "resync", agent.DefaultResync, "list the node's pods this often")
	fl.Var(&f.maxDisk, "max-disk", "disk the shards may use; the oldest are deleted beyond it (0: no bound)")
	fl.StringVar(&f.namespaceSelector, "namespace-selector", "", "capture every pod of the namespaces with these labels, e.g. specgate.io/capture=true")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the pod's service account)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current one)")
	return cmd
}

func (a *app) runKubeAgent(ctx context.Context, cf *captureFlags, f *kubeAgentFlags) error {
	switch {
	case len(cf.reads) > 0:
		return &usageError{errors.New("kube agent captures live: -r does not apply (use 'specgate capture -r')")}
	case cf.netns != "":
		return &usageError{errors.New("kube agent finds the pods' network namespaces itself: drop --netns")}
	case f.node == "":
		return &usageError{errors.New("no node name: set NODE_NAME from the downward API (fieldPath: spec.nodeName), or give --node")}
	case f.rotate < time.Second:
		return &usageError{fmt.Errorf("--rotate %s: want at least 1s", f.rotate)}
	case f.resync < 100*time.Millisecond:
		return &usageError{fmt.Errorf("--resync %s: want at least 100ms", f.resync)}
	}
	sel, err := agent.ParseNamespaceSelector(f.namespaceSelector)
	if err != nil {
		return &usageError{fmt.Errorf("--namespace-selector: %v", err)}
	}
	opts, err := a.captureOptions(cf, f.dir)
	if err != nil {
		return err
	}
	client, err := cluster.NewClient(f.kubeconfig, f.context)
	if err != nil {
		return err
	}
	store, err := agent.OpenStore(f.dir, f.node, int64(f.maxDisk))
	if err != nil {
		return err
	}
	resolver := cluster.NewResolver(cluster.ClientLoader(client), cluster.ResolverOptions{})
	defer resolver.Close()
	if err := resolver.Load(ctx); err != nil {
		fmt.Fprintf(a.stderr, "specgate: warning: naming services: %s (retrying as traffic comes)\n", oneLine(err.Error()))
	}
	ag, err := agent.New(agent.Config{
		Node:     f.node,
		Pods:     &agent.PodLister{Client: client, Node: f.node, NamespaceSelector: sel},
		Store:    store,
		Options:  opts,
		Rotate:   f.rotate,
		Resync:   f.resync,
		Annotate: resolver.Annotate,
		Log:      a.stderr,
	})
	if err != nil {
		return &usageError{err}
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, oserr.Cause(err))
	}
	srv := &http.Server{Handler: ag.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(a.stderr, "specgate: agent on node %s: shards in %s, served on http://%s/shards\n", f.node, f.dir, ln.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cf.duration > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, cf.duration)
		defer stop()
	}
	go func() {
		select {
		case <-a.signals:
			fmt.Fprintln(a.stderr, "specgate: stopping: writing the current shard")
			cancel()
		case <-ctx.Done():
		}
	}()
	runErr := ag.Run(ctx)
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	if runErr != nil {
		return runErr
	}
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving the shards: %w", err)
		}
	default:
	}
	return nil
}

// kubeCollectFlags are the flags of 'specgate kube collect'.
type kubeCollectFlags struct {
	agents         []string
	kubeconfig     string
	context        string
	agentNamespace string
	agentSelector  string
	agentPort      int
	write          string
	specs          string
	clean          bool
	allowMissing   bool
	noFlush        bool
	quiet          bool
}

func (a *app) kubeCollectCmd() *cobra.Command {
	f := &kubeCollectFlags{}
	cmd := &cobra.Command{
		Use:   "collect (-w FILE | --specs DIR) [flags]",
		Short: "Fetch and merge the shards of every agent",
		Long: `Collect fetches every shard of every 'kube agent', checks each against its
SHA-256, removes the exchanges seen more than once (shards overlap, and a
call between two captured pods is seen in both) and writes the merge: to
FILE (.har, .ndjson or .jsonl) with -w, and as one OpenAPI document per
service in DIR with --specs (DIR/<namespace>.<service>.yaml), as 'specgate
infer' would from a single capture of the same traffic.

The agents are found through the Kubernetes API (pods labelled
--agent-selector in --agent-namespace) and reached through the API
server's pod proxy, which needs get and create (for the flush) on
pods/proxy in that namespace; or give each agent's URL with --agent.
Each agent first writes the shard it is capturing into (POST /flush), so
the merge holds the traffic up to now, without waiting for a rotation.

An agent that cannot be reached, or a shard that fails its checksum, is
named on stderr and the rest is still merged and written; the exit code is
then 3 (inconclusive: traffic is missing), unless --allow-missing. Pods the
agents could not capture in are named too. Collecting nothing exits 3.`,
		Example: `  # every agent of the cluster, through the API server
  specgate kube collect --specs specs/ -w traffic.ndjson

  # a kind cluster's agents
  specgate kube collect --context kind-dev --specs specs/

  # agents reached directly, one of them possibly gone
  specgate kube collect --agent http://10.0.0.5:9090 --agent http://10.0.0.6:9090 --allow-missing -w traffic.har`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runKubeCollect(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.agents, "agent", nil, "URL of an agent (http://HOST:9090), repeatable; the Kubernetes API is then not asked")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context (default: the current one)")
	fl.StringVar(&f.agentNamespace, "agent-namespace", agent.DefaultAgentNamespace, "namespace of the agents")
	fl.StringVar(&f.agentSelector, "agent-selector", agent.DefaultAgentSelector, "label selector of the agent pods")
	fl.IntVar(&f.agentPort, "agent-port", agent.DefaultAgentPort, "port the agents serve their shards on")
	fl.StringVarP(&f.write, "write", "w", "", "write the merged exchanges to FILE: .har, .ndjson or .jsonl")
	fl.StringVar(&f.specs, "specs", "", "infer one OpenAPI document per service into this directory")
	fl.BoolVar(&f.clean, "clean", false, "write documents without x-specgate counts, for publishing (they no longer merge)")
	fl.BoolVar(&f.allowMissing, "allow-missing", false, "exit 0 even when agents or shards could not be collected")
	fl.BoolVar(&f.noFlush, "no-flush", false, "collect only the shards already written; by default each agent first writes the one it is capturing into")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the summary")
	return cmd
}

func (a *app) runKubeCollect(ctx context.Context, f *kubeCollectFlags) error {
	if f.write == "" && f.specs == "" {
		return &usageError{errors.New("name an output: -w FILE for the merged exchanges, --specs DIR for the documents, or both")}
	}
	format := har.FormatNDJSON
	if f.write != "" {
		var ok bool
		if format, ok = har.FormatForPath(f.write); !ok {
			return &usageError{fmt.Errorf("-w %s: the name must end in .har, .ndjson or .jsonl", f.write)}
		}
	}
	if f.agentPort <= 0 || f.agentPort > 65535 {
		return &usageError{fmt.Errorf("--agent-port %d: want a port number", f.agentPort)}
	}
	endpoints, err := a.collectEndpoints(ctx, f)
	if err != nil {
		return err
	}

	// The merge goes to -w, or to a temporary file that inference reads.
	var out *atomicfile.File
	var tmp *os.File
	var dst io.Writer
	if f.write != "" {
		if out, err = atomicfile.Create(f.write); err != nil {
			return err
		}
		defer out.Abort()
		dst = out
	} else {
		if tmp, err = os.CreateTemp("", "specgate-collect-*.ndjson"); err != nil {
			return fmt.Errorf("create a temporary file: %w", oserr.Cause(err))
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		dst = tmp
	}
	w := har.NewWriter(dst, format, har.Creator{Name: "specgate", Version: version})
	res, err := agent.Collect(ctx, agent.CollectConfig{
		Agents:  endpoints,
		Options: source.Options{Redactor: redact.New(redact.Options{})},
		Sink:    w.Write,
		Flush:   !f.noFlush,
	})
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write the merged exchanges: %w", err)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(a.stderr, "specgate: not collected: %s\n", oneLine(p.String()))
	}
	for _, m := range res.Missed {
		fmt.Fprintf(a.stderr, "specgate: warning: node %s did not capture pod %s: %s\n", m.Node, m.Target, oneLine(m.Reason))
	}
	nodes := make([]string, 0, len(res.Deleted))
	for node := range res.Deleted {
		nodes = append(nodes, node)
	}
	sort.Strings(nodes)
	for _, node := range nodes {
		fmt.Fprintf(a.stderr, "specgate: warning: node %s deleted its %d oldest shards to stay under --max-disk: their traffic is lost\n", node, res.Deleted[node])
	}
	if !f.quiet {
		fmt.Fprintf(a.stderr, "specgate: collected %d exchanges from %s of %s (%d copies removed)\n",
			res.Exchanges, plural(res.Shards, "shard"), plural(res.Agents, "agent"), res.Duplicates)
		for _, l := range res.Capture.Explain() {
			if res.Exchanges > 0 || !strings.HasPrefix(l, "no packets") {
				fmt.Fprintf(a.stderr, "  %s\n", l)
			}
		}
	}

	input := f.write
	if out != nil {
		if err := out.Commit(); err != nil {
			return err
		}
	} else {
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("write %s: %w", tmp.Name(), oserr.Cause(err))
		}
		input = tmp.Name()
	}
	if res.Exchanges == 0 {
		fmt.Fprintln(a.stderr, "specgate: no HTTP exchanges were collected: nothing to infer (inconclusive)")
		return &exitError{code: 3}
	}
	if f.specs != "" {
		if err := a.runInfer(ctx, &inferFlags{output: f.specs + string(os.PathSeparator), clean: f.clean, variableMin: 20, quiet: f.quiet}, []string{input}); err != nil {
			return err
		}
	}
	if len(res.Problems) > 0 && !f.allowMissing {
		fmt.Fprintf(a.stderr, "specgate: %s could not be collected: the result is incomplete (exit 3; --allow-missing accepts it)\n", plural(len(res.Problems), "agent or shard"))
		return &exitError{code: 3}
	}
	return nil
}

// collectEndpoints returns the agents to collect from: the --agent URLs,
// else the agent pods the Kubernetes API lists.
func (a *app) collectEndpoints(ctx context.Context, f *kubeCollectFlags) ([]agent.Endpoint, error) {
	if len(f.agents) > 0 {
		var eps []agent.Endpoint
		for _, u := range f.agents {
			ep, err := agent.URLEndpoint(u, nil)
			if err != nil {
				return nil, &usageError{fmt.Errorf("--agent: %v", err)}
			}
			eps = append(eps, ep)
		}
		return eps, nil
	}
	cfg, err := cluster.RESTConfig(f.kubeconfig, f.context)
	if err != nil {
		return nil, err
	}
	// A shard streams through the pod proxy for as long as it takes: no
	// timeout on whole requests, one on finding the agents.
	cfg.Timeout = 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	eps, err := agent.FindAgents(lctx, client, f.agentNamespace, f.agentSelector, f.agentPort)
	if err != nil {
		return nil, err
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("no agents: no pod labelled %s in namespace %s (apply deploy/agent.yaml, or give --agent URL)", f.agentSelector, f.agentNamespace)
	}
	return eps, nil
}
