package agent

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// CaptureAnnotation is the pod annotation that opts a pod in ("true") or
// out ("false", even when its namespace is selected).
const CaptureAnnotation = "specgate.io/capture"

// Pod is a pod the agent captures in.
type Pod struct {
	Namespace, Name string
	// IPs are the pod's addresses (one per IP family).
	IPs []netip.Addr
}

// Key names the pod as "namespace/name".
func (p Pod) Key() string { return p.Namespace + "/" + p.Name }

// PodLister lists the pods of one node that opt in to capture.
type PodLister struct {
	Client kubernetes.Interface
	// Node is the node's name (spec.nodeName of its pods).
	Node string
	// NamespaceSelector, when set, selects namespaces (by their labels)
	// whose pods are all captured, unless a pod opts out.
	NamespaceSelector labels.Selector
}

// ParseNamespaceSelector parses a label selector such as
// "specgate.io/capture=true" or "team in (a,b)"; "" selects nothing.
func ParseNamespaceSelector(s string) (labels.Selector, error) {
	if s == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("namespace selector %q: %v", s, err)
	}
	return sel, nil
}

// List returns the node's pods that opt in and can be captured: Running,
// with a pod IP, and not on the host network. They are sorted by key.
func (l *PodLister) List(ctx context.Context) ([]Pod, error) {
	if l.Node == "" {
		return nil, fmt.Errorf("listing pods: no node name (set NODE_NAME from the downward API, or --node)")
	}
	selected := map[string]bool{}
	if l.NamespaceSelector != nil && !l.NamespaceSelector.Empty() {
		nss, err := l.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: l.NamespaceSelector.String()})
		if err != nil {
			return nil, fmt.Errorf("listing namespaces (%s): %w", l.NamespaceSelector, err)
		}
		for _, ns := range nss.Items {
			// The API server filters; filter again in case it did not.
			if l.NamespaceSelector.Matches(labels.Set(ns.Labels)) {
				selected[ns.Name] = true
			}
		}
	}
	list, err := l.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + l.Node})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of node %s: %w", l.Node, err)
	}
	var out []Pod
	for i := range list.Items {
		p := &list.Items[i]
		if p.Spec.NodeName != l.Node || !optedIn(p, selected) {
			continue
		}
		if pod, ok := capturable(p); ok {
			out = append(out, pod)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// optedIn reports whether p asks to be captured: by its annotation, or by
// its namespace being selected (which the annotation "false" overrides).
func optedIn(p *corev1.Pod, selected map[string]bool) bool {
	switch p.Annotations[CaptureAnnotation] {
	case "true":
		return true
	case "false":
		return false
	}
	return selected[p.Namespace]
}

// capturable returns the pod's addresses when it can be captured in a
// network namespace of its own. A terminating pod is still Running: its
// last requests are captured too.
func capturable(p *corev1.Pod) (Pod, bool) {
	if p.Status.Phase != corev1.PodRunning || p.Spec.HostNetwork {
		return Pod{}, false
	}
	pod := Pod{Namespace: p.Namespace, Name: p.Name}
	seen := map[netip.Addr]bool{}
	add := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && !seen[a.Unmap()] {
			seen[a.Unmap()] = true
			pod.IPs = append(pod.IPs, a.Unmap())
		}
	}
	add(p.Status.PodIP)
	for _, ip := range p.Status.PodIPs {
		add(ip.IP)
	}
	return pod, len(pod.IPs) > 0
}
