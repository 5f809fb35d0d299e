// Package deploy_test checks the Kubernetes manifests in deploy/: every
// document decodes strictly into its k8s.io/api type, and the pieces fit
// together (and fit specgate's defaults).
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/specgate/specgate/capture/kube/agent"
	"github.com/specgate/specgate/internal/testenv"
)

// objects are the documents of the manifests, by kind.
type objects struct {
	namespaces          []corev1.Namespace
	serviceAccounts     []corev1.ServiceAccount
	services            []corev1.Service
	clusterRoles        []rbacv1.ClusterRole
	clusterRoleBindings []rbacv1.ClusterRoleBinding
	roles               []rbacv1.Role
	daemonSets          []appsv1.DaemonSet
	deployments         []appsv1.Deployment
	jobs                []batchv1.Job
}

// decoder decodes the kinds client-go knows, strictly: an unknown field, a
// duplicate one, or a field spelt with other capitals (hostPid) fails.
var decoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// decode decodes one document strictly.
func decode(doc []byte) (runtime.Object, error) {
	obj, _, err := decoder.Decode(doc, nil, nil)
	return obj, err
}

// load decodes every document of every YAML file under deploy/.
func load(t *testing.T) *objects {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %v, want agent.yaml and the demo's manifests", files)
	}
	o := &objects{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			if err := o.add(doc); err != nil {
				t.Errorf("%s: document %d: %v", f, i, err)
			}
		}
	}
	return o
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(append(out, line...), '\n')
		}
	}
	return out
}

func (o *objects) add(doc []byte) error {
	obj, err := decode(doc)
	if err != nil {
		return err
	}
	switch v := obj.(type) {
	case *corev1.Namespace:
		o.namespaces = append(o.namespaces, *v)
	case *corev1.ServiceAccount:
		o.serviceAccounts = append(o.serviceAccounts, *v)
	case *corev1.Service:
		o.services = append(o.services, *v)
	case *rbacv1.ClusterRole:
		o.clusterRoles = append(o.clusterRoles, *v)
	case *rbacv1.ClusterRoleBinding:
		o.clusterRoleBindings = append(o.clusterRoleBindings, *v)
	case *rbacv1.Role:
		o.roles = append(o.roles, *v)
	case *appsv1.DaemonSet:
		o.daemonSets = append(o.daemonSets, *v)
	case *appsv1.Deployment:
		o.deployments = append(o.deployments, *v)
	case *batchv1.Job:
		o.jobs = append(o.jobs, *v)
	default:
		return fmt.Errorf("unexpected %T (add it to this test)", obj)
	}
	return nil
}

func TestStrictDecodingCatchesTypos(t *testing.T) {
	for _, c := range []struct{ name, field string }{
		{"capitals", "hostPid: true"},
		{"unknown", "hostPIDs: true"},
		{"duplicate", "hostPID: true\n      hostPID: false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := []byte("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      " + c.field + "\n")
			if _, err := decode(doc); err == nil {
				t.Errorf("%q decoded", c.field)
			}
		})
	}
	obj, err := decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"))
	if ns, ok := obj.(*corev1.Namespace); err != nil || !ok || ns.Name != "x" {
		t.Errorf("a good document: %v %+v", err, obj)
	}
	if _, err := decode([]byte("apiVersion: v1\nkind: Nemespace\nmetadata: {name: x}\n")); err == nil {
		t.Error("an unknown kind decoded")
	}
}

func TestAgentManifest(t *testing.T) {
	o := load(t)
	if len(o.daemonSets) != 1 {
		t.Fatalf("%d DaemonSets, want 1", len(o.daemonSets))
	}
	ds := o.daemonSets[0]
	spec := ds.Spec.Template.Spec
	sel, err := labels.Parse(agent.DefaultAgentSelector)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Namespace != agent.DefaultAgentNamespace || !sel.Matches(labels.Set(ds.Spec.Template.Labels)) {
		t.Errorf("the agents are %s pods labelled %v: 'kube collect' looks for %s in %s",
			ds.Namespace, ds.Spec.Template.Labels, agent.DefaultAgentSelector, agent.DefaultAgentNamespace)
	}
	if ds.Spec.Selector == nil || !labels.SelectorFromSet(ds.Spec.Selector.MatchLabels).Matches(labels.Set(ds.Spec.Template.Labels)) {
		t.Error("the DaemonSet's selector does not match its pod template")
	}
	if !spec.HostNetwork || !spec.HostPID || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, hostPID %v, dnsPolicy %q", spec.HostNetwork, spec.HostPID, spec.DNSPolicy)
	}
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds < 5 {
		t.Error("no terminationGracePeriodSeconds long enough to write the last shard")
	}
	tolerates := false
	for _, tol := range spec.Tolerations {
		tolerates = tolerates || (tol.Key == "node-role.kubernetes.io/control-plane" && tol.Operator == corev1.TolerationOpExists)
	}
	if !tolerates {
		t.Error("the agent does not tolerate control-plane nodes")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers", len(spec.Containers))
	}
	c := spec.Containers[0]
	if !strings.HasPrefix(c.Image, "ghcr.io/specgate/specgate") || len(c.Args) < 2 || c.Args[0] != "kube" || c.Args[1] != "agent" {
		t.Errorf("image %s args %v", c.Image, c.Args)
	}
	node := false
	for _, e := range c.Env {
		node = node || (e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName")
	}
	if !node {
		t.Error("NODE_NAME does not come from the downward API's spec.nodeName")
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != agent.DefaultAgentPort || !slices.Contains(c.Args, fmt.Sprintf("--listen=:%d", agent.DefaultAgentPort)) {
		t.Errorf("ports %v, args %v: the agent must serve on %d, where 'kube collect' asks", c.Ports, c.Args, agent.DefaultAgentPort)
	}
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("no capabilities")
	}
	for _, cp := range []corev1.Capability{"NET_RAW", "SYS_ADMIN", "SYS_PTRACE"} {
		if !slices.Contains(sc.Capabilities.Add, cp) {
			t.Errorf("capability %s not added", cp)
		}
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("the agent runs privileged: it needs three capabilities, not all")
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation: false is rejected by the API server with CAP_SYS_ADMIN")
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Error("no resources")
	}
	var dir string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--dir="); ok {
			dir = v
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.HostPath != nil && m.MountPath == dir {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("--dir=%s is not a hostPath volume", dir)
	}

	// RBAC: the service account exists, is bound, and may list what the
	// agent lists.
	if !slices.ContainsFunc(o.serviceAccounts, func(sa corev1.ServiceAccount) bool {
		return sa.Name == spec.ServiceAccountName && sa.Namespace == ds.Namespace
	}) {
		t.Errorf("service account %s/%s not defined", ds.Namespace, spec.ServiceAccountName)
	}
	var role *rbacv1.ClusterRole
	for _, b := range o.clusterRoleBindings {
		if slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Name == spec.ServiceAccountName && s.Namespace == ds.Namespace
		}) && b.RoleRef.Kind == "ClusterRole" {
			for i := range o.clusterRoles {
				if o.clusterRoles[i].Name == b.RoleRef.Name {
					role = &o.clusterRoles[i]
				}
			}
		}
	}
	if role == nil {
		t.Fatal("no ClusterRole bound to the agent's service account")
	}
	for _, need := range []struct{ group, resource string }{
		{"", "pods"}, {"", "namespaces"}, {"", "services"}, {"", "nodes"}, {"batch", "jobs"},
	} {
		ok := slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, need.group) && slices.Contains(r.Resources, need.resource) && slices.Contains(r.Verbs, "list")
		})
		if !ok {
			t.Errorf("the agent's ClusterRole may not list %s (group %q)", need.resource, need.group)
		}
	}
}

func TestDemoManifests(t *testing.T) {
	o := load(t)
	deps := map[string]appsv1.Deployment{}
	for _, d := range o.deployments {
		deps[d.Name] = d
	}
	for _, name := range []string{"todo", "stats", "redis"} {
		if _, ok := deps[name]; !ok {
			t.Errorf("no Deployment %s", name)
		}
	}
	for _, name := range []string{"todo", "stats"} {
		if v := deps[name].Spec.Template.Annotations[agent.CaptureAnnotation]; v != "true" {
			t.Errorf("the %s pods do not opt in (%s: %q)", name, agent.CaptureAnnotation, v)
		}
	}
	svcs := map[string]corev1.Service{}
	for _, s := range o.services {
		svcs[s.Name] = s
		// Every Service selects a Deployment's pods in its namespace, on a
		// port they declare.
		var pods *corev1.PodTemplateSpec
		for _, d := range o.deployments {
			if d.Namespace == s.Namespace && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				pods = &d.Spec.Template
			}
		}
		if pods == nil {
			t.Errorf("Service %s selects no pods", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			found := false
			for _, c := range pods.Spec.Containers {
				for _, cp := range c.Ports {
					found = found || (p.TargetPort.StrVal != "" && cp.Name == p.TargetPort.StrVal) || (p.TargetPort.StrVal == "" && cp.ContainerPort == p.TargetPort.IntVal)
				}
			}
			if !found {
				t.Errorf("Service %s: target port %s is not a port of its pods", s.Name, p.TargetPort.String())
			}
		}
	}
	todo, ok := svcs["todo-service"]
	if !ok || todo.Spec.Type != corev1.ServiceTypeNodePort || len(todo.Spec.Ports) != 1 || todo.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("todo-service is not a NodePort Service on 30080: %+v", todo.Spec)
	}
	for _, name := range []string{"stats-service", "redis"} {
		if _, ok := svcs[name]; !ok {
			t.Errorf("no Service %s", name)
		}
	}
}

// TestAgentArgsAreFlags runs specgate with the DaemonSet's arguments: a
// misspelt flag fails before anything else is checked.
func TestAgentArgsAreFlags(t *testing.T) {
	gobin := testenv.NeedCommand(t, "go")
	o := load(t)
	if len(o.daemonSets) != 1 {
		t.Fatal("no DaemonSet")
	}
	bin := filepath.Join(t.TempDir(), "specgate")
	if out, err := exec.Command(gobin, "build", "-o", bin, "github.com/specgate/specgate/cmd/specgate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, o.daemonSets[0].Spec.Template.Spec.Containers[0].Args...)
	cmd.Env = append(os.Environ(), "NODE_NAME=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "no node name") {
		t.Errorf("specgate %s without NODE_NAME: %v: %s; want the node name to be the only problem",
			strings.Join(o.daemonSets[0].Spec.Template.Spec.Containers[0].Args, " "), err, out)
	}
}

// TestImagesLoadedIntoKind: specgate's images are built locally and put on
// kind's nodes with 'kind load docker-image'; with the :latest tag the
// default pull policy is Always, which would make the kubelet pull them
// from the registry instead, so every pod asks for IfNotPresent.
func TestImagesLoadedIntoKind(t *testing.T) {
	o := load(t)
	var pods []corev1.PodSpec
	for _, d := range o.deployments {
		pods = append(pods, d.Spec.Template.Spec)
	}
	for _, d := range o.daemonSets {
		pods = append(pods, d.Spec.Template.Spec)
	}
	for _, j := range o.jobs {
		pods = append(pods, j.Spec.Template.Spec)
	}
	n := 0
	for _, p := range pods {
		for _, c := range append(p.InitContainers, p.Containers...) {
			if !strings.HasPrefix(c.Image, "ghcr.io/specgate/") {
				continue
			}
			n++
			if c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("container %s (%s): imagePullPolicy %q, want IfNotPresent", c.Name, c.Image, c.ImagePullPolicy)
			}
		}
	}
	if n < 4 {
		t.Errorf("%d containers run specgate's images, want the agent, todo, stats and the client job", n)
	}
}
