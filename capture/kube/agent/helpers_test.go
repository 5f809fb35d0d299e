package agent

import (
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/specgate/specgate/capture/kube/cluster"
	"github.com/specgate/specgate/internal/kubefake"
)

// fakeCluster starts a fake API server (HTTPS: client-go sends tokens
// only over TLS) and returns it with a real
// client-go clientset talking to it.
func fakeCluster(t *testing.T) (*kubefake.Server, kubernetes.Interface, string) {
	t.Helper()
	srv := kubefake.New(kubefake.Options{Token: "secret-token"})
	t.Cleanup(srv.Close)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := srv.WriteKubeconfig(kc, "test"); err != nil {
		t.Fatal(err)
	}
	client, err := cluster.NewClient(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	return srv, client, kc
}

// annotated returns p with the capture annotation set to v.
func annotated(p corev1.Pod, v string) corev1.Pod {
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[CaptureAnnotation] = v
	return p
}
