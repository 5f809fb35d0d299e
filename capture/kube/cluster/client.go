package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// KindContext returns the kubeconfig context kind writes for a cluster.
func KindContext(cluster string) string { return "kind-" + cluster }

// requestTimeout bounds each API request made by a client from NewClient.
const requestTimeout = 30 * time.Second

// RESTConfig returns the client configuration for a kubeconfig and
// context, found as kubectl finds them: the file kubeconfig when it is not
// "", else the files in $KUBECONFIG, else ~/.kube/config; context "" means
// the current context. When kubeconfig, context and $KUBECONFIG are all
// empty and the process runs in a pod (KUBERNETES_SERVICE_HOST is set), the
// pod's service account is used instead.
func RESTConfig(kubeconfig, context string) (*rest.Config, error) {
	if kubeconfig == "" && context == "" && os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster kubernetes config (KUBERNETES_SERVICE_HOST is set, no kubeconfig given): %s", oneLine(err))
		}
		return finish(cfg), nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	if kubeconfig == "" && os.Getenv("KUBECONFIG") == "" {
		// client-go fixes the home file when the program starts; look now.
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find kubeconfig: %s; name one with --kubeconfig or $KUBECONFIG", oneLine(err))
		}
		rules.Precedence = []string{filepath.Join(home, ".kube", "config")}
	}
	// Never move old kubeconfig files about.
	rules.MigrationRules = nil
	// A missing kubeconfig is an error below, not a log line; and it must
	// be, for client-go would otherwise go on with an in-cluster config or
	// none at all.
	rules.WarnIfAllMissing = false
	where := describe(rules, kubeconfig, context)
	if kubeconfig == "" {
		found := false
		for _, p := range rules.GetLoadingPrecedence() {
			if _, err := os.Stat(p); err == nil {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: no kubeconfig file found", where)
		}
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, fmt.Errorf("%s: no cluster configured", where)
		}
		return nil, fmt.Errorf("%s: %s", where, oneLine(err))
	}
	return finish(cfg), nil
}

// NewClient returns a clientset for a kubeconfig and context, as
// RESTConfig finds them.
func NewClient(kubeconfig, context string) (kubernetes.Interface, error) {
	cfg, err := RESTConfig(kubeconfig, context)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %s", cfg.Host, oneLine(err))
	}
	return cs, nil
}

// Client-side rate limits (client-go's defaults are 5 and 10), as kubectl
// sets them: a large cluster's pod list takes many pages.
const (
	clientQPS   = 50
	clientBurst = 100
)

// finish sets specgate's user agent, request timeout and rate limits.
func finish(cfg *rest.Config) *rest.Config {
	cfg.UserAgent = "specgate"
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = clientQPS, clientBurst
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = requestTimeout
	}
	return cfg
}

// describe names the kubeconfig files and context for an error message.
func describe(rules *clientcmd.ClientConfigLoadingRules, kubeconfig, context string) string {
	var where string
	switch {
	case kubeconfig != "":
		where = "kubeconfig " + kubeconfig
	default:
		where = "kubeconfig " + strings.Join(rules.GetLoadingPrecedence(), string(filepath.ListSeparator))
	}
	if context != "" {
		where += fmt.Sprintf(" (context %q)", context)
	} else {
		where += " (current context)"
	}
	return where
}

// oneLine flattens an error's text to one line.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	if s := strings.Join(strings.Fields(err.Error()), " "); s != "" {
		return s
	}
	return "unknown error"
}
