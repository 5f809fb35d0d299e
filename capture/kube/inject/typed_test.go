package inject

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"
)

// typedObject is one manifest decoded into its k8s.io/api type.
type typedObject struct {
	kind string
	obj  any
	pod  *corev1.PodTemplateSpec // the pod template, for workloads
}

// decodeTyped decodes every document of a manifest stream strictly (an
// unknown or misspelt field is an error) into the typed Kubernetes API
// objects, expanding Lists.
func decodeTyped(t *testing.T, in []byte) []typedObject {
	t.Helper()
	var out []typedObject
	for i, doc := range splitDocs(in) {
		objs, err := decodeStrict(doc)
		if err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		out = append(out, objs...)
	}
	return out
}

func splitDocs(in []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), in...), []byte("\n---")) {
		// a document separator line may carry a comment after "---"
		if i := bytes.IndexByte(d, '\n'); i >= 0 && len(bytes.TrimSpace(d[:i])) > 0 && bytes.HasPrefix(bytes.TrimSpace(d[:i]), []byte("#")) {
			d = d[i:]
		}
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

func decodeStrict(doc []byte) ([]typedObject, error) {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	var o typedObject
	o.kind = head.Kind
	switch head.Kind {
	case "List":
		var l corev1.List
		if err := yaml.UnmarshalStrict(doc, &l); err != nil {
			return nil, err
		}
		var out []typedObject
		for _, it := range l.Items {
			objs, err := decodeStrict(it.Raw)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
		return out, nil
	case "Deployment":
		var d appsv1.Deployment
		o.obj, o.pod = &d, &d.Spec.Template
	case "StatefulSet":
		var s appsv1.StatefulSet
		o.obj, o.pod = &s, &s.Spec.Template
	case "DaemonSet":
		var s appsv1.DaemonSet
		o.obj, o.pod = &s, &s.Spec.Template
	case "Job":
		var j batchv1.Job
		o.obj, o.pod = &j, &j.Spec.Template
	case "CronJob":
		var c batchv1.CronJob
		o.obj, o.pod = &c, &c.Spec.JobTemplate.Spec.Template
	case "Service":
		o.obj = &corev1.Service{}
	case "ConfigMap":
		o.obj = &corev1.ConfigMap{}
	case "Pod":
		var p corev1.Pod
		o.obj = &p
	default:
		return nil, fmt.Errorf("no typed decoding for kind %q", head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, o.obj); err != nil {
		return nil, fmt.Errorf("%s: %w", head.Kind, err)
	}
	return []typedObject{o}, nil
}

// takeSidecar removes the sidecar named name from a pod template (from the
// containers or, for Jobs, the init containers) together with its volume,
// and returns it.
func takeSidecar(p *corev1.PodTemplateSpec, name string) *corev1.Container {
	var found *corev1.Container
	for _, list := range []*[]corev1.Container{&p.Spec.Containers, &p.Spec.InitContainers} {
		if i := slices.IndexFunc(*list, func(c corev1.Container) bool { return c.Name == name }); i >= 0 {
			c := (*list)[i]
			found = &c
			*list = slices.Delete(*list, i, i+1)
			if len(*list) == 0 {
				*list = nil
			}
		}
	}
	if i := slices.IndexFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == VolumeName }); i >= 0 {
		p.Spec.Volumes = slices.Delete(p.Spec.Volumes, i, i+1)
		if len(p.Spec.Volumes) == 0 {
			p.Spec.Volumes = nil
		}
	}
	return found
}

// TestTypedStrict decodes every golden input and output strictly into the
// typed Kubernetes API objects: the output must be valid for the API
// server, carry a well-formed sidecar in every injected workload, and,
// once the sidecar and its volume are taken out, equal the input field
// for field.
func TestTypedStrict(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tc.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := run(t, in, Options{})
			before, after := decodeTyped(t, in), decodeTyped(t, out)
			if len(before) != len(after) {
				t.Fatalf("%d objects in, %d out", len(before), len(after))
			}
			injected := 0
			for i := range after {
				b, a := before[i], after[i]
				if a.kind != b.kind {
					t.Fatalf("object %d: kind %s became %s", i, b.kind, a.kind)
				}
				if a.pod != nil {
					had := takeSidecar(b.pod, DefaultName) != nil
					sc := takeSidecar(a.pod, DefaultName)
					if sc != nil && !had {
						injected++
						checkSidecar(t, a.kind, sc)
					}
				}
				if !equality.Semantic.DeepEqual(a.obj, b.obj) {
					t.Errorf("object %d (%s) changed beyond the sidecar:\n in: %+v\nout: %+v", i, a.kind, b.obj, a.obj)
				}
			}
			if injected != len(tc.injected) {
				t.Errorf("%d typed workloads gained a sidecar, want %d (%v)", injected, len(tc.injected), tc.injected)
			}
		})
	}
}

// checkSidecar checks the typed sidecar: capture privileges and no more,
// a preStop hook that makes it flush, resource requests and limits, and
// the output volume mounted.
func checkSidecar(t *testing.T, kind string, c *corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Add, "NET_RAW") || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s sidecar security context %+v: want NET_RAW added and ALL dropped", kind, sc)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Errorf("%s sidecar has no preStop hook", kind)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("%s sidecar requests no %s", kind, r)
		}
		if _, ok := c.Resources.Limits[r]; !ok && r == corev1.ResourceMemory {
			t.Errorf("%s sidecar has no %s limit", kind, r)
		}
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == VolumeName }) {
		t.Errorf("%s sidecar does not mount %s", kind, VolumeName)
	}
	if len(c.Args) == 0 || !strings.Contains(strings.Join(c.Args, " "), "capture") {
		t.Errorf("%s sidecar args %q do not run a capture", kind, c.Args)
	}
}
