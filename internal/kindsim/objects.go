package kindsim

import (
	"crypto/sha256"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Objects are the Kubernetes API objects of a simulated cluster, as a fake
// API server would serve them.
type Objects struct {
	Pods        []corev1.Pod
	Services    []corev1.Service
	Nodes       []corev1.Node
	ReplicaSets []appsv1.ReplicaSet
}

// Objects returns the cluster's Kubernetes objects, matching what it
// built: the node with its InternalIP and podCIDR; per app a Deployment's
// ReplicaSet (owned by the Deployment, named DEPLOYMENT-HASH) and its pod
// (owned by the ReplicaSet, labelled app and pod-template-hash) with its
// IP; the Services todo-service and stats-service (NodePorts selecting
// app=todo and app=stats), and default/kubernetes (no selector).
func (c *Cluster) Objects() Objects {
	var o Objects
	created := metav1.NewTime(c.created)
	o.Nodes = []corev1.Node{c.nodeObject(created)}
	o.Services = append(o.Services, corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: kubernetesName, Namespace: Namespace, UID: c.uid("Service", Namespace, kubernetesName),
			CreationTimestamp: created,
			Labels:            map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: kubernetesIP.String(), ClusterIPs: []string{kubernetesIP.String()},
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}, SessionAffinity: corev1.ServiceAffinityNone,
			Ports: []corev1.ServicePort{{Name: "https", Protocol: corev1.ProtocolTCP, Port: kubernetesPort,
				TargetPort: intstr.FromInt32(apiServerPort)}},
		},
	})
	for _, s := range c.svcs {
		o.Services = append(o.Services, c.serviceObject(s, created))
	}
	for _, p := range c.pods {
		rs := c.replicaSetObject(p, created)
		o.ReplicaSets = append(o.ReplicaSets, rs)
		o.Pods = append(o.Pods, c.podObject(p, rs, created))
	}
	return o
}

// uid derives a stable UID for an object of the cluster.
func (c *Cluster) uid(kind, namespace, name string) types.UID {
	s := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%s/%d", c.name, kind, namespace, name, c.pid)))
	s[6] = s[6]&0x0f | 0x40
	s[8] = s[8]&0x3f | 0x80
	return types.UID(fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16]))
}

func (c *Cluster) nodeObject(created metav1.Time) corev1.Node {
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: created, LastTransitionTime: created}
	return corev1.Node{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: c.node.Name, UID: c.uid("Node", "", c.node.Name), CreationTimestamp: created,
			Labels: map[string]string{
				"kubernetes.io/hostname":                c.node.Name,
				"kubernetes.io/os":                      "linux",
				"kubernetes.io/arch":                    "amd64",
				"node-role.kubernetes.io/control-plane": "",
			}},
		Spec: corev1.NodeSpec{PodCIDR: PodCIDR, PodCIDRs: []string{PodCIDR},
			ProviderID: "kind://docker/" + c.name + "/" + c.node.Name},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: c.node.IP.String()},
				{Type: corev1.NodeHostName, Address: c.node.Name},
			},
			Conditions: []corev1.NodeCondition{ready},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.33.1", ContainerRuntimeVersion: "containerd://2.1.1",
				OperatingSystem: "linux", Architecture: "amd64", OSImage: "Debian GNU/Linux 12 (bookworm)"},
		},
	}
}

func (c *Cluster) serviceObject(s Service, created metav1.Time) corev1.Service {
	return corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: c.uid("Service", s.Namespace, s.Name),
			CreationTimestamp: created, Labels: map[string]string{"app": s.App}},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeNodePort,
			Selector:  map[string]string{"app": s.App},
			ClusterIP: s.ClusterIP.String(), ClusterIPs: []string{s.ClusterIP.String()},
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			SessionAffinity:       corev1.ServiceAffinityNone,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
			Ports: []corev1.ServicePort{{Name: servicesPortTag, Protocol: corev1.ProtocolTCP, Port: int32(s.Port),
				TargetPort: intstr.FromString(servicesPortTag), NodePort: int32(s.NodePort)}},
		},
	}
}

// labels are a pod's labels, also its ReplicaSet's selector.
func (p *Pod) labels() map[string]string {
	return map[string]string{"app": p.App, "pod-template-hash": p.TemplateHash}
}

// replicaSetName is the ReplicaSet of the pod's Deployment.
func (p *Pod) replicaSetName() string { return p.App + "-" + p.TemplateHash }

func (c *Cluster) replicaSetObject(p *Pod, created metav1.Time) appsv1.ReplicaSet {
	yes := true
	one := int32(1)
	name := p.replicaSetName()
	return appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace, UID: c.uid("ReplicaSet", p.Namespace, name),
			CreationTimestamp: created, Labels: p.labels(),
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: p.App,
				UID: c.uid("Deployment", p.Namespace, p.App), Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: p.labels()},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: p.labels()}, Spec: c.podSpec(p)},
		},
		Status: appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 1},
	}
}

func (c *Cluster) podSpec(p *Pod) corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: p.App, Image: "specgate-demo/" + p.App + ":latest",
			Ports: []corev1.ContainerPort{{Name: servicesPortTag, ContainerPort: int32(p.Port), Protocol: corev1.ProtocolTCP}},
		}},
		RestartPolicy: corev1.RestartPolicyAlways,
		DNSPolicy:     corev1.DNSClusterFirst,
	}
}

func (c *Cluster) podObject(p *Pod, rs appsv1.ReplicaSet, created metav1.Time) corev1.Pod {
	yes := true
	spec := c.podSpec(p)
	spec.NodeName = c.node.Name
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: created}
	}
	return corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: c.uid("Pod", p.Namespace, p.Name),
			CreationTimestamp: created, Labels: p.labels(),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name,
				UID: rs.UID, Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: spec,
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{cond(corev1.PodInitialized), cond(corev1.PodReady), cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
			HostIP:     c.node.IP.String(), HostIPs: []corev1.HostIP{{IP: c.node.IP.String()}},
			PodIP: p.IP.String(), PodIPs: []corev1.PodIP{{IP: p.IP.String()}},
			StartTime: &created,
			ContainerStatuses: []corev1.ContainerStatus{{Name: p.App, Ready: true, Started: &yes,
				Image: spec.Containers[0].Image, ContainerID: "containerd://" + string(c.uid("Container", p.Namespace, p.Name)),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: created}}}},
		},
	}
}
