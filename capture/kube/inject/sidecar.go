package inject

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// The sidecar as typed values; field order is the order written.
type (
	container struct {
		Name            string          `yaml:"name"`
		Image           string          `yaml:"image"`
		RestartPolicy   string          `yaml:"restartPolicy,omitempty"`
		Args            []string        `yaml:"args"`
		Env             []envVar        `yaml:"env"`
		Resources       resources       `yaml:"resources"`
		SecurityContext securityContext `yaml:"securityContext"`
		Lifecycle       lifecycle       `yaml:"lifecycle"`
		VolumeMounts    []volumeMount   `yaml:"volumeMounts"`
	}
	lifecycle struct {
		PreStop handler `yaml:"preStop"`
	}
	handler struct {
		Exec execAction `yaml:"exec"`
	}
	execAction struct {
		Command []string `yaml:"command"`
	}
	envVar struct {
		Name      string    `yaml:"name"`
		ValueFrom valueFrom `yaml:"valueFrom"`
	}
	valueFrom struct {
		FieldRef fieldRef `yaml:"fieldRef"`
	}
	fieldRef struct {
		FieldPath string `yaml:"fieldPath"`
	}
	resources struct {
		Requests quantities `yaml:"requests"`
		Limits   quantities `yaml:"limits"`
	}
	quantities struct {
		CPU    string `yaml:"cpu"`
		Memory string `yaml:"memory"`
	}
	securityContext struct {
		Capabilities             capabilities `yaml:"capabilities"`
		RunAsNonRoot             bool         `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem   bool         `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation bool         `yaml:"allowPrivilegeEscalation"`
	}
	capabilities struct {
		Add  []string `yaml:"add"`
		Drop []string `yaml:"drop"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	}
	volume struct {
		Name     string   `yaml:"name"`
		EmptyDir struct{} `yaml:"emptyDir"`
	}
)

// sidecar gives the capture container for o, whose fields are set; a
// native sidecar is an init container that restarts always.
func sidecar(o Options, native bool) container {
	file := o.Output + "/$(POD_NAME).ndjson"
	if o.Output == "/" {
		file = "/$(POD_NAME).ndjson"
	}
	args := append([]string{"capture", "-i", "any", "-w", file}, o.Args...)
	restart := ""
	if native {
		restart = "Always"
	}
	return container{
		Name:          o.Name,
		Image:         o.Image,
		RestartPolicy: restart,
		Args:          args,
		Env: []envVar{
			{Name: "POD_NAME", ValueFrom: valueFrom{FieldRef: fieldRef{FieldPath: "metadata.name"}}},
			{Name: "POD_NAMESPACE", ValueFrom: valueFrom{FieldRef: fieldRef{FieldPath: "metadata.namespace"}}},
		},
		Resources: resources{
			Requests: quantities{CPU: "50m", Memory: "64Mi"},
			Limits:   quantities{CPU: "500m", Memory: "256Mi"},
		},
		SecurityContext: securityContext{
			Capabilities:             capabilities{Add: []string{"NET_RAW"}, Drop: []string{"ALL"}},
			RunAsNonRoot:             false,
			ReadOnlyRootFilesystem:   true,
			AllowPrivilegeEscalation: false,
		},
		// The hook makes the capture (PID 1 of the container) write what
		// it holds and exit, and waits for it, before the kubelet's SIGTERM.
		Lifecycle:    lifecycle{PreStop: handler{Exec: execAction{Command: []string{o.Binary, "kube", "stop"}}}},
		VolumeMounts: []volumeMount{{Name: VolumeName, MountPath: o.Output}},
	}
}

// containerNode gives the sidecar as a YAML node.
func containerNode(o Options, native bool) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(sidecar(o, native)); err != nil {
		return nil, fmt.Errorf("encode sidecar: %w", err)
	}
	return &n, nil
}
