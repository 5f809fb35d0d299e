package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/proxy"
	"github.com/specgate/specgate/capture/session"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/gate"
	"github.com/specgate/specgate/gate/render"
	"github.com/specgate/specgate/infer"
	"github.com/specgate/specgate/internal/atomicfile"
	cmdrun "github.com/specgate/specgate/internal/command"
	"github.com/specgate/specgate/internal/oserr"
)

// reportFlags are the flags that choose the gate's reports and policy.
type reportFlags struct {
	formats []string
	policy  string
}

func (r *reportFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&r.formats, "format", nil, "report format, repeatable: "+strings.Join(render.Formats(), ", ")+"; FORMAT=FILE writes it to FILE (default text to stdout)")
	fl.StringVar(&r.policy, "policy", "", "policy file (default .specgate.yaml when there is one)")
}

// reportTarget is one report to write.
type reportTarget struct{ format, file string }

func (r *reportFlags) targets() ([]reportTarget, error) {
	if len(r.formats) == 0 {
		return []reportTarget{{format: "text"}}, nil
	}
	var out []reportTarget
	for _, f := range r.formats {
		name, file, _ := strings.Cut(f, "=")
		if _, ok := render.Lookup(name); !ok {
			return nil, fmt.Errorf("--format %s: unknown format (want %s)", name, strings.Join(render.Formats(), ", "))
		}
		out = append(out, reportTarget{name, file})
	}
	return out, nil
}

func (r *reportFlags) loadPolicy() (*gate.Policy, error) {
	if r.policy == "" {
		if _, err := os.Stat(".specgate.yaml"); err != nil {
			return gate.DefaultPolicy(), nil
		}
		r.policy = ".specgate.yaml"
	}
	return gate.LoadPolicy(r.policy)
}

// writeReports renders the report in every target format: to files
// atomically, or to stdout.
func (a *app) writeReports(r *gate.Report, targets []reportTarget, specFile func(string) string) error {
	for _, t := range targets {
		o := render.Options{Tool: "specgate", Version: version, SpecFile: specFile}
		if t.file == "" && t.format == "text" {
			o.Color = isTerminal(a.stdout)
		}
		var buf bytes.Buffer
		if err := render.Render(&buf, t.format, r, o); err != nil {
			return err
		}
		if t.file == "" {
			if _, err := a.stdout.Write(buf.Bytes()); err != nil {
				return err
			}
			continue
		}
		if err := atomicfile.WriteFile(t.file, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
}

func (a *app) diffCmd() *cobra.Command {
	rf := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "diff BASE REVISION",
		Short: "Compare two OpenAPI documents and classify every change",
		Long: `Diff compares two OpenAPI documents (files, git:REF:PATH, or URLs) with
oasdiff's breaking-change checks and, when they are documents specgate
inferred, with what their sample counts show: renamed properties,
properties no longer sent, operations no longer exercised.

Exit codes: 0 no breaking changes, 1 breaking changes, 2 usage or input
error.`,
		Example: `  specgate diff git:origin/main:api/openapi.yaml api/openapi.yaml
  specgate diff base.yaml new.yaml --format markdown=report.md --format json=report.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return &usageError{fmt.Errorf("want two documents: BASE and REVISION")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := rf.targets()
			if err != nil {
				return &usageError{err}
			}
			pol, err := rf.loadPolicy()
			if err != nil {
				return &usageError{err}
			}
			var docs [2]*gate.Doc
			for i, src := range args {
				ds, err := gate.LoadDocs(cmd.Context(), src)
				if err != nil {
					return &usageError{err}
				}
				if len(ds) != 1 {
					return &usageError{fmt.Errorf("%s: holds %d documents; diff compares one with one", src, len(ds))}
				}
				docs[i] = ds[0]
			}
			docs[1].Service = docs[0].Service
			r, err := gate.Run(gate.Input{Baselines: docs[:1], Current: docs[1:], Policy: pol, Today: time.Now()})
			if err != nil {
				return &usageError{err}
			}
			if err := a.writeReports(r, targets, nil); err != nil {
				return err
			}
			return exitFor(gate.ExitCode(r.Verdict, pol))
		},
	}
	rf.register(cmd)
	return cmd
}

func exitFor(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code: code}
}

// checkFlags are the flags of 'specgate check'.
type checkFlags struct {
	capture   *captureFlags
	report    reportFlags
	baselines []string
	update    bool
	specs     string
	write     string
	quiet     bool
	proxies   []string
	comment   bool
	token     string
	fallback  string
	failOn    string
}

func (a *app) checkCmd() *cobra.Command {
	f := &checkFlags{capture: newCaptureFlags()}
	cmd := &cobra.Command{
		Use:   "check --baseline SRC [flags] (-- COMMAND [ARG...] | --read FILE)",
		Short: "Capture while the tests run, infer, and gate against the baseline",
		Long: `Check is the whole gate: it captures the traffic while COMMAND (the
integration tests) runs — or reads capture files with --read — infers one
OpenAPI document per service, compares each with its baseline (a file for
one service; a directory of <service>.yaml, or git:REF:PATH, for several)
and writes the reports.

With --update-baseline it writes the inferred documents as the new
baseline instead (what a default-branch job does) and exits 0.

Exit codes: 0 pass, 1 breaking changes, 2 usage or input error,
3 inconclusive (no traffic reached a baselined service, or the capture
lost data; .specgate.yaml's "inconclusive" can count it as pass or fail).
When COMMAND fails, check reports and exits with COMMAND's status.`,
		Example: `  # the gate in CI: capture loopback while the tests run
  sudo specgate check --baseline api/specs/ -i lo -- go test ./integration/...

  # a PR comment body and annotations besides the text report
  specgate check --baseline git:origin/main:api/specs --read traffic.ndjson \
    --format text --format markdown=report.md --format githubactions=annotations.txt

  # on the default branch: record the baseline
  sudo specgate check --baseline api/specs/ --update-baseline -i lo -- make integration-test`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				command, args = args[dash:], args[:dash]
			}
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unexpected argument %q: put the command after --, or read files with --read", args[0])}
			}
			return a.runCheck(cmd.Context(), f, command)
		},
	}
	f.capture.register(cmd.Flags())
	f.capture.cluster.register(cmd.Flags())
	f.report.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.baselines, "baseline", nil, "baseline: a document, a directory of <service>.yaml, git:REF:PATH or a URL (required)")
	fl.BoolVar(&f.update, "update-baseline", false, "write the inferred documents as the baseline (a directory, or the one file) instead of gating")
	fl.StringVar(&f.specs, "specs", "", "also write the inferred documents to this directory")
	fl.StringVarP(&f.write, "write", "w", "", "also write the captured exchanges to this file (.har, .ndjson)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the capture summary")
	fl.StringVar(&f.failOn, "fail-on", "", "lowest level that fails the gate: error, warning or info (overrides the policy's fail-on)")
	fl.BoolVar(&f.comment, "comment", false, "in GitHub Actions or GitLab CI: post the report as the one sticky pull/merge request comment, and to the job summary and step outputs")
	fl.StringVar(&f.token, "github-token", "", "token for comments and artifact baselines in GitHub Actions (default $GITHUB_TOKEN)")
	fl.StringVar(&f.fallback, "baseline-fallback", "", "baseline to use when an artifact baseline does not exist yet (a committed document or directory)")
	fl.StringArrayVar(&f.proxies, "proxy", nil, "instead of capturing, put a reverse-proxy tap LISTEN=UPSTREAM in front of a service while COMMAND runs, repeatable (the tests call LISTEN)")
	return cmd
}

func (a *app) runCheck(ctx context.Context, f *checkFlags, command []string) error {
	if len(f.baselines) == 0 {
		return &usageError{errors.New("missing --baseline: name the baseline document or directory")}
	}
	if len(f.capture.reads) == 0 && len(command) == 0 {
		return &usageError{errors.New("nothing to check: run the tests after -- COMMAND, or read captures with --read")}
	}
	targets, err := f.report.targets()
	if err != nil {
		return &usageError{err}
	}
	pol, err := f.report.loadPolicy()
	if err != nil {
		return &usageError{err}
	}
	if f.failOn != "" {
		l := gate.Level(f.failOn)
		if l.Rank() == 0 {
			return &usageError{fmt.Errorf("--fail-on %q: want error, warning or info", f.failOn)}
		}
		pol.FailOn = l
	}
	var baselines []*gate.Doc
	if !f.update {
		for _, src := range f.baselines {
			token := f.token
			if token == "" {
				token = os.Getenv("GITHUB_TOKEN")
			}
			if dir, tmp, ok, err := a.ciBaseline(ctx, src, token); ok {
				switch {
				case err == nil:
					defer os.RemoveAll(tmp)
					src = dir
				case noBaseline(err) && f.fallback != "":
					fmt.Fprintf(a.stderr, "specgate: %v; using --baseline-fallback %s\n", err, f.fallback)
					src = f.fallback
				case noBaseline(err):
					// The default branch has not recorded one yet: there is
					// nothing to judge by, which is inconclusive, not wrong.
					fmt.Fprintf(a.stderr, "specgate: %v: run the default branch with --update-baseline first\n", err)
					continue
				default:
					return &usageError{err}
				}
			}
			ds, err := gate.LoadDocs(ctx, src)
			if err != nil {
				return &usageError{err}
			}
			baselines = append(baselines, ds...)
		}
	} else if len(f.baselines) != 1 || strings.HasPrefix(f.baselines[0], "git:") || strings.Contains(f.baselines[0], "://") {
		return &usageError{errors.New("--update-baseline writes one baseline: a file or a directory")}
	}

	opts, err := a.captureOptions(f.capture, "the reports")
	if err != nil {
		return err
	}
	var templates map[string][]string
	for _, b := range baselines {
		if templates == nil {
			templates = map[string][]string{}
		}
		templates[b.Service] = infer.Templates(b.Spec)
	}
	if len(baselines) == 1 {
		templates[""] = templates[baselines[0].Service]
	}
	in := infer.New(infer.Options{Baselines: templates, Secrets: opts.Redactor})
	obs := newObserver(in)
	cfg := session.Config{
		Reads: f.capture.reads, Options: opts, Output: f.write, Sink: obs.put,
		Duration: f.capture.duration, Command: command,
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr,
		Creator: har.Creator{Name: "specgate", Version: version}, Stop: a.signals,
	}
	if len(f.capture.reads) == 0 && !f.quiet {
		cfg.Ready = func(ifaces []string) { fmt.Fprintf(a.stderr, "specgate: capturing on %v\n", ifaces) }
	}
	var res *session.Result
	if len(f.proxies) > 0 {
		if f.capture.cluster.kind != "" {
			return &usageError{errors.New("--proxy and --kind-cluster are two ways to capture: choose one")}
		}
		res, err = a.runProxies(ctx, f, opts, command, obs.put)
	} else {
		var cl *clusterRun
		if cl, err = a.setupCluster(ctx, f.capture, &cfg, f.quiet); err != nil {
			return err
		}
		res, err = session.Run(ctx, cfg)
		if err == nil {
			cl.finish(res.Stats)
		} else {
			cl.finish(nil)
		}
	}
	obs.close()
	if err != nil {
		if isUsage(err) {
			return &usageError{err}
		}
		return err
	}
	if !f.quiet {
		if err := res.Stats.WriteSummary(a.stderr); err != nil {
			return err
		}
	}

	if f.specs != "" {
		if err := writeSpecs(in, f.specs, true); err != nil {
			return err
		}
	}
	if f.update {
		return a.updateBaseline(in, f.baselines[0])
	}

	r, err := gate.Run(gate.Input{Baselines: baselines, Current: inferredDocs(in), Health: health(res.Stats), Policy: pol, Today: time.Now()})
	if err != nil {
		return &usageError{err}
	}
	// Annotations and code-scanning results point at each service's
	// baseline file, where it is one.
	files := map[string]string{}
	for _, b := range baselines {
		if !strings.Contains(b.Source, ":") && !filepath.IsAbs(b.Source) {
			files[b.Service] = filepath.ToSlash(b.Source)
		}
	}
	if err := a.writeReports(r, targets, func(s string) string { return files[s] }); err != nil {
		return err
	}
	if f.comment {
		jsonFile := ""
		for _, t := range targets {
			if t.format == "json" && t.file != "" {
				jsonFile = t.file
			}
		}
		token := f.token
		if token == "" {
			token = os.Getenv("GITHUB_TOKEN")
		}
		if err := a.publish(ctx, r, token, jsonFile); err != nil {
			return err
		}
	}
	if res.CommandRan && res.ExitCode != 0 {
		return &exitError{code: res.ExitCode}
	}
	return exitFor(gate.ExitCode(r.Verdict, pol))
}

// runProxies runs a reverse-proxy tap per --proxy while the command runs,
// handing every exchange to sink.
func (a *app) runProxies(ctx context.Context, f *checkFlags, opts source.Options, command []string, sink source.Sink) (*session.Result, error) {
	if len(command) == 0 || len(f.capture.reads) > 0 || len(f.capture.interfaces) > 0 || f.capture.netns != "" || f.write != "" {
		return nil, &usageError{errors.New("--proxy taps the traffic of -- COMMAND: it cannot be combined with --read, -i, --netns or -w")}
	}
	var mu sync.Mutex
	locked := func(e *capture.Exchange) error {
		mu.Lock()
		defer mu.Unlock()
		return sink(e)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	res := &session.Result{Stats: capture.NewStats()}
	type tap struct {
		stats *capture.Stats
		done  chan error
	}
	var taps []tap
	for _, spec := range f.proxies {
		listen, upstream, ok := strings.Cut(spec, "=")
		if !ok || listen == "" || upstream == "" {
			return nil, &usageError{fmt.Errorf("--proxy %q: want LISTEN=UPSTREAM, e.g. 127.0.0.1:9080=http://127.0.0.1:8080", spec)}
		}
		up, err := parseUpstream(upstream)
		if err != nil {
			return nil, &usageError{err}
		}
		t := tap{stats: capture.NewStats(), done: make(chan error, 1)}
		p, err := proxy.New(proxy.Options{Upstream: up, MaxBody: int64(f.capture.maxBody), Redactor: opts.Redactor}, t.stats, locked)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--proxy %s: %v", spec, err)}
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--proxy %s: %v", spec, oserr.Cause(err))}
		}
		go func() { t.done <- p.Serve(sctx, ln) }()
		taps = append(taps, t)
		if !f.quiet {
			fmt.Fprintf(a.stderr, "specgate: proxying %s -> %s\n", ln.Addr(), up.Redacted())
		}
	}
	code, _, err := cmdrun.Run(ctx, cmdrun.Spec{Args: command, Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr, Stop: a.signals})
	stop()
	for _, t := range taps {
		if serr := <-t.done; serr != nil && err == nil {
			err = serr
		}
		res.Stats.Merge(t.stats)
	}
	var se *cmdrun.StartError
	if errors.As(err, &se) {
		return nil, &usageError{err}
	}
	if err != nil {
		return nil, err
	}
	res.CommandRan, res.ExitCode = true, code
	return res, nil
}

// inferredDocs returns every service's document as inference holds it:
// the gate reads it in memory, without writing and parsing it again.
func inferredDocs(in *infer.Inferrer) []*gate.Doc {
	var docs []*gate.Doc
	for _, n := range in.Services() {
		docs = append(docs, gate.NewDoc(in.Document(n), "inferred:"+n, n))
	}
	return docs
}

// writeSpecs writes every service's document to dir/<service>.yaml.
func writeSpecs(in *infer.Inferrer, dir string, counts bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, oserr.Cause(err))
	}
	names := infer.FileNames(in.Services(), ".yaml")
	for _, n := range in.Services() {
		b, err := infer.Marshal(in.Document(n), infer.Format{Clean: !counts})
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, names[n]), b); err != nil {
			return err
		}
	}
	return nil
}

// updateBaseline writes the inferred documents as the baseline: into a
// directory (one file per service), or into the one file when the traffic
// holds one service.
func (a *app) updateBaseline(in *infer.Inferrer, dst string) error {
	services := in.Services()
	if len(services) == 0 {
		return &usageError{errors.New("no HTTP exchanges in this run: no baseline to write")}
	}
	if isDir(dst) || strings.HasSuffix(dst, "/") {
		if err := writeSpecs(in, dst, true); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "specgate: baseline of %s written to %s\n", plural(len(services), "service"), dst)
		return nil
	}
	if len(services) > 1 {
		return &usageError{fmt.Errorf("the traffic holds %d services (%s): write the baseline to a directory (--baseline DIR/)", len(services), strings.Join(services, ", "))}
	}
	b, err := infer.Marshal(in.Document(services[0]), infer.Format{})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(dst, b); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "specgate: baseline of %s written to %s\n", services[0], dst)
	return nil
}

// health summarises a capture's statistics for the gate.
func health(s *capture.Stats) *gate.Health {
	t := s.Total()
	h := &gate.Health{Exchanges: int64(s.Exchanges)}
	h.Lost = int64(s.KernelDrops + t.Truncated + t.Incomplete + t.Unanswered + t.OrphanResponses + t.GaveUp)
	if h.Exchanges > 0 {
		h.LostRatio = float64(h.Lost) / float64(h.Exchanges)
	} else if h.Lost > 0 {
		h.LostRatio = 1
	}
	// Explain tells the missed targets first; the report keeps them apart.
	h.Notes = s.Explain()[len(s.Missed):]
	for _, m := range s.Missed {
		h.Missed = append(h.Missed, m.Target+": "+m.Reason)
	}
	return h
}

func (a *app) checksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "checks",
		Short: "List the check ids a policy's severity can name, with their levels",
		Long: `Checks lists every check id, oasdiff's and specgate's own, with the level
it reports at by default. A policy (.specgate.yaml) changes levels by id:

  severity:
    response-property-enum-value-added: info`,
		Example: `  specgate checks | grep renamed`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, c := range gate.Checks() {
				if _, err := fmt.Fprintf(a.stdout, "%-60s %s\n", c.ID, c.Level); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
