package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/infer"
	"github.com/specgate/specgate/internal/actionrun"
	"github.com/specgate/specgate/internal/cifake"
	"github.com/specgate/specgate/internal/demo/redistest"
	"github.com/specgate/specgate/internal/kindsim"
	"github.com/specgate/specgate/internal/kubefake"
	"github.com/specgate/specgate/internal/testenv"
)

// kindSystem is the demo system deployed in a simulated kind cluster, a
// fake Kubernetes API that knows its objects, and the demo's tests built.
type kindSystem struct {
	t          *testing.T
	c          *kindsim.Cluster
	api        *kubefake.Server
	kubeconfig string
	client     string // the demo's integration tests
}

func newKindSystem(t *testing.T) *kindSystem {
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	testenv.NeedCommand(t, "iptables")
	k := &kindSystem{t: t}
	bin := t.TempDir()
	k.client = filepath.Join(bin, "client")
	if out, err := exec.Command("go", "build", "-o", k.client, "../../internal/demo/cmd/client").CombinedOutput(); err != nil {
		t.Fatalf("build client: %v\n%s", err, out)
	}
	c, err := kindsim.New(context.Background(), kindsim.Config{Name: "gate", RedisURL: redistest.Start(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	k.c = c
	objs := c.Objects()
	k.api = kubefake.New(kubefake.Options{Token: "e2e-token"})
	t.Cleanup(k.api.Close)
	k.api.SetPods(objs.Pods...)
	k.api.SetServices(objs.Services...)
	k.api.SetNodes(objs.Nodes...)
	k.api.SetReplicaSets(objs.ReplicaSets...)
	k.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := k.api.WriteKubeconfig(k.kubeconfig, c.Name()); err != nil {
		t.Fatal(err)
	}
	return k
}

// check runs 'specgate check --kind-cluster' around the demo's tests of
// version, with the traffic written to traffic.ndjson in the returned
// directory; it returns the report (nil when none was written), the exit
// code and what specgate printed.
func (k *kindSystem) check(version, baseline string, extra ...string) (*gate.Report, int, string, string) {
	k.t.Helper()
	dir := k.t.TempDir()
	report := filepath.Join(dir, "report.json")
	args := append([]string{"check", "--kind-cluster", k.c.Name(), "--kubeconfig", k.kubeconfig,
		"--baseline", baseline, "-w", filepath.Join(dir, "traffic.ndjson"),
		"--format", "json=" + report, "--format", "markdown=" + filepath.Join(dir, "report.md")}, extra...)
	args = append(args, "--", k.client, "-version", version, "-todo", k.c.NodeURL(), "-stats", k.c.StatsURL())
	cmd := specgateCommand(args...)
	cmd.Env = append(cmd.Env, "DOCKER_HOST="+k.c.DockerHost())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		k.t.Fatal(err)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		return nil, code, out.String(), dir
	}
	var r gate.Report
	if err := json.Unmarshal(data, &r); err != nil {
		k.t.Fatalf("report: %v", err)
	}
	return &r, code, out.String(), dir
}

// served counts the requests the pods' servers answered since the last
// reset, and resets.
func (k *kindSystem) served() int {
	n := 0
	for _, p := range k.c.Pods() {
		n += p.ServedTotal()
		p.ResetServed()
	}
	return n
}

// TestKindCluster is the story in a kind cluster: the demo system runs in
// two pods of a simulated kind node, the tests reach the todo service
// through its NodePort, and the todo service calls the statistics service
// through its ClusterIP. 'check --kind-cluster' finds the node through
// the container engine's API, captures inside it, records every exchange
// exactly once although each crosses several interfaces and a DNAT, names
// the services and callers as the cluster does, and then catches v2's
// rename.
func TestKindCluster(t *testing.T) {
	k := newKindSystem(t)
	specs := filepath.Join(t.TempDir(), "specs") + "/"
	k.served()
	_, code, out, dir := k.check("v1", specs, "--update-baseline")
	if code != 0 {
		t.Fatalf("recording the baseline: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, `capturing in kind cluster "gate": nodes gate-control-plane`) {
		t.Errorf("no word of the node captured:\n%s", out)
	}

	// Every exchange the servers answered, exactly once, each named.
	sent := k.served()
	traffic, _, err := har.ReadFile(filepath.Join(dir, "traffic.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if len(traffic) != sent {
		t.Errorf("%d exchanges recorded, the pods answered %d", len(traffic), sent)
	}
	seen := map[capture.WireID]bool{}
	perService := map[string]int{}
	for _, e := range traffic {
		if e.Wire.IsZero() || seen[e.Wire] {
			t.Errorf("exchange %s %s: wire %v missing or recorded twice", e.Request.Method, e.Request.Target, e.Wire)
			continue
		}
		seen[e.Wire] = true
		perService[e.Service]++
	}
	t.Logf("%d exchanges recorded %v; the pods answered %d", len(traffic), perService, sent)
	if len(perService) != 2 || perService["default/todo-service"] == 0 || perService["default/stats-service"] == 0 {
		t.Errorf("exchanges per service %v: want default/todo-service and default/stats-service only", perService)
	}

	// One document per service, named the Kubernetes way; the todo
	// service is the statistics service's caller.
	files, _ := filepath.Glob(filepath.Join(specs, "*.yaml"))
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	if !slices.Equal(files, []string{"default.stats-service.yaml", "default.todo-service.yaml"}) {
		t.Fatalf("baseline documents %v", files)
	}
	b, err := os.ReadFile(filepath.Join(specs, "default.stats-service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := infer.LoadDocument(b, "stats")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Info.Title != "default/stats-service" {
		t.Errorf("title %q", doc.Info.Title)
	}
	post := doc.Paths.Value("/events")
	if post == nil || post.Post == nil {
		t.Fatalf("no POST /events in the statistics service's document:\n%s", b)
	}
	callers, _ := post.Post.Extensions["x-specgate"].(map[string]any)["callers"].([]any)
	if len(callers) != 1 || callers[0] != "default/todo" {
		t.Errorf("POST /events callers %v, want the todo workload", callers)
	}
	if len(doc.Servers) != 0 {
		t.Errorf("servers %v: the cluster's addresses change from one cluster to the next", doc.Servers)
	}

	// v2 renames a field: the gate names the rename and its callers.
	if err := k.c.SetVersion("v2"); err != nil {
		t.Fatal(err)
	}
	r, code, out, _ := k.check("v2", specs)
	if code != 1 || r == nil {
		t.Fatalf("v2: exit %d, want 1\n%s", code, out)
	}
	br := breakingOf(r)
	if len(br) != 1 || br[0].Kind != gate.KindRenamed || br[0].Service != "default/todo-service" ||
		br[0].From != "descripton" || br[0].To != "description" || !slices.Contains(br[0].Callers, "integration-tests") {
		t.Errorf("v2:\n%s", describe(r))
	}
}

// TestKindClusterMissedNode: a node that cannot be captured (a stopped
// worker) is named, the other node is still captured, and a run that
// would have passed is inconclusive, saying which node was missed.
func TestKindClusterMissedNode(t *testing.T) {
	k := newKindSystem(t)
	specs := filepath.Join(t.TempDir(), "specs") + "/"
	if _, code, out, _ := k.check("v1", specs, "--update-baseline"); code != 0 {
		t.Fatalf("recording the baseline: exit %d\n%s", code, out)
	}
	worker := k.c.Name() + "-worker"
	k.c.Engine().Add(kindsim.Container{
		ID: strings.Repeat("ab", 32), Name: worker, Image: kindsim.NodeImage,
		Labels: map[string]string{kindsim.ClusterLabel: k.c.Name(), kindsim.RoleLabel: "worker"},
	})
	r, code, out, _ := k.check("v1", specs)
	if code != 3 || r == nil || r.Verdict != gate.Inconclusive {
		t.Fatalf("exit %d, want 3 (inconclusive)\n%s", code, out)
	}
	if !strings.Contains(r.Summary, worker) || r.Capture == nil || len(r.Capture.Missed) != 1 ||
		!strings.HasPrefix(r.Capture.Missed[0], worker+": ") {
		t.Errorf("summary %q, capture %+v: want the worker named as missed", r.Summary, r.Capture)
	}
	if r.Capture.Exchanges == 0 || len(breakingOf(r)) != 0 {
		t.Errorf("the control-plane node was not judged: %s", describe(r))
	}
	if !strings.Contains(out, "specgate: warning: node "+worker) {
		t.Errorf("no warning naming the worker:\n%s", out)
	}
}

// TestKindClusterErrors: an unreachable engine or an unknown cluster is
// one line and exit 2, with nothing written.
func TestKindClusterErrors(t *testing.T) {
	dir := t.TempDir()
	engine, err := kindsim.NewEngine() // an engine with one other cluster
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	engine.Add(kindsim.Container{ID: strings.Repeat("cd", 32), Name: "other-control-plane", Image: kindsim.NodeImage,
		Labels: map[string]string{kindsim.ClusterLabel: "other", kindsim.RoleLabel: "control-plane"}})
	for _, tc := range []struct {
		name, host, want string
	}{
		{"engine down", "unix://" + filepath.Join(dir, "none.sock"), "cannot reach the container engine"},
		{"not unix", "tcp://127.0.0.1:2375", "scheme tcp is not supported"},
		{"no such cluster", engine.Host(), `no kind cluster named "dev" (clusters seen: other)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.ndjson")
			cmd := specgateCommand("capture", "--kind-cluster", "dev", "-w", out, "--", "true")
			cmd.Env = append(cmd.Env, "DOCKER_HOST="+tc.host)
			b, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want 2: %s", err, b)
			}
			if !strings.Contains(string(b), tc.want) || strings.Count(string(b), "\n") != 1 {
				t.Errorf("output %q: want one line with %q", b, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("output written")
			}
		})
	}
}

// TestActionOnKind runs the GitHub Action with kind-cluster the way a
// runner runs its steps, on the demo system in the simulated kind
// cluster: it captures in the node, gates v2 against the default
// branch's baseline artifact, and comments the rename in
// default/todo-service on the pull request.
func TestActionOnKind(t *testing.T) {
	k := newKindSystem(t)
	specs := filepath.Join(t.TempDir(), "specs") + "/"
	if _, code, out, _ := k.check("v1", specs, "--update-baseline"); code != 0 {
		t.Fatalf("recording the baseline: exit %d\n%s", code, out)
	}
	gh := cifake.NewGitHub(t)
	if n := baselineArtifact(t, gh, specs, 9101); n != 2 {
		t.Fatalf("baseline: %d documents, want 2", n)
	}
	if err := k.c.SetVersion("v2"); err != nil {
		t.Fatal(err)
	}

	env, event := pullRequestRun(gh, 8, 9301)
	env["DOCKER_HOST"] = k.c.DockerHost()
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := actionrun.Run(ctx, filepath.Join("..", ".."), actionrun.Options{
		Inputs: map[string]string{"command": k.client + " -version v2 -todo " + k.c.NodeURL(), "baseline": "artifact:specgate-baseline",
			"kind-cluster": k.c.Name(), "kubeconfig": k.kubeconfig},
		Env: env, Event: event, Token: cifake.GitHubToken, Log: &log,
		Stubs: map[string]func(actionrun.Step) error{
			"actions/upload-artifact@v4": func(actionrun.Step) error { return errors.New("a pull request must not upload a baseline") },
		},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.Bytes())
	}
	if !res.Failed || res.Outputs["verdict"] != "fail" || res.Outputs["breaking-count"] != "1" {
		t.Fatalf("failed %v, outputs %v\n%s", res.Failed, res.Outputs, log.Bytes())
	}
	if !strings.Contains(log.String(), `capturing in kind cluster "gate"`) {
		t.Errorf("the log does not say the cluster was captured:\n%s", log.Bytes())
	}
	var ours []cifake.Comment
	for _, c := range gh.Comments(8) {
		if strings.HasPrefix(c.Body, render.Marker) {
			ours = append(ours, c)
		}
	}
	if len(ours) != 1 || !strings.Contains(ours[0].Body, "default/todo-service") || !strings.Contains(ours[0].Body, "descripton") {
		t.Fatalf("comments %+v: want one naming the rename in default/todo-service", ours)
	}
}

// TestKindClusterNodeDisappears: the node container stops while the tests
// run. The exchanges captured before are kept, and the verdict is
// inconclusive, naming the node and when it disappeared.
func TestKindClusterNodeDisappears(t *testing.T) {
	k := newKindSystem(t)
	specs := filepath.Join(t.TempDir(), "specs") + "/"
	if _, code, out, _ := k.check("v1", specs, "--update-baseline"); code != 0 {
		t.Fatalf("recording the baseline: exit %d\n%s", code, out)
	}
	// The tests pass, then the node's init process dies: /proc/PID/ns/net
	// is gone, as when a kind node container stops.
	script := filepath.Join(t.TempDir(), "tests.sh")
	body := fmt.Sprintf("#!/bin/sh\n%q -version v1 -todo %q || exit 1\nkill -9 %d\nsleep 1\n", k.client, k.c.NodeURL(), k.c.NodePID())
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	client := k.client
	k.client = script
	defer func() { k.client = client }()
	r, code, out, _ := k.check("v1", specs)
	if code != 3 || r == nil {
		t.Fatalf("exit %d, want 3 (inconclusive)\n%s", code, out)
	}
	node := k.c.NodeName()
	if r.Capture == nil || len(r.Capture.Missed) != 1 || !strings.HasPrefix(r.Capture.Missed[0], node+": disappeared at ") ||
		!strings.Contains(r.Summary, node) {
		t.Errorf("summary %q, capture %+v: want %s missed as disappeared", r.Summary, r.Capture, node)
	}
	if r.Capture.Exchanges == 0 || len(breakingOf(r)) != 0 {
		t.Errorf("what was captured before is not judged: %s", describe(r))
	}
	if !strings.Contains(out, "specgate: warning: missed "+node+": disappeared") {
		t.Errorf("no warning as it happened:\n%s", out)
	}
}

// TestKindClusterWithoutAPI: when the cluster's API cannot be reached
// (no kubeconfig), the capture still runs and says that services keep
// their HTTP names.
func TestKindClusterWithoutAPI(t *testing.T) {
	k := newKindSystem(t)
	specs := filepath.Join(t.TempDir(), "specs") + "/"
	_, code, out, _ := k.check("v1", specs, "--update-baseline", "--kubeconfig", filepath.Join(t.TempDir(), "missing"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "specgate: warning: services keep their HTTP names: ") {
		t.Errorf("no warning that naming is off:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(specs, "*.yaml"))
	if len(files) == 0 || slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(filepath.Base(f), "default.") }) {
		t.Errorf("documents %v: want them named by host, not by the cluster", files)
	}
}
