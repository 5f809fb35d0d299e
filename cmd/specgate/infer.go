package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/spf13/cobra"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/infer"
	"github.com/specgate/specgate/internal/atomicfile"
	"github.com/specgate/specgate/internal/oserr"
)

// inferFlags are the flags of 'specgate infer'.
type inferFlags struct {
	output      string
	services    []string
	baselines   []string
	format      string
	clean       bool
	variableMin int
	noRedact    bool
	quiet       bool
	statsJSON   string
	cluster     clusterFlags
}

func (a *app) inferCmd() *cobra.Command {
	f := &inferFlags{}
	cmd := &cobra.Command{
		Use:   "infer INPUT... [-o FILE|DIR]",
		Short: "Infer one OpenAPI document per service from captured traffic",
		Long: `Infer reads captured traffic (pcap, pcapng, HAR, NDJSON) and earlier
inferred documents, and writes one OpenAPI 3.0.3 document per service: the
server the requests went to, named by their Host header, else by the
server's address and port.

Documents carry sample counts in x-specgate extensions: documents inferred
from separate captures merge, when given as inputs, into exactly the
document the captures give together. --clean drops the extensions for
publishing.

With -o FILE the traffic must hold one service (or --service picks it);
with -o DIR (an existing directory, or a path ending in /) every service is
written to DIR/<service>.yaml. Without -o the one document goes to stdout.

With --baseline, concrete paths match the baseline's path templates first,
so that a diff against the baseline compares like with like.

With --kube-objects (kubectl's JSON) or --kubeconfig, services and callers
are named as a Kubernetes cluster names them (default/todo-service, called
by default/todo), and written to DIR/<namespace>.<service>.yaml.`,
		Example: `  # one service captured by tcpdump
  specgate infer tests.pcap -o openapi.yaml

  # every service of a capture, one file each
  specgate infer traffic.ndjson -o specs/

  # merge shards inferred on several machines
  specgate infer shard1/todo.yaml shard2/todo.yaml -o todo.yaml

  # keep the baseline's path templates and parameter names
  specgate infer traffic.har --baseline api/openapi.yaml -o openapi.yaml

  # pcaps taken inside a cluster (tcpdump, kubectl sniff), named as the cluster names things
  kubectl get pods,services,nodes -A -o json > cluster.json
  specgate infer node-a.pcap node-b.pcap --kube-objects cluster.json -o specs/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{fmt.Errorf("name at least one input: a capture file, a HAR or NDJSON file, or an inferred document")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runInfer(cmd.Context(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "output file (one service) or directory (DIR/ or an existing directory); stdout if omitted")
	fl.StringArrayVar(&f.services, "service", nil, "infer only this service (a Host such as api.example.com:8080), repeatable")
	fl.StringArrayVar(&f.baselines, "baseline", nil, "baseline document or directory of documents whose path templates paths match first, repeatable")
	fl.StringVar(&f.format, "format", "", "output format: yaml or json (default: from the output file name, else yaml)")
	fl.BoolVar(&f.clean, "clean", false, "write documents without x-specgate counts, for publishing (they no longer merge)")
	fl.IntVar(&f.variableMin, "variable-min", 20, "distinct names under one path segment that make it a parameter")
	fl.BoolVar(&f.noRedact, "no-redact", false, "do not redact secrets in the traffic before inferring: unsafe")
	fl.StringVar(&f.statsJSON, "stats-json", "", "also write the capture statistics as JSON to this file")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the summary")
	f.cluster.registerNaming(fl)
	return cmd
}

// openapiHead matches the first key of an OpenAPI document in YAML or JSON.
var openapiHead = regexp.MustCompile(`(?m)^\s*(\{\s*)?["']?(openapi|swagger)["']?\s*:`)

func (a *app) runInfer(ctx context.Context, f *inferFlags, inputs []string) error {
	format := strings.ToLower(f.format)
	switch format {
	case "", "yaml", "yml", "json":
	default:
		return &usageError{fmt.Errorf("--format %q: want yaml or json", f.format)}
	}
	if f.variableMin < 2 {
		return &usageError{fmt.Errorf("--variable-min %d: want at least 2", f.variableMin)}
	}
	red := redact.New(redact.Options{})
	opts := infer.Options{VariableMin: f.variableMin, Secrets: red}
	if len(f.baselines) > 0 {
		b, err := loadBaselines(f.baselines)
		if err != nil {
			return &usageError{err}
		}
		opts.Baselines = b
	}
	in := infer.New(opts)
	srcOpts := source.Options{}
	if !f.noRedact {
		srcOpts.Redactor = red
	}
	stats := capture.NewStats()
	var annotate func(*capture.Exchange)
	if r, err := a.namer(ctx, &f.cluster, f.quiet); err != nil {
		return err
	} else if r != nil {
		defer r.Close()
		annotate = r.Annotate
	}
	for _, path := range inputs {
		if err := a.inferInput(ctx, in, path, srcOpts, stats, annotate); err != nil {
			return &usageError{err}
		}
	}

	names := in.Services()
	if len(f.services) > 0 {
		var keep []string
		for _, want := range f.services {
			found := false
			for _, n := range names {
				if strings.EqualFold(n, want) {
					keep = append(keep, n)
					found = true
				}
			}
			if !found {
				return &usageError{fmt.Errorf("--service %s: not in the traffic (services seen: %s)", want, listOrNone(names))}
			}
		}
		names = keep
	}
	if len(names) == 0 {
		return &usageError{fmt.Errorf("no HTTP exchanges in %s: nothing to infer", strings.Join(inputs, ", "))}
	}

	toDir := f.output != "" && (strings.HasSuffix(f.output, "/") || strings.HasSuffix(f.output, string(os.PathSeparator)) || isDir(f.output))
	if !toDir && len(names) > 1 {
		return &usageError{fmt.Errorf("the traffic holds %d services (%s): pick one with --service, or write one file each with -o DIR/", len(names), strings.Join(names, ", "))}
	}
	if format == "" {
		format = "yaml"
		if !toDir && strings.HasSuffix(strings.ToLower(f.output), ".json") {
			format = "json"
		}
	}
	mf := infer.Format{JSON: format == "json", Clean: f.clean}
	suffix := ".yaml"
	if mf.JSON {
		suffix = ".json"
	}
	files := infer.FileNames(names, suffix)

	// Everything is rendered and checked before anything is written.
	out := make([][]byte, len(names))
	docs := make([]*openapi3.T, len(names))
	for i, n := range names {
		doc := in.Document(n)
		docs[i] = doc
		if err := infer.Validate(ctx, doc); err != nil {
			return fmt.Errorf("the document inferred for %s does not validate: %v", n, err)
		}
		b, err := infer.Marshal(doc, mf)
		if err != nil {
			return err
		}
		out[i] = b
	}
	var written []string
	switch {
	case f.output == "":
		if _, err := a.stdout.Write(out[0]); err != nil {
			return err
		}
		written = append(written, "stdout")
	case toDir:
		if err := os.MkdirAll(f.output, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", f.output, oserr.Cause(err))
		}
		for i, n := range names {
			p := filepath.Join(f.output, files[n])
			if err := atomicfile.WriteFile(p, out[i]); err != nil {
				return err
			}
			written = append(written, p)
		}
	default:
		if err := atomicfile.WriteFile(f.output, out[0]); err != nil {
			return err
		}
		written = append(written, f.output)
	}
	if f.statsJSON != "" {
		b, err := stats.MarshalJSON()
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.statsJSON, append(b, '\n')); err != nil {
			return err
		}
	}
	if !f.quiet {
		a.inferSummary(in, names, docs, written)
	}
	return nil
}

// inferInput reads one input: an inferred document, or captured traffic.
func (a *app) inferInput(ctx context.Context, in *infer.Inferrer, path string, opts source.Options, stats *capture.Stats, annotate func(*capture.Exchange)) error {
	if path != "-" {
		head, err := readHead(path, 4096)
		if err != nil {
			return err
		}
		if source.Detect(head) == source.KindUnknown && openapiHead.Match(head) {
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read %s: %w", path, oserr.Cause(err))
			}
			doc, err := infer.LoadDocument(data, path)
			if err != nil {
				return err
			}
			if err := in.AddDocument(doc); err != nil {
				return fmt.Errorf("%s: %v", path, err)
			}
			return nil
		}
	}
	obs := newObserver(in)
	sink := obs.put
	if annotate != nil {
		sink = func(e *capture.Exchange) error {
			annotate(e)
			return obs.put(e)
		}
	}
	err := source.ReadFile(ctx, path, opts, stats, sink)
	obs.close()
	return err
}

// observer runs inference on a goroutine of its own, in batches, so that
// reading, redacting and inferring use every core.
type observer struct {
	in    *infer.Inferrer
	ch    chan []*capture.Exchange
	done  chan struct{}
	batch []*capture.Exchange
}

const observeBatch = 64

func newObserver(in *infer.Inferrer) *observer {
	o := &observer{in: in, ch: make(chan []*capture.Exchange, 8), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for b := range o.ch {
			for _, e := range b {
				in.Observe(e)
			}
		}
	}()
	return o
}

func (o *observer) put(e *capture.Exchange) error {
	if o.batch == nil {
		o.batch = make([]*capture.Exchange, 0, observeBatch)
	}
	o.batch = append(o.batch, e)
	if len(o.batch) == observeBatch {
		o.ch <- o.batch
		o.batch = nil
	}
	return nil
}

// close waits until every exchange put has been observed.
func (o *observer) close() {
	if len(o.batch) > 0 {
		o.ch <- o.batch
	}
	close(o.ch)
	<-o.done
}

func readHead(path string, n int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, oserr.Cause(err))
	}
	defer fh.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(fh, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", path, oserr.Cause(err))
	}
	return buf[:m], nil
}

// loadBaselines reads baseline documents (files, or directories of .yaml,
// .yml and .json files) and returns their path templates by service: a
// document specgate inferred names its service, any other applies to
// every service.
func loadBaselines(specs []string) (map[string][]string, error) {
	out := map[string][]string{}
	var files []string
	for _, s := range specs {
		if isDir(s) {
			for _, pat := range []string{"*.yaml", "*.yml", "*.json"} {
				m, _ := filepath.Glob(filepath.Join(s, pat))
				files = append(files, m...)
			}
			continue
		}
		files = append(files, s)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("--baseline %s: %w", p, oserr.Cause(err))
		}
		doc, err := infer.LoadDocument(data, p)
		if err != nil {
			return nil, fmt.Errorf("--baseline %w", err)
		}
		key := ""
		if infer.Inferred(doc) {
			key = serviceOf(doc)
		}
		out[key] = append(out[key], infer.Templates(doc)...)
	}
	return out, nil
}

func serviceOf(doc *openapi3.T) string {
	if x, ok := doc.Extensions["x-specgate"].(map[string]any); ok {
		if s, ok := x["service"].(string); ok && s != "" {
			return s
		}
	}
	if doc.Info != nil {
		return doc.Info.Title
	}
	return ""
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// inferSummary prints what was inferred, one line per service.
func (a *app) inferSummary(in *infer.Inferrer, names []string, docs []*openapi3.T, written []string) {
	st := in.Stats()
	fmt.Fprintf(a.stderr, "specgate: %d exchanges", st.Exchanges)
	if st.Documents > 0 {
		fmt.Fprintf(a.stderr, " and %d documents", st.Documents)
	}
	fmt.Fprintf(a.stderr, " → %s\n", plural(len(names), "service"))
	for i, n := range names {
		doc := docs[i]
		ops := 0
		for _, item := range doc.Paths.Map() {
			ops += len(item.Operations())
		}
		dest := written[0]
		if len(written) == len(names) {
			dest = written[i]
		}
		fmt.Fprintf(a.stderr, "  %s: %d paths, %d operations → %s\n", n, doc.Paths.Len(), ops, dest)
	}
	var notes []string
	if st.Unanswered > 0 {
		notes = append(notes, fmt.Sprintf("%d without a response", st.Unanswered))
	}
	if st.Unsupported > 0 {
		notes = append(notes, fmt.Sprintf("%d with a method or target OpenAPI cannot describe", st.Unsupported))
	}
	if st.Truncated > 0 {
		notes = append(notes, fmt.Sprintf("%d bodies cut short (schema not inferred)", st.Truncated))
	}
	if st.Unparsed > 0 {
		notes = append(notes, fmt.Sprintf("%d JSON bodies that did not parse", st.Unparsed))
	}
	if len(notes) > 0 {
		fmt.Fprintf(a.stderr, "  not used: %s\n", strings.Join(notes, "; "))
	}
}
