package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func TestKindContext(t *testing.T) {
	if got := KindContext("specgate"); got != "kind-specgate" {
		t.Errorf("KindContext = %q", got)
	}
}

// writeTwoContexts writes a kubeconfig with contexts kind-a (current) and
// kind-b, for servers a and b, and returns its path.
func writeTwoContexts(t *testing.T, dir string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for _, n := range []string{"a", "b"} {
		name := KindContext(n)
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: "https://" + n + ".cluster.test:6443"}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: testToken + "-" + n}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	cfg.CurrentContext = KindContext("a")
	p := filepath.Join(dir, "config")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// isolate points HOME and the kubeconfig variables at nothing.
func isolate(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	return home
}

func TestRESTConfigFinds(t *testing.T) {
	home := isolate(t)
	explicit := writeTwoContexts(t, t.TempDir())
	envDir := t.TempDir()
	envFile := writeTwoContexts(t, envDir)
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeTwoContexts(t, filepath.Join(home, ".kube"))

	tests := []struct {
		name                string
		kubeconfig, context string
		env                 string
		wantHost, wantToken string
	}{
		{"explicit, current context", explicit, "", "", "https://a.cluster.test:6443", testToken + "-a"},
		{"explicit, context override", explicit, "kind-b", "", "https://b.cluster.test:6443", testToken + "-b"},
		{"$KUBECONFIG", "", "kind-b", envFile, "https://b.cluster.test:6443", testToken + "-b"},
		{"~/.kube/config", "", "", "", "https://a.cluster.test:6443", testToken + "-a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			cfg, err := RESTConfig(tc.kubeconfig, tc.context)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != tc.wantHost || cfg.BearerToken != tc.wantToken {
				t.Errorf("host %q token %q, want %q %q", cfg.Host, cfg.BearerToken, tc.wantHost, tc.wantToken)
			}
			if cfg.UserAgent != "specgate" || cfg.Timeout == 0 || cfg.QPS < 50 {
				t.Errorf("user agent %q timeout %v qps %v", cfg.UserAgent, cfg.Timeout, cfg.QPS)
			}
			if _, err := NewClient(tc.kubeconfig, tc.context); err != nil {
				t.Errorf("NewClient: %v", err)
			}
		})
	}
}

func TestRESTConfigErrors(t *testing.T) {
	home := isolate(t)
	kc := writeTwoContexts(t, t.TempDir())
	missing := filepath.Join(t.TempDir(), "nope")
	tests := []struct {
		name                string
		kubeconfig, context string
		setup               func(t *testing.T)
		want                []string
	}{
		{"unknown context", kc, "kind-nope", nil, []string{kc, `"kind-nope"`, "does not exist"}},
		{"missing file", missing, "", nil, []string{missing, "no such file"}},
		{"no kubeconfig at all", "", "", nil, []string{filepath.Join(home, ".kube", "config"), "no kubeconfig file found"}},
		{"bad yaml", "", "", func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "broken")
			os.WriteFile(p, []byte("apiVersion: v1\nclusters: [\n  token: "+testToken+"\n"), 0o600)
			t.Setenv("KUBECONFIG", p)
		}, []string{"broken"}},
		{"in-cluster without a service account", "", "", func(t *testing.T) {
			if _, err := os.Stat("/var/run/secrets/kubernetes.io/serviceaccount/token"); err == nil {
				t.Skip("this machine has a service account token")
			}
			t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
			t.Setenv("KUBERNETES_SERVICE_PORT", "443")
		}, []string{"in-cluster", "serviceaccount/token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", "")
			if tc.setup != nil {
				tc.setup(t)
			}
			_, err := NewClient(tc.kubeconfig, tc.context)
			checkOneLine(t, err, tc.want, testToken)
		})
	}
}

func TestRESTConfigInClusterIgnoredWithKubeconfig(t *testing.T) {
	isolate(t)
	kc := writeTwoContexts(t, t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	cfg, err := RESTConfig(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg.Host, "a.cluster.test") {
		t.Errorf("host %q, want the kubeconfig's", cfg.Host)
	}
}
