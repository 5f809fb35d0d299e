package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/internal/kubefake"
	"github.com/specgate/specgate/internal/testenv"
)

// TestLoadKubectl runs the real kubectl against the fake API server, through
// the kubeconfig it writes.
func TestLoadKubectl(t *testing.T) {
	kubectl := testenv.NeedCommand(t, "kubectl")
	home := isolate(t)
	t.Setenv("KUBECACHEDIR", filepath.Join(home, "cache"))
	srv, kc := startFake(t, kubefake.Options{Token: testToken})
	snap, err := LoadKubectl(context.Background(), kubectl, kc, KindContext("demo"))
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, snap)
	if w := snap.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	if srv.Requests("/api/v1/pods") == 0 || srv.Requests("/apis/batch/v1/jobs") == 0 {
		t.Errorf("kubectl did not list pods and jobs: %v", srv.RequestCounts())
	}
}

// fakeKubectl writes a script standing in for kubectl and returns its path.
func fakeKubectl(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubectl")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadKubectlErrors(t *testing.T) {
	testenv.NeedCommand(t, "sh")
	list, err := filepath.Abs("testdata/kubectl-get-kind.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		script   string
		wantErr  []string
		wantWarn string
	}{
		{
			name:    "unreachable",
			script:  "echo 'E0512 10:00:00.000000 1 memcache.go:265] couldn'\\''t get current server API group list: Get \"https://127.0.0.1:1/api?timeout=32s\": dial tcp 127.0.0.1:1: connect: connection refused' >&2\necho 'The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?' >&2\nexit 1\n",
			wantErr: []string{"get pods,services,nodes", "exit status 1", "127.0.0.1:1 was refused"},
		},
		{
			name:    "not json",
			script:  "echo 'NAME READY STATUS'\n",
			wantErr: []string{"get pods,services,nodes", "read kubernetes json"},
		},
		{
			name:     "jobs forbidden",
			script:   "case \"$2\" in jobs.batch) echo 'Error from server (Forbidden): jobs.batch is forbidden' >&2; exit 1;; esac\ncat '" + list + "'\n",
			wantWarn: "jobs.batch is forbidden",
		},
		{
			name:     "arguments",
			script:   "[ \"$*\" = 'get pods,services,nodes --all-namespaces -o json --kubeconfig /k --context kind-x' ] || { echo \"args: $*\" >&2; exit 3; }\ncat '" + list + "'\n",
			wantWarn: "args: get jobs.batch --all-namespaces -o json --kubeconfig /k --context kind-x",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := LoadKubectl(context.Background(), fakeKubectl(t, tc.script), "/k", "kind-x")
			if tc.wantErr != nil {
				checkOneLine(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := strings.Join(snap.Warnings(), "|")
			if !strings.Contains(w, tc.wantWarn) || tc.wantWarn == "" {
				t.Errorf("warnings %q lack %q", w, tc.wantWarn)
			}
			if c := snap.Counts(); c.Pods != 8 {
				t.Errorf("Counts = %+v", c)
			}
		})
	}
}
