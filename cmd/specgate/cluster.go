package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/kind"
	"github.com/specgate/specgate/capture/kube/cluster"
	"github.com/specgate/specgate/capture/session"
	"github.com/specgate/specgate/internal/oserr"
)

// clusterFlags choose a kind cluster to capture in, and the Kubernetes
// cluster whose names the exchanges get.
type clusterFlags struct {
	kind       string
	kubeconfig string
	context    string
	objects    string
}

func (f *clusterFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.kind, "kind-cluster", "", "capture inside every node of this local kind cluster, found through the Docker or Podman socket ($DOCKER_HOST)")
	f.registerNaming(fl)
}

// registerNaming adds the flags that name exchanges the Kubernetes way.
func (f *clusterFlags) registerNaming(fl *pflag.FlagSet) {
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "name services and callers as this cluster does (default with --kind-cluster: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&f.context, "kube-context", "", "the kubeconfig's context (default: kind-NAME with --kind-cluster, else the current one)")
	fl.StringVar(&f.objects, "kube-objects", "", "name services and callers from this file (kubectl get pods,services,nodes -A -o json) instead of the API")
}

// naming reports whether exchanges are to be named the Kubernetes way.
func (f *clusterFlags) naming() bool {
	return f.kind != "" || f.kubeconfig != "" || f.context != "" || f.objects != ""
}

// clusterRun is what a capture in a cluster set up, for after it.
type clusterRun struct {
	missed   []capture.MissedTarget // nodes that could not be captured at all
	resolver *cluster.Resolver
}

// setupCluster finds the kind cluster's nodes and makes them the session's
// targets, and names exchanges through the cluster's API. A node that
// cannot be captured is reported and the others are; naming that cannot
// reach the API is a warning, and exchanges keep their HTTP names.
func (a *app) setupCluster(ctx context.Context, f *captureFlags, cfg *session.Config, quiet bool) (*clusterRun, error) {
	c := &f.cluster
	run := &clusterRun{}
	if c.kind != "" {
		if len(f.reads) > 0 || f.netns != "" {
			return nil, &usageError{errors.New("--kind-cluster captures live in the cluster's nodes: it cannot be combined with --read or --netns")}
		}
		engine, err := kind.EngineFromEnv(os.Getenv)
		if err != nil {
			return nil, &usageError{err}
		}
		nodes, err := engine.Nodes(ctx, c.kind)
		if err != nil {
			return nil, &usageError{err}
		}
		var failed []string
		for _, n := range nodes {
			if n.Err != nil {
				fmt.Fprintf(a.stderr, "specgate: warning: %v\n", n.Err)
				run.missed = append(run.missed, capture.MissedTarget{Target: n.Name, Reason: n.Err.Error()})
				failed = append(failed, n.Err.Error())
				continue
			}
			cfg.Targets = append(cfg.Targets, session.Target{Name: n.Name, Netns: n.Netns})
		}
		if len(cfg.Targets) == 0 {
			return nil, &usageError{fmt.Errorf("no node of kind cluster %q can be captured: %s", c.kind, strings.Join(failed, "; "))}
		}
		if !quiet {
			names := make([]string, len(cfg.Targets))
			for i, t := range cfg.Targets {
				names[i] = t.Name
			}
			cfg.Ready = func([]string) {
				fmt.Fprintf(a.stderr, "specgate: capturing in kind cluster %q: nodes %s\n", c.kind, strings.Join(names, ", "))
			}
		}
		cfg.Missed = func(m capture.MissedTarget) {
			fmt.Fprintf(a.stderr, "specgate: warning: missed %s: %s\n", m.Target, m.Reason)
		}
	}
	r, err := a.namer(ctx, c, quiet)
	if err != nil || r == nil {
		return run, err
	}
	run.resolver = r
	cfg.Annotate = r.Annotate
	return run, nil
}

// namer gives the resolver that names exchanges as the cluster does, or
// nil when the flags ask for no naming. A cluster that cannot be reached
// is a warning, and nil: traffic without names is still worth having.
// The caller closes the resolver.
func (a *app) namer(ctx context.Context, c *clusterFlags, quiet bool) (*cluster.Resolver, error) {
	if !c.naming() {
		return nil, nil
	}
	load, where, err := c.loader()
	var ue *usageError
	if errors.As(err, &ue) {
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "specgate: warning: services keep their HTTP names: %v\n", err)
		return nil, nil
	}
	r := cluster.NewResolver(load, cluster.ResolverOptions{})
	if err := r.Load(ctx); err != nil {
		fmt.Fprintf(a.stderr, "specgate: warning: services keep their HTTP names: %v\n", err)
	} else if !quiet {
		n := r.Snapshot().Counts()
		fmt.Fprintf(a.stderr, "specgate: naming by %s: %d services, %d pods\n", where, n.Services, n.Pods)
	}
	return r, nil
}

// loader gives what reads the cluster's objects, and says where from.
func (c *clusterFlags) loader() (cluster.Loader, string, error) {
	if c.objects != "" {
		fh, err := os.Open(c.objects)
		if err != nil {
			return nil, "", &usageError{fmt.Errorf("--kube-objects: %w", oserr.Cause(err))}
		}
		defer fh.Close()
		snap, err := cluster.FromList(fh)
		if err != nil {
			return nil, "", &usageError{fmt.Errorf("--kube-objects %s: %v", c.objects, err)}
		}
		return func(context.Context) (*cluster.Snapshot, error) { return snap, nil }, c.objects, nil
	}
	kubeContext := c.context
	if kubeContext == "" && c.kind != "" {
		kubeContext = cluster.KindContext(c.kind)
	}
	cs, err := cluster.NewClient(c.kubeconfig, kubeContext)
	if err != nil {
		return nil, "", err
	}
	where := "the Kubernetes API"
	if kubeContext != "" {
		where += " (context " + kubeContext + ")"
	}
	return cluster.ClientLoader(cs), where, nil
}

// finish adds the nodes that were never captured to the statistics and
// stops the resolver.
func (c *clusterRun) finish(stats *capture.Stats) {
	if c == nil {
		return
	}
	if stats != nil {
		stats.Missed = append(c.missed, stats.Missed...)
	}
	if c.resolver != nil {
		c.resolver.Close()
	}
}
