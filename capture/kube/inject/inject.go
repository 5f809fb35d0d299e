package inject

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Defaults for the zero fields of [Options].
const (
	DefaultImage  = "ghcr.io/specgate/specgate:latest"
	DefaultName   = "specgate"
	DefaultOutput = "/var/run/specgate"
	DefaultBinary = "/specgate"
)

// VolumeName is the name of the emptyDir volume the sidecar writes to.
const VolumeName = "specgate-out"

// Options configure the sidecar. Zero fields take the defaults above.
type Options struct {
	// Image is the sidecar's image; its entrypoint must be specgate.
	Image string
	// Name is the sidecar container's name.
	Name string
	// Output is the directory the capture is written to, one
	// $(POD_NAME).ndjson file per pod.
	Output string
	// Args are appended to the capture command's arguments.
	Args []string
	// Binary is the path of specgate in the image, which the preStop hook
	// runs ("/specgate" in specgate's own image).
	Binary string
}

func (o Options) withDefaults() Options {
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Binary == "" {
		o.Binary = DefaultBinary
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Output == "" {
		o.Output = DefaultOutput
	}
	o.Output = strings.TrimRight(o.Output, "/")
	if o.Output == "" {
		o.Output = "/"
	}
	return o
}

// Object names a Kubernetes object.
type Object struct {
	Kind      string
	Namespace string
	Name      string
}

// String gives kind/namespace/name, or kind/name without a namespace.
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Report says what [Inject] did.
type Report struct {
	// Injected lists the objects that got the sidecar, in input order.
	Injected []Object
	// Skipped lists the workloads that already had a container with the
	// sidecar's name and were left unchanged.
	Skipped []Object
}

// Inject reads YAML documents from r, adds the capture sidecar to every
// workload's pod template and writes the result to w. On error nothing
// is written.
func Inject(r io.Reader, w io.Writer, o Options) (Report, error) {
	o = o.withDefaults()
	in, err := io.ReadAll(r)
	if err != nil {
		return Report{}, fmt.Errorf("read manifests: %w", err)
	}
	var rep Report
	var out bytes.Buffer
	for i, c := range split(in) {
		changed, docs, err := injectChunk(c.text, o, &rep)
		if err != nil {
			return Report{}, fmt.Errorf("document %d (from line %d): %w", i+1, c.line, err)
		}
		if !changed {
			out.Write(c.text)
			continue
		}
		if c.marker {
			out.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		for _, d := range docs {
			if err := enc.Encode(d); err != nil {
				return Report{}, fmt.Errorf("document %d (from line %d): encode: %w", i+1, c.line, err)
			}
		}
		if err := enc.Close(); err != nil {
			return Report{}, fmt.Errorf("document %d (from line %d): encode: %w", i+1, c.line, err)
		}
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return Report{}, fmt.Errorf("write manifests: %w", err)
	}
	return rep, nil
}

// chunk is the raw text of one document, from its --- line (if any) to
// the next one.
type chunk struct {
	text   []byte
	line   int
	marker bool
}

// split cuts a stream at the lines that start a document ("---" at the
// start of a line, followed by a blank or the end of the line). YAML does
// not allow such a line inside a document, so the cut is exact.
func split(in []byte) []chunk {
	var chunks []chunk
	start, startLine, line := 0, 1, 1
	for pos := 0; pos < len(in); {
		end := bytes.IndexByte(in[pos:], '\n')
		if end < 0 {
			end = len(in)
		} else {
			end += pos + 1
		}
		if isMarker(in[pos:end]) && pos > start {
			chunks = append(chunks, chunk{text: in[start:pos], line: startLine, marker: isMarker(in[start:])})
			start, startLine = pos, line
		}
		pos = end
		line++
	}
	if start < len(in) {
		chunks = append(chunks, chunk{text: in[start:], line: startLine, marker: isMarker(in[start:])})
	}
	return chunks
}

func isMarker(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	return len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r'
}

// injectChunk parses one chunk and injects into every object in it.
func injectChunk(text []byte, o Options, rep *Report) (bool, []*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var docs []*yaml.Node
	changed := false
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, nil, fmt.Errorf("parse: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		docs = append(docs, &d)
		if d.Kind != yaml.DocumentNode || len(d.Content) != 1 {
			continue
		}
		c, err := injectObject(d.Content[0], o, rep)
		if err != nil {
			return false, nil, err
		}
		changed = changed || c
	}
	return changed, docs, nil
}

// podSpecPath gives the path from an object to its pod spec, for the
// kinds that get the sidecar, and whether the sidecar must be a native one
// (an init container that restarts always), so that the pods of a Job
// complete when their containers do.
func podSpecPath(apiVersion, kind string) (path []string, native bool) {
	switch {
	case apiVersion == "apps/v1" && (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet"):
		return []string{"spec", "template", "spec"}, false
	case apiVersion == "batch/v1" && kind == "Job":
		return []string{"spec", "template", "spec"}, true
	case apiVersion == "batch/v1" && kind == "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}, true
	}
	return nil, false
}

// injectObject injects into one object, or into the items of a List.
func injectObject(n *yaml.Node, o Options, rep *Report) (bool, error) {
	if n.Kind != yaml.MappingNode {
		return false, nil
	}
	apiVersion, kind := scalar(n, "apiVersion"), scalar(n, "kind")
	if strings.HasSuffix(kind, "List") {
		items := get(n, "items")
		if items == nil || items.Kind != yaml.SequenceNode {
			return false, nil
		}
		changed := false
		for _, it := range items.Content {
			c, err := injectObject(it, o, rep)
			if err != nil {
				return false, err
			}
			changed = changed || c
		}
		return changed, nil
	}
	path, native := podSpecPath(apiVersion, kind)
	if path == nil {
		return false, nil
	}
	obj := Object{Kind: kind}
	if md := get(n, "metadata"); md != nil && md.Kind == yaml.MappingNode {
		obj.Name, obj.Namespace = scalar(md, "name"), scalar(md, "namespace")
	}
	pod := n
	for _, k := range path {
		pod = get(pod, k)
		if pod == nil || pod.Kind != yaml.MappingNode {
			return false, fmt.Errorf("%s: no %s.containers", obj, strings.Join(path, "."))
		}
	}
	containers := get(pod, "containers")
	if containers == nil || containers.Kind != yaml.SequenceNode {
		return false, fmt.Errorf("%s: no %s.containers", obj, strings.Join(path, "."))
	}
	if hasNamed(containers, o.Name) || hasNamed(get(pod, "initContainers"), o.Name) {
		rep.Skipped = append(rep.Skipped, obj)
		return false, nil
	}
	if isAliased(pod) || isAliased(containers) {
		return false, fmt.Errorf("%s: the pod spec uses YAML aliases; expand them first", obj)
	}
	c, err := containerNode(o, native)
	if err != nil {
		return false, fmt.Errorf("%s: %w", obj, err)
	}
	if native {
		inits, err := seq(pod, "initContainers")
		if err != nil {
			return false, fmt.Errorf("%s: %w", obj, err)
		}
		if isAliased(inits) {
			return false, fmt.Errorf("%s: the pod spec uses YAML aliases; expand them first", obj)
		}
		inits.Content = append(inits.Content, c)
	} else {
		containers.Content = append(containers.Content, c)
	}
	if err := addVolume(pod); err != nil {
		return false, fmt.Errorf("%s: %w", obj, err)
	}
	rep.Injected = append(rep.Injected, obj)
	return true, nil
}

// addVolume adds the emptyDir output volume unless one of that name exists.
func addVolume(pod *yaml.Node) error {
	if hasNamed(get(pod, "volumes"), VolumeName) {
		return nil
	}
	vols, err := seq(pod, "volumes")
	if err != nil {
		return err
	}
	if isAliased(vols) {
		return fmt.Errorf("the pod spec uses YAML aliases; expand them first")
	}
	var v yaml.Node
	if err := v.Encode(volume{Name: VolumeName, EmptyDir: struct{}{}}); err != nil {
		return fmt.Errorf("encode volume: %w", err)
	}
	vols.Content = append(vols.Content, &v)
	return nil
}

// seq gives the list under key in mapping m, adding an empty one if the
// key is missing or null.
func seq(m *yaml.Node, key string) (*yaml.Node, error) {
	s := get(m, key)
	switch {
	case s == nil:
		s = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, s)
	case s.Kind == yaml.ScalarNode && s.Tag == "!!null":
		s.Kind, s.Tag, s.Value, s.Style = yaml.SequenceNode, "!!seq", "", 0
	case s.Kind != yaml.SequenceNode:
		return nil, fmt.Errorf("%s is not a list", key)
	}
	return s, nil
}

// get gives the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			v := m.Content[i+1]
			for depth := 0; v != nil && v.Kind == yaml.AliasNode && depth < 16; depth++ {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// scalar gives the scalar value of key in m, or "".
func scalar(m *yaml.Node, key string) string {
	if v := get(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// hasNamed says whether sequence s has a mapping whose name is name.
func hasNamed(s *yaml.Node, name string) bool {
	if s == nil || s.Kind != yaml.SequenceNode {
		return false
	}
	for _, it := range s.Content {
		if scalar(it, "name") == name {
			return true
		}
	}
	return false
}

// isAliased says whether n is an anchor's target, which a change would
// alter everywhere the anchor is used.
func isAliased(n *yaml.Node) bool {
	return n.Anchor != ""
}
