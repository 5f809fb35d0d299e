package cluster

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// owners maps "kind/namespace/name" of ReplicaSets and Jobs to their
// controller, when they have one.
type owners map[string]*metav1.OwnerReference

func ownerIndex(rss []appsv1.ReplicaSet, jobs []batchv1.Job) owners {
	o := owners{}
	// Sorted, so that of two objects with one name the same one wins.
	for _, rs := range sortedPtrs(rss) {
		key := "ReplicaSet/" + rs.Namespace + "/" + rs.Name
		if _, ok := o[key]; !ok {
			o[key] = metav1.GetControllerOf(rs)
		}
	}
	for _, j := range sortedPtrs(jobs) {
		key := "Job/" + j.Namespace + "/" + j.Name
		if _, ok := o[key]; !ok {
			o[key] = metav1.GetControllerOf(j)
		}
	}
	return o
}

// workloadName names the workload a pod belongs to, "namespace/name"
// (rules in the package doc).
func workloadName(p *corev1.Pod, o owners) string {
	ns := p.Namespace + "/"
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.Name == "" || ref.Kind == "Node" {
		return ns + p.Name
	}
	switch ref.Kind {
	case "ReplicaSet":
		if up, known := o["ReplicaSet/"+p.Namespace+"/"+ref.Name]; known {
			if up != nil && up.Name != "" {
				return ns + up.Name
			}
			return ns + ref.Name
		}
		if h := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; h != "" {
			if d, ok := strings.CutSuffix(ref.Name, "-"+h); ok && d != "" {
				return ns + d
			}
		}
	case "Job":
		if up, known := o["Job/"+p.Namespace+"/"+ref.Name]; known && up != nil && up.Kind == "CronJob" && up.Name != "" {
			return ns + up.Name
		}
	}
	return ns + ref.Name
}
