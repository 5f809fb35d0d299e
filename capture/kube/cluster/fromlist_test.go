package cluster

import (
	"bytes"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/specgate/specgate/internal/kubefake"
)

func readKindList(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/kubectl-get-kind.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFromListKubectl reads `kubectl get pods,services,nodes -A -o json`
// output of a two-node kind cluster running the demo.
func TestFromListKubectl(t *testing.T) {
	snap, err := FromList(bytes.NewReader(readKindList(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c := snap.Counts(); c != (Counts{Pods: 8, Services: 5, Nodes: 2}) {
		t.Errorf("Counts = %+v", c)
	}
	servers := []serverCase{
		{"10.96.120.34:80", "default/todo-service", "cluster IP"},
		{"10.244.1.5:8080", "default/todo-service", "named targetPort"},
		{"172.18.0.2:30080", "default/todo-service", "NodePort, control plane"},
		{"172.18.0.3:30080", "default/todo-service", "NodePort, worker"},
		{"10.96.88.12:80", "default/stats", "cluster IP"},
		{"10.244.1.7:9090", "default/stats", "numeric targetPort"},
		{"10.244.1.3:6379", "default/redis", "headless Service"},
		{"10.96.0.10:53", "kube-system/kube-dns", "TCP port of a TCP and UDP Service"},
		{"10.244.0.3:9153", "kube-system/kube-dns", "pod port"},
		{"10.96.0.1:443", "default/kubernetes", "Service without a selector"},
		{"172.18.0.2:6443", "", "control-plane IP shared by etcd and kube-proxy"},
		{"172.18.0.3:10249", "kube-system/kube-proxy", "worker IP, one hostNetwork pod"},
		{"10.244.1.99:80", "", "unknown"},
	}
	for _, c := range servers {
		got, ok := snap.Service(netip.MustParseAddrPort(c.addr))
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Service(%s) = %q, %v; want %q (%s)", c.addr, got, ok, c.want, c.why)
		}
	}
	clients := []serverCase{
		{"10.244.1.5", "default/todo", "Deployment"},
		{"10.244.1.7", "default/stats", "Deployment"},
		{"10.244.1.3", "default/redis", "StatefulSet"},
		{"10.244.1.11", "default/load-test-29118240", "Job, no Jobs listed"},
		{"10.244.0.3", "kube-system/coredns", "Deployment"},
		{"172.18.0.2", "", "several hostNetwork pods"},
		{"172.18.0.3", "kube-system/kube-proxy", "one hostNetwork pod"},
	}
	for _, c := range clients {
		got, ok := snap.Workload(netip.MustParseAddr(c.addr))
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Workload(%s) = %q, %v; want %q (%s)", c.addr, got, ok, c.want, c.why)
		}
	}
}

// jobsList is `kubectl get jobs -A -o json` for the load-test CronJob's job.
const jobsList = `{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "labels": {"batch.kubernetes.io/job-name": "load-test-29118240"},
                "name": "load-test-29118240",
                "namespace": "default",
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "CronJob",
                        "name": "load-test",
                        "uid": "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e"
                    }
                ],
                "uid": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
            },
            "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1,
                "template": {"spec": {"containers": [{"image": "curlimages/curl:8.7.1", "name": "load"}], "restartPolicy": "Never"}}},
            "status": {"active": 1, "startTime": "2025-05-12T10:00:00Z"}
        }
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}`

// TestFromListWithJobs reads the list followed by a jobs list, as
// LoadKubectl concatenates them: the CronJob names the job's pod.
func TestFromListWithJobs(t *testing.T) {
	in := io.MultiReader(bytes.NewReader(readKindList(t)), strings.NewReader(jobsList))
	snap, err := FromList(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := snap.Workload(netip.MustParseAddr("10.244.1.11")); got != "default/load-test" {
		t.Errorf("Workload = %q, want default/load-test", got)
	}
}

// TestFromListAPILists reads the typed lists the API server returns
// (PodList and so on, items without apiVersion and kind), fetched from the
// fake API server.
func TestFromListAPILists(t *testing.T) {
	srv, _ := startFake(t, kubefake.Options{Token: testToken})
	var all bytes.Buffer
	for _, p := range []string{"/api/v1/pods", "/api/v1/services", "/api/v1/nodes", "/apis/batch/v1/jobs", "/apis/apps/v1/replicasets"} {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", p, resp.Status, b)
		}
		all.Write(b)
	}
	snap, err := FromList(&all)
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, snap)
}

func TestFromListErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no document"},
		{"spaces", " \n\t", "no document"},
		{"array", "[]", "not a kubernetes object or list"},
		{"no kind", "{}", "no kind"},
		{"truncated", `{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod"`, "unexpected EOF"},
		{"bad item", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","spec":{"containers":"x"}}]}`, "item 0: Pod"},
		{"bad items", `{"apiVersion":"v1","kind":"List","items":7}`, "not a kubernetes object or list"},
		{"second document", `{"apiVersion":"v1","kind":"List","items":[]} {"kind":`, "read kubernetes json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromList(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// TestFromListSkipsOtherKinds: kinds the snapshot does not use, and kinds
// of other API groups, are skipped.
func TestFromListSkipsOtherKinds(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"List","items":[
		{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"default"},"data":{"a":"b"}},
		{"apiVersion":"example.com/v1","kind":"Pod","metadata":{"name":"y","namespace":"default"},"status":{"podIP":"10.0.0.9"}},
		{"apiVersion":"v1","kind":"Pod","metadata":{"name":"z","namespace":"default"},"status":{"phase":"Running","podIP":"10.0.0.8"}}
	]}`
	snap, err := FromList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if c := snap.Counts(); c.Pods != 1 {
		t.Errorf("Counts = %+v, want 1 pod", c)
	}
	if _, ok := snap.Workload(netip.MustParseAddr("10.0.0.9")); ok {
		t.Error("a Pod of another API group was used")
	}
	if got, _ := snap.Workload(netip.MustParseAddr("10.0.0.8")); got != "default/z" {
		t.Errorf("Workload = %q", got)
	}
}

func FuzzFromList(f *testing.F) {
	f.Add(readKindList(f))
	f.Add([]byte(jobsList))
	f.Add([]byte(`{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"a","namespace":"b"},"spec":{"hostNetwork":true,"containers":[{"name":"c","ports":[{"containerPort":80,"hostPort":8080}]}]},"status":{"podIP":"fd00::1","podIPs":[{"ip":"fd00::1"}]}}]}`))
	f.Add([]byte(`{"kind":"ServiceList","apiVersion":"v1","items":[{"metadata":{"name":"s","namespace":"b"},"spec":{"selector":{"a":"b"},"clusterIP":"10.0.0.1","ports":[{"port":80,"targetPort":"web","nodePort":30000}],"type":"NodePort"}}]}`))
	probes := []netip.AddrPort{
		netip.MustParseAddrPort("10.244.1.5:8080"), netip.MustParseAddrPort("[fd00::1]:80"),
		netip.MustParseAddrPort("172.18.0.3:30080"), netip.MustParseAddrPort("10.0.0.1:80"),
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		snap, err := FromList(bytes.NewReader(b))
		if err != nil {
			if snap != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("snapshot %v with error %q", snap, err)
			}
			return
		}
		for _, p := range probes {
			snap.Service(p)
			snap.Workload(p.Addr())
		}
	})
}
