package kubefake

import (
	"encoding/pem"
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ContextName is the context name kind writes for a cluster: "kind-" + cluster.
func ContextName(cluster string) string { return "kind-" + cluster }

// Kubeconfig returns a kubeconfig whose cluster, user and current context
// are all named ContextName(cluster), as kind names them, pointing at the
// server with its token (and its CA when it serves TLS).
func (s *Server) Kubeconfig(cluster string) ([]byte, error) {
	name := ContextName(cluster)
	c := clientcmdapi.NewConfig()
	cl := clientcmdapi.NewCluster()
	cl.Server = s.URL
	if cert := s.srv.Certificate(); cert != nil {
		cl.CertificateAuthorityData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	}
	c.Clusters[name] = cl
	u := clientcmdapi.NewAuthInfo()
	u.Token = s.token
	c.AuthInfos[name] = u
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo = name, name
	c.Contexts[name] = ctx
	c.CurrentContext = name
	b, err := clientcmd.Write(*c)
	if err != nil {
		return nil, fmt.Errorf("kubefake: encode kubeconfig: %w", err)
	}
	return b, nil
}

// WriteKubeconfig writes Kubeconfig(cluster) to path with mode 0600.
func (s *Server) WriteKubeconfig(path, cluster string) error {
	b, err := s.Kubeconfig(cluster)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("kubefake: write kubeconfig: %w", err)
	}
	return nil
}
