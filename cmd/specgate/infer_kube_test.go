package main

import (
	"bytes"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/infer"
)

// TestInferKubeObjects: traffic captured inside a cluster by other means
// (tcpdump on the nodes, kubectl sniff) is named as the cluster names
// things with --kube-objects, kubectl's JSON: the todo service behind its
// NodePort and ClusterIP is one service, the statistics service's caller
// is the todo workload.
func TestInferKubeObjects(t *testing.T) {
	dir := t.TempDir()
	ex := func(client, server, method, target string, status int) *capture.Exchange {
		return &capture.Exchange{
			Request: capture.Request{Method: method, Target: target, Host: server, Proto: "HTTP/1.1",
				Header: capture.Header{{Name: "Host", Value: server}}},
			Response: capture.Response{Proto: "HTTP/1.1", Status: status, Header: capture.Header{{Name: "Content-Type", Value: "application/json"}},
				Body: []byte(`{"ok":true}`)},
			Timing: capture.Timing{RequestStart: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)},
			Client: netip.MustParseAddrPort(client), Server: netip.MustParseAddrPort(server),
		}
	}
	var b bytes.Buffer
	w := har.NewWriter(&b, har.FormatNDJSON, har.Creator{Name: "test"})
	for _, e := range []*capture.Exchange{
		ex("172.18.0.1:40000", "172.18.0.2:30080", "GET", "/todos", 200),       // the tests, through the NodePort
		ex("10.244.0.1:40002", "10.244.1.5:8080", "GET", "/todos", 200),        // the same, after kube-proxy's DNAT
		ex("10.244.1.5:40004", "10.96.88.12:80", "POST", "/events", 202),       // todo → stats, to its ClusterIP
		ex("203.0.113.9:40006", "203.0.113.10:8080", "GET", "/elsewhere", 200), // outside the cluster
	} {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	traffic := filepath.Join(dir, "traffic.ndjson")
	if err := os.WriteFile(traffic, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	objects := filepath.Join("..", "..", "capture", "kube", "cluster", "testdata", "kubectl-get-kind.json")
	specs := filepath.Join(dir, "specs") + "/"
	var stderr bytes.Buffer
	if code := run([]string{"infer", traffic, "--kube-objects", objects, "-o", specs}, nil, io.Discard, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(specs, "*.yaml"))
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	if want := []string{"203.0.113.10_8080.yaml", "default.stats.yaml", "default.todo-service.yaml"}; !slices.Equal(files, want) {
		t.Fatalf("documents %v, want %v", files, want)
	}
	data, err := os.ReadFile(filepath.Join(specs, "default.stats.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := infer.LoadDocument(data, "stats")
	if err != nil {
		t.Fatal(err)
	}
	callers := doc.Paths.Value("/events").Post.Extensions["x-specgate"].(map[string]any)["callers"].([]any)
	if len(callers) != 1 || callers[0] != "default/todo" {
		t.Errorf("callers of POST /events %v, want the todo workload", callers)
	}
	data, _ = os.ReadFile(filepath.Join(specs, "default.todo-service.yaml"))
	if !strings.Contains(string(data), "samples: 2") {
		t.Errorf("the NodePort and the pod's address are not one service:\n%s", data)
	}

	// A file that is not kubectl's JSON: one line, exit 2.
	stderr.Reset()
	if code := run([]string{"infer", traffic, "--kube-objects", traffic, "-o", specs}, nil, io.Discard, &stderr); code != 2 ||
		strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "--kube-objects") {
		t.Errorf("bad --kube-objects: exit %d, %q", code, stderr.String())
	}
}
