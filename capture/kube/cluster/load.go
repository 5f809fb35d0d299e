package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// pageSize is the number of objects Load asks for per list request.
const pageSize = 500

// Load lists pods, Services and nodes across all namespaces, and Jobs (to
// name a CronJob's pods by the CronJob), and builds a snapshot. It lists no
// ReplicaSets: a Deployment's pods are named from their pod-template-hash
// label. Nodes and Jobs are optional: when the API forbids listing them, the
// snapshot says so in Warnings and names without them (no NodePort names
// without nodes).
func Load(ctx context.Context, cs kubernetes.Interface) (*Snapshot, error) {
	host := apiHost(cs)
	var objs Objects
	var err error
	objs.Pods, err = listAll(ctx, func(o metav1.ListOptions) ([]corev1.Pod, string, error) {
		l, err := cs.CoreV1().Pods("").List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		return nil, listError("pods", host, err)
	}
	objs.Services, err = listAll(ctx, func(o metav1.ListOptions) ([]corev1.Service, string, error) {
		l, err := cs.CoreV1().Services("").List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		return nil, listError("services", host, err)
	}
	objs.Nodes, err = listAll(ctx, func(o metav1.ListOptions) ([]corev1.Node, string, error) {
		l, err := cs.CoreV1().Nodes().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		if !optional(err) {
			return nil, listError("nodes", host, err)
		}
		objs.Warnings = append(objs.Warnings, listError("nodes", host, err).Error()+" (NodePorts are not named)")
	}
	objs.Jobs, err = listAll(ctx, func(o metav1.ListOptions) ([]batchv1.Job, string, error) {
		l, err := cs.BatchV1().Jobs("").List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		if !optional(err) {
			return nil, listError("jobs", host, err)
		}
		objs.Warnings = append(objs.Warnings, listError("jobs", host, err).Error()+" (pods of CronJobs are named by their Job)")
	}
	return New(objs), nil
}

// listAll pages through a list, pageSize objects at a time.
func listAll[T any](ctx context.Context, list func(metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var all []T
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		items, next, err := list(opts)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		opts.Continue = next
	}
}

// optional reports whether a list error only means the caller may not
// list that kind.
func optional(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err)
}

// listError is one line naming what failed, where, and why.
func listError(what, host string, err error) error {
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("list %s from %s: unauthorized (401): the server rejected the credentials", what, host)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("list %s from %s: forbidden (403): %s", what, host, oneLine(err))
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.Contains(err.Error(), host) {
		// client-go's transport errors quote the request URL; the host
		// is already named.
		if inner := ue.Unwrap(); inner != nil {
			return fmt.Errorf("list %s from %s: %s", what, host, oneLine(inner))
		}
	}
	return fmt.Errorf("list %s from %s: %s", what, host, oneLine(err))
}

// apiHost names the API server a clientset talks to, for messages.
func apiHost(cs kubernetes.Interface) string {
	if rc, ok := cs.CoreV1().RESTClient().(*rest.RESTClient); ok && rc != nil {
		if u := rc.Get().URL(); u != nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	return "the kubernetes api"
}

// FromList builds a snapshot from JSON as `kubectl get
// pods,services,nodes -A -o json` prints it: a v1 List whose items carry
// apiVersion and kind. Typed lists (PodList, as the API returns them,
// whose items lack a kind), single objects, and several such documents one
// after another are read too. Pods, Services, Nodes, ReplicaSets and Jobs
// are used; other kinds are skipped.
func FromList(r io.Reader) (*Snapshot, error) {
	dec := json.NewDecoder(r)
	var objs Objects
	docs := 0
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read kubernetes json: %s", oneLine(err))
		}
		docs++
		if err := addDoc(&objs, raw); err != nil {
			return nil, fmt.Errorf("read kubernetes json: document %d: %s", docs, oneLine(err))
		}
	}
	if docs == 0 {
		return nil, errors.New("read kubernetes json: no document")
	}
	return New(objs), nil
}

// header is the part of an object or list that says what it is.
type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

func addDoc(objs *Objects, raw json.RawMessage) error {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("not a kubernetes object or list: %s", oneLine(err))
	}
	if h.Kind == "" {
		return errors.New("not a kubernetes object or list: no kind")
	}
	itemKind, isList := strings.CutSuffix(h.Kind, "List")
	if !isList {
		return addItem(objs, raw, "", "")
	}
	for i, it := range h.Items {
		if err := addItem(objs, it, h.APIVersion, itemKind); err != nil {
			return fmt.Errorf("item %d: %s", i, oneLine(err))
		}
	}
	return nil
}

// addItem decodes one object; apiVersion and kind are the list's, used
// when the item has none.
func addItem(objs *Objects, raw json.RawMessage, apiVersion, kind string) error {
	var h struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("not a kubernetes object: %s", oneLine(err))
	}
	if h.Kind != "" {
		apiVersion, kind = h.APIVersion, h.Kind
	}
	var err error
	switch {
	case apiVersion == "v1" && kind == "Pod":
		objs.Pods, err = decodeInto(objs.Pods, raw)
	case apiVersion == "v1" && kind == "Service":
		objs.Services, err = decodeInto(objs.Services, raw)
	case apiVersion == "v1" && kind == "Node":
		objs.Nodes, err = decodeInto(objs.Nodes, raw)
	case apiVersion == "apps/v1" && kind == "ReplicaSet":
		objs.ReplicaSets, err = decodeInto(objs.ReplicaSets, raw)
	case apiVersion == "batch/v1" && kind == "Job":
		objs.Jobs, err = decodeInto(objs.Jobs, raw)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %s", kind, oneLine(err))
	}
	return nil
}

func decodeInto[T any](s []T, raw json.RawMessage) ([]T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return s, err
	}
	return append(s, v), nil
}

// Kubectl is the command LoadKubectl runs when given "".
const Kubectl = "kubectl"

// LoadKubectl runs `kubectl get pods,services,nodes --all-namespaces -o
// json` (with --kubeconfig and --context when not "") and builds a
// snapshot with FromList: the fallback for when client-go cannot be used
// (an exec credential plugin it cannot run, say). It then asks for Jobs the
// same way; when that fails the snapshot goes on without them and says so
// in Warnings. kubectl must be allowed to list nodes.
func LoadKubectl(ctx context.Context, kubectl, kubeconfig, kubeContext string) (*Snapshot, error) {
	if kubectl == "" {
		kubectl = Kubectl
	}
	var flags []string
	if kubeconfig != "" {
		flags = append(flags, "--kubeconfig", kubeconfig)
	}
	if kubeContext != "" {
		flags = append(flags, "--context", kubeContext)
	}
	main, err := runKubectl(ctx, kubectl, flags, "pods,services,nodes")
	if err != nil {
		return nil, err
	}
	var warnings []string
	jobs, err := runKubectl(ctx, kubectl, flags, "jobs.batch")
	if err != nil {
		warnings = append(warnings, err.Error()+" (pods of CronJobs are named by their Job)")
		jobs = nil
	}
	snap, err := FromList(io.MultiReader(bytes.NewReader(main), bytes.NewReader(jobs)))
	if err != nil {
		return nil, fmt.Errorf("%s get pods,services,nodes: %w", kubectl, err)
	}
	snap.warnings = append(snap.warnings, warnings...)
	return snap, nil
}

// stderrLimit bounds how much of kubectl's stderr an error quotes.
const stderrLimit = 400

func runKubectl(ctx context.Context, kubectl string, flags []string, what string) ([]byte, error) {
	args := append([]string{"get", what, "--all-namespaces", "-o", "json"}, flags...)
	cmd := exec.CommandContext(ctx, kubectl, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s get %s: %s: %s", kubectl, what, oneLine(err), kubectlMessage(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// kubectlMessage picks what kubectl said on stderr, in one line: its own
// messages, without the client library's log lines when there are others.
func kubectlMessage(stderr string) string {
	var said, logged []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case isLogLine(l):
			logged = append(logged, l)
		default:
			said = append(said, l)
		}
	}
	if len(said) == 0 {
		said = logged
	}
	msg := strings.Join(strings.Fields(strings.Join(said, "; ")), " ")
	if msg == "" {
		return "no message on stderr"
	}
	if len(msg) > stderrLimit {
		msg = strings.ToValidUTF8(msg[:stderrLimit], "") + "..."
	}
	return msg
}

// isLogLine reports whether a line is a klog line ("E0512 10:00:00.000000 ...").
func isLogLine(l string) bool {
	if len(l) < 5 || !strings.ContainsRune("IWEF", rune(l[0])) {
		return false
	}
	for _, c := range l[1:5] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
