package inject

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden cases: each testdata/NAME.yaml is injected with default options
// into testdata/NAME.golden.
var cases = []struct {
	name     string
	injected []string
	skipped  []string
}{
	{"deployment", []string{"Deployment/staging/todo"}, nil},
	{"statefulset", []string{"StatefulSet/redis"}, nil},
	{"daemonset", []string{"DaemonSet/kube-system/node-agent"}, nil},
	{"cronjob", []string{"CronJob/stats/nightly-report"}, nil},
	{"list", []string{"Deployment/stats", "Job/stats/migrate"}, nil},
	{"passthrough", nil, nil},
	{"injected", nil, []string{"Deployment/already"}},
	{"multi", []string{"Deployment/shop/todo", "StatefulSet/shop/redis", "DaemonSet/kube-system/log-shipper"}, nil},
}

func names(objs []Object) []string {
	var s []string
	for _, o := range objs {
		s = append(s, o.String())
	}
	return s
}

func run(t *testing.T, in []byte, o Options) ([]byte, Report) {
	t.Helper()
	var out bytes.Buffer
	rep, err := Inject(bytes.NewReader(in), &out, o)
	if err != nil {
		t.Fatalf("Inject: %v", err)
	}
	return out.Bytes(), rep
}

func TestGolden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tc.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			out, rep := run(t, in, Options{})
			if got := names(rep.Injected); !slices.Equal(got, tc.injected) {
				t.Errorf("injected %q, want %q", got, tc.injected)
			}
			if got := names(rep.Skipped); !slices.Equal(got, tc.skipped) {
				t.Errorf("skipped %q, want %q", got, tc.skipped)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("output differs from %s (run go test -update):\n%s", golden, out)
			}
			if len(tc.injected) == 0 && !bytes.Equal(out, in) {
				t.Errorf("nothing injected, yet the output is not the input byte for byte:\n%s", out)
			}
		})
	}
}

// decodeAll parses every document of a stream into generic values.
func decodeAll(t *testing.T, b []byte) []any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("decode: %v\n%s", err, b)
		}
		docs = append(docs, v)
	}
}

// strip removes from v, in place, every container that is the default
// sidecar and every emptyDir volume named specgate-out, and drops volume
// lists that are left empty; it counts the containers it removed.
func strip(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for _, key := range []string{"containers", "initContainers"} {
			cs, ok := x[key].([]any)
			if !ok {
				continue
			}
			kept := cs[:0:0]
			for _, c := range cs {
				m, _ := c.(map[string]any)
				if m["name"] == DefaultName && m["image"] == DefaultImage {
					n++
					continue
				}
				kept = append(kept, c)
			}
			x[key] = kept
			if key == "initContainers" && len(kept) == 0 {
				delete(x, key)
			}
		}
		if vs, ok := x["volumes"].([]any); ok {
			kept := vs[:0:0]
			for _, vol := range vs {
				m, _ := vol.(map[string]any)
				if _, empty := m["emptyDir"]; empty && m["name"] == VolumeName {
					continue
				}
				kept = append(kept, vol)
			}
			if len(kept) == 0 {
				delete(x, "volumes")
			} else {
				x["volumes"] = kept
			}
		}
		for _, e := range x {
			n += strip(e)
		}
	case []any:
		for _, e := range x {
			n += strip(e)
		}
	}
	return n
}

// TestSameMeaning checks that input and output, parsed as generic values,
// are equal once the sidecars and their volumes are taken out, and that
// exactly one sidecar was added per injected object.
func TestSameMeaning(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tc.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			out, rep := run(t, in, Options{})
			a, b := decodeAll(t, in), decodeAll(t, out)
			if n := strip(a); n != 0 {
				t.Fatalf("input already holds %d default sidecars", n)
			}
			if n := strip(b); n != len(rep.Injected) {
				t.Errorf("output holds %d sidecars, report says %d injected", n, len(rep.Injected))
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("meaning changed:\n in: %#v\nout: %#v", a, b)
			}
		})
	}
}

func TestIdempotent(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tc.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			once, rep1 := run(t, in, Options{})
			twice, rep2 := run(t, once, Options{})
			if !bytes.Equal(once, twice) {
				t.Errorf("second injection changed the output:\n%s", twice)
			}
			if len(rep2.Injected) != 0 {
				t.Errorf("second injection injected %v", rep2.Injected)
			}
			want := append(names(rep1.Skipped), names(rep1.Injected)...)
			got := names(rep2.Skipped)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("second injection skipped %q, want %q", got, want)
			}
		})
	}
}

// TestJobNativeSidecar checks that Jobs and CronJobs get the sidecar as an
// init container that restarts always, after any init containers they have.
func TestJobNativeSidecar(t *testing.T) {
	in := []byte(`apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      initContainers: [{name: wait, image: busybox}]
      containers: [{name: once, image: once}]
      volumes: ~
`)
	out, _ := run(t, in, Options{})
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					InitContainers []container `yaml:"initContainers"`
					Containers     []container `yaml:"containers"`
					Volumes        []volume    `yaml:"volumes"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 2 || pod.InitContainers[0].Name != "wait" {
		t.Fatalf("containers %+v, init containers %+v", pod.Containers, pod.InitContainers)
	}
	if c := pod.InitContainers[1]; c.Name != DefaultName || c.RestartPolicy != "Always" {
		t.Errorf("sidecar %+v", c)
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0].Name != VolumeName {
		t.Errorf("volumes %+v", pod.Volumes)
	}
}

// TestSidecar checks the container and volume as Kubernetes reads them.
func TestSidecar(t *testing.T) {
	in := []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web, image: web}]
`)
	o := Options{Image: "example.com/specgate:1", Name: "tap", Output: "/captures/", Args: []string{"-f", "tcp port 8080"}}
	out, rep := run(t, in, o)
	if got := names(rep.Injected); !slices.Equal(got, []string{"Deployment/web"}) {
		t.Fatalf("injected %q", got)
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []container `yaml:"containers"`
					Volumes    []map[string]any
				}
			}
		}
	}
	if err := yaml.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 2 || pod.Containers[0].Name != "web" {
		t.Fatalf("containers: %+v", pod.Containers)
	}
	c := pod.Containers[1]
	wantArgs := []string{"capture", "-i", "any", "-w", "/captures/$(POD_NAME).ndjson", "-f", "tcp port 8080"}
	if c.Name != "tap" || c.Image != "example.com/specgate:1" || !slices.Equal(c.Args, wantArgs) {
		t.Errorf("sidecar %q %q %q", c.Name, c.Image, c.Args)
	}
	if slices.Contains(c.Args, "--no-redact") {
		t.Error("redaction is off")
	}
	if len(c.Env) != 2 || c.Env[0].Name != "POD_NAME" || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.name" ||
		c.Env[1].Name != "POD_NAMESPACE" || c.Env[1].ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("env %+v", c.Env)
	}
	sc := c.SecurityContext
	if !slices.Equal(sc.Capabilities.Add, []string{"NET_RAW"}) || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) ||
		sc.RunAsNonRoot || !sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation {
		t.Errorf("securityContext %+v", sc)
	}
	if (c.Resources != resources{Requests: quantities{"50m", "64Mi"}, Limits: quantities{"500m", "256Mi"}}) {
		t.Errorf("resources %+v", c.Resources)
	}
	if c.RestartPolicy != "" {
		t.Errorf("a Deployment's sidecar has restartPolicy %q", c.RestartPolicy)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0] != (volumeMount{VolumeName, "/captures"}) {
		t.Errorf("volumeMounts %+v", c.VolumeMounts)
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0]["name"] != VolumeName || !reflect.DeepEqual(pod.Volumes[0]["emptyDir"], map[string]any{}) {
		t.Errorf("volumes %+v", pod.Volumes)
	}
	if got := c.Lifecycle.PreStop.Exec.Command; !slices.Equal(got, []string{"/specgate", "kube", "stop"}) {
		t.Errorf("preStop hook %q, want specgate kube stop", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"malformed", "apiVersion: v1\nkind: Service\n---\nkind: [Deployment\n", []string{"document 2 (from line 3)", "parse"}},
		{"no containers", "kind: ConfigMap\n---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n    spec: {}\n",
			[]string{"document 3", "Deployment/prod/web", "spec.template.spec.containers"}},
		{"no template", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec: {schedule: '@daily'}\n",
			[]string{"CronJob/nightly", "spec.jobTemplate.spec.template.spec.containers"}},
		{"containers not a list", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: x}}}\n",
			[]string{"DaemonSet/d"}},
		{"in a list", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {name: s}\n",
			[]string{"StatefulSet/s", "containers"}},
		{"aliased", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: &c [{name: a, image: a}]\n  other: *c\n",
			[]string{"Deployment/a", "aliases"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Inject(strings.NewReader(tt.in), &out, Options{})
			if err == nil {
				t.Fatalf("no error; output:\n%s", out.String())
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error has more than one line: %q", msg)
			}
			if out.Len() != 0 {
				t.Errorf("wrote output on error:\n%s", out.String())
			}
		})
	}
}

func TestEmptyAndComments(t *testing.T) {
	for _, in := range []string{"", "\n", "# nothing here\n", "---\n", "---\n# a\n---\n\n...\n", "--- # c\n---\r\n"} {
		out, rep := run(t, []byte(in), Options{})
		if string(out) != in || len(rep.Injected)+len(rep.Skipped) != 0 {
			t.Errorf("%q: got %q, report %+v", in, out, rep)
		}
	}
}

func FuzzInject(f *testing.F) {
	for _, tc := range cases {
		if b, err := os.ReadFile(filepath.Join("testdata", tc.name+".yaml")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nspec: {template: {spec: {containers: [], volumes: ~}}}\n"))
	f.Add([]byte("kind: List\nitems: [{apiVersion: batch/v1, kind: Job, spec: {template: {spec: {containers: *x}}}}]\n"))
	f.Add([]byte("--- &a\n- *a\n...\n%YAML 1.2\n---\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		rep, err := Inject(bytes.NewReader(in), &out, Options{})
		if err != nil {
			if out.Len() != 0 {
				t.Fatal("output written on error")
			}
			return
		}
		if len(rep.Injected) == 0 && !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("nothing injected, output changed:\n%q\n%q", in, out.Bytes())
		}
		var again bytes.Buffer
		rep2, err := Inject(bytes.NewReader(out.Bytes()), &again, Options{})
		if err != nil {
			t.Fatalf("output does not inject again: %v\n%s", err, out.Bytes())
		}
		if len(rep2.Injected) != 0 || !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("not idempotent:\n%s\n----\n%s", out.Bytes(), again.Bytes())
		}
	})
}
