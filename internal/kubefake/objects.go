package kubefake

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// uid makes a stable, readable UID for an object.
func uid(kind, ns, name string) types.UID {
	return types.UID(kind + "-" + ns + "-" + name)
}

// Pod returns a running pod on node with IP ip (IPv4 or IPv6; "" for
// none yet), the given labels and one container "app" exposing ports.
func Pod(ns, name, node, ip string, lbls map[string]string, ports ...corev1.ContainerPort) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: uid("pod", ns, name),
			Labels: maps.Clone(lbls),
		},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/app:1", Ports: ports,
			}},
			RestartPolicy: corev1.RestartPolicyAlways,
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if ip != "" {
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	return p
}

// HostNetworkPod returns a running pod in the node's network namespace:
// its IP is the node's.
func HostNetworkPod(ns, name string, node corev1.Node, lbls map[string]string, ports ...corev1.ContainerPort) corev1.Pod {
	ip := ""
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
			break
		}
	}
	p := Pod(ns, name, node.Name, ip, lbls, ports...)
	p.Spec.HostNetwork = true
	p.Status.HostIP = ip
	return p
}

// ContainerPort returns a named TCP container port.
func ContainerPort(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}

// Owned returns p with a controller owner reference to the named object.
func Owned(p corev1.Pod, apiVersion, kind, name string) corev1.Pod {
	p.OwnerReferences = []metav1.OwnerReference{controllerRef(apiVersion, kind, p.Namespace, name)}
	return p
}

func controllerRef(apiVersion, kind, ns, name string) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{
		APIVersion: apiVersion, Kind: kind, Name: name, UID: uid(kind, ns, name),
		Controller: &t, BlockOwnerDeletion: &t,
	}
}

// ReplicaSet returns the replica set a Deployment makes for a pod template
// with the given hash: named DEPLOYMENT-HASH, owned by the Deployment, its
// selector and template labels extended with pod-template-hash.
func ReplicaSet(ns, deployment, hash string, lbls map[string]string) appsv1.ReplicaSet {
	l := maps.Clone(lbls)
	if l == nil {
		l = map[string]string{}
	}
	l[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	name := deployment + "-" + hash
	one := int32(1)
	return appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: uid("ReplicaSet", ns, name), Labels: maps.Clone(l),
			OwnerReferences: []metav1.OwnerReference{controllerRef("apps/v1", "Deployment", ns, deployment)},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: maps.Clone(l)},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(l)}},
		},
	}
}

// DeploymentPod returns a running pod of rs, named RSNAME-SUFFIX (as the
// replica set controller names them), with rs's template labels, owned by
// rs.
func DeploymentPod(rs appsv1.ReplicaSet, suffix, node, ip string, ports ...corev1.ContainerPort) corev1.Pod {
	p := Pod(rs.Namespace, rs.Name+"-"+suffix, node, ip, rs.Spec.Template.Labels, ports...)
	p.GenerateName = rs.Name + "-"
	return Owned(p, "apps/v1", "ReplicaSet", rs.Name)
}

// Job returns a job; when cronJob is not "", the job is owned by that
// CronJob, as the CronJob controller makes them.
func Job(ns, name, cronJob string) batchv1.Job {
	j := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid("Job", ns, name)}}
	if cronJob != "" {
		j.OwnerReferences = []metav1.OwnerReference{controllerRef("batch/v1", "CronJob", ns, cronJob)}
	}
	return j
}

// ServicePort returns a TCP service port; nodePort 0 leaves it unset.
func ServicePort(name string, port int32, target intstr.IntOrString, nodePort int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: port, TargetPort: target, NodePort: nodePort}
}

// Service returns a Service selecting pods by selector, with the cluster
// IP clusterIP ("None" for a headless one). Its type is NodePort when a
// port has a nodePort, ClusterIP otherwise.
func Service(ns, name, clusterIP string, selector map[string]string, ports ...corev1.ServicePort) corev1.Service {
	s := corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid("Service", ns, name)},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, Selector: maps.Clone(selector),
			ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}, Ports: ports,
			SessionAffinity: corev1.ServiceAffinityNone,
		},
	}
	for _, p := range ports {
		if p.NodePort != 0 {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}
	}
	return s
}

// Node returns a ready node with an InternalIP and a Hostname address.
func Node(name, internalIP string) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, UID: uid("Node", "", name),
			Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
		},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: internalIP},
				{Type: corev1.NodeHostName, Address: name},
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

// Namespace returns a namespace with labels, plus the
// kubernetes.io/metadata.name label the API server adds.
func Namespace(name string, lbls map[string]string) corev1.Namespace {
	l := maps.Clone(lbls)
	if l == nil {
		l = map[string]string{}
	}
	l[corev1.LabelMetadataName] = name
	return corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: uid("Namespace", "", name), Labels: l},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
}
