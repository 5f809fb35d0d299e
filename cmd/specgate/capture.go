package main

import (
	"fmt"
	"regexp"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/filter"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/http1"
	"github.com/specgate/specgate/capture/live"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/session"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/capture/stream"
)

// captureFlags are the flags of 'specgate capture'.
type captureFlags struct {
	interfaces    []string
	netns         string
	filter        string
	reads         []string
	write         string
	duration      time.Duration
	statsJSON     string
	maxBody       sizeValue
	maxBuffered   sizeValue
	maxConnBuffer sizeValue
	maxConns      int
	buffer        sizeValue
	snaplen       int
	gapTimeout    time.Duration
	idleTimeout   time.Duration
	grace         time.Duration
	includeHosts  []string
	excludeHosts  []string
	includePaths  []string
	excludePaths  []string
	noRedact      bool
	redactHeaders []string
	redactKeys    []string
	quiet         bool
	cluster       clusterFlags
}

func (a *app) captureCmd() *cobra.Command {
	f := newCaptureFlags()
	cmd := &cobra.Command{
		Use:   "capture [flags] -w OUT [-- COMMAND [ARG...]]",
		Short: "Capture HTTP exchanges from interfaces, namespaces or capture files",
		Long: `Capture turns traffic into HTTP exchanges and writes them to OUT, a HAR 1.2
file (.har) or one HAR entry per line (.ndjson, .jsonl).

Live capture listens on the given interfaces (all of them by default), in
the current network namespace or the one given with --netns, and needs
CAP_NET_RAW. With -- COMMAND it captures while COMMAND runs, stops when it
exits and exits with its status. SIGINT or SIGTERM stop the capture, write
everything captured so far and exit 0.

With -r it reads pcap and pcapng files (also gzip-compressed; every link
type tcpdump writes on Linux), HAR files and NDJSON.

Secrets are redacted in every output unless --no-redact is given. A summary
per server goes to stderr, with the reason for anything specgate could not
read (TLS, HTTP/2, lost packets).`,
		Example: `  # capture loopback while the integration tests run
  sudo specgate capture -i lo -w traffic.har -- go test ./integration/...

  # capture inside a network namespace (a pod, a kind node)
  sudo specgate capture --netns /proc/4242/ns/net -f 'tcp port 8080' -w traffic.ndjson --duration 30s

  # capture every node of a local kind cluster, naming services as the cluster does
  sudo specgate capture --kind-cluster dev -w traffic.ndjson -- make integration-test

  # read captures written by tcpdump or Wireshark
  specgate capture -r tests.pcap -r more.pcapng.gz -w traffic.har --stats-json stats.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				command, args = args[dash:], args[:dash]
			}
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unexpected argument %q: put the command after --, or read files with -r", args[0])}
			}
			return a.runCapture(cmd, f, command)
		},
	}
	f.register(cmd.Flags())
	f.cluster.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVarP(&f.write, "write", "w", "", "output file: .har, .ndjson or .jsonl (required)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the summary")
	return cmd
}

func (a *app) runCapture(cmd *cobra.Command, f *captureFlags, command []string) error {
	if f.write == "" {
		return &usageError{fmt.Errorf("missing -w OUT: name the output file (.har, .ndjson or .jsonl)")}
	}
	if len(f.reads) > 0 && (len(f.interfaces) > 0 || f.netns != "" || f.duration > 0) {
		return &usageError{fmt.Errorf("-r reads files: it cannot be combined with -i, --netns or --duration")}
	}
	opts, err := a.captureOptions(f, f.write)
	if err != nil {
		return err
	}
	cfg := session.Config{
		Reads:     f.reads,
		Options:   opts,
		Output:    f.write,
		StatsJSON: f.statsJSON,
		Duration:  f.duration,
		Command:   command,
		Stdin:     a.stdin,
		Stdout:    a.stdout,
		Stderr:    a.stderr,
		Creator:   har.Creator{Name: "specgate", Version: version},
		Stop:      a.signals,
	}
	if !f.quiet && len(f.reads) == 0 {
		cfg.Ready = func(ifaces []string) {
			where := ""
			if f.netns != "" {
				where = " in " + f.netns
			}
			fmt.Fprintf(a.stderr, "specgate: capturing on %v%s\n", ifaces, where)
		}
	}
	cl, err := a.setupCluster(cmd.Context(), f, &cfg, f.quiet)
	if err != nil {
		return err
	}
	res, err := session.Run(cmd.Context(), cfg)
	if err != nil {
		cl.finish(nil)
		if isUsage(err) {
			return &usageError{err}
		}
		return err
	}
	cl.finish(res.Stats)
	return a.captureDone(res.Stats, f.quiet, res.CommandRan, res.ExitCode)
}

// captureDone prints a capture's summary (unless quiet) and returns the
// status of the command it wrapped, if that failed.
func (a *app) captureDone(stats *capture.Stats, quiet, ran bool, code int) error {
	if !quiet {
		if err := stats.WriteSummary(a.stderr); err != nil {
			return err
		}
	}
	if ran && code != 0 {
		return &exitError{code: code}
	}
	return nil
}

func exchangeFilter(f *captureFlags) (source.ExchangeFilter, error) {
	var ef source.ExchangeFilter
	for _, x := range []struct {
		flag string
		in   []string
		out  *[]*regexp.Regexp
	}{
		{"--include-host", f.includeHosts, &ef.IncludeHosts},
		{"--exclude-host", f.excludeHosts, &ef.ExcludeHosts},
		{"--include-path", f.includePaths, &ef.IncludePaths},
		{"--exclude-path", f.excludePaths, &ef.ExcludePaths},
	} {
		for _, s := range x.in {
			re, err := regexp.Compile(s)
			if err != nil {
				return ef, fmt.Errorf("%s %q: %v", x.flag, s, err)
			}
			*x.out = append(*x.out, re)
		}
	}
	return ef, nil
}

// newCaptureFlags returns capture flags with their defaults.
func newCaptureFlags() *captureFlags {
	return &captureFlags{maxBody: 8 << 20, maxBuffered: 256 << 20, maxConnBuffer: 16 << 20, buffer: 64 << 20}
}

// register adds the flags that choose and tune a capture (not its output).
func (f *captureFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVarP(&f.interfaces, "interface", "i", nil, "interface to capture on, repeatable; \"any\" or none for all")
	fl.StringVar(&f.netns, "netns", "", "network namespace to capture in (/proc/PID/ns/net, /var/run/netns/NAME)")
	fl.StringVarP(&f.filter, "filter", "f", "", "packet filter, e.g. 'tcp port 8080 and host 10.0.0.7' (host, net, port, portrange, tcp, udp, and/or/not)")
	fl.StringArrayVarP(&f.reads, "read", "r", nil, "read a pcap, pcapng, HAR or NDJSON file instead of capturing live, repeatable; - for stdin")
	fl.DurationVar(&f.duration, "duration", 0, "stop a live capture after this long")
	fl.StringVar(&f.statsJSON, "stats-json", "", "also write the capture statistics as JSON to this file")
	fl.Var(&f.maxBody, "max-body", "body bytes kept per message; longer bodies are truncated and flagged")
	fl.Var(&f.maxBuffered, "max-buffered", "out-of-order bytes buffered over all connections")
	fl.Var(&f.maxConnBuffer, "max-conn-buffer", "out-of-order bytes buffered per connection")
	fl.IntVar(&f.maxConns, "max-conns", 65536, "connections tracked at once")
	fl.Var(&f.buffer, "buffer", "kernel ring buffer per socket for live capture")
	fl.IntVar(&f.snaplen, "snaplen", 262144, "bytes kept per packet in live capture")
	fl.DurationVar(&f.gapTimeout, "gap-timeout", 2*time.Second, "how long to wait for a missing segment before skipping it")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 2*time.Minute, "close connections idle for this long")
	fl.DurationVar(&f.grace, "grace", time.Second, "after the command exits, keep capturing up to this long for exchanges in flight")
	fl.StringArrayVar(&f.includeHosts, "include-host", nil, "keep only exchanges whose host matches this regexp, repeatable")
	fl.StringArrayVar(&f.excludeHosts, "exclude-host", nil, "drop exchanges whose host matches this regexp, repeatable")
	fl.StringArrayVar(&f.includePaths, "include-path", nil, "keep only exchanges whose path matches this regexp, repeatable")
	fl.StringArrayVar(&f.excludePaths, "exclude-path", nil, "drop exchanges whose path matches this regexp, repeatable")
	fl.BoolVar(&f.noRedact, "no-redact", false, "write secrets (credentials, cookies, tokens) as captured: unsafe")
	fl.StringArrayVar(&f.redactHeaders, "redact-header", nil, "also redact the values of this header, repeatable")
	fl.StringArrayVar(&f.redactKeys, "redact-key", nil, "also redact JSON, form and query values under this key, repeatable")
}

// options checks the capture flags and turns them into source options;
// output names the file secrets would be written to, for the warning.
func (a *app) captureOptions(f *captureFlags, output string) (source.Options, error) {
	expr, err := filter.Parse(f.filter)
	if err != nil {
		return source.Options{}, &usageError{err}
	}
	ef, err := exchangeFilter(f)
	if err != nil {
		return source.Options{}, &usageError{err}
	}
	opts := source.Options{
		Stream: stream.Options{
			HTTP:          http1.Options{MaxBody: int64(f.maxBody)},
			MaxBuffered:   int64(f.maxBuffered),
			MaxConnBuffer: int64(f.maxConnBuffer),
			MaxConns:      f.maxConns,
			GapTimeout:    f.gapTimeout,
			IdleTimeout:   f.idleTimeout,
		},
		Filter:    expr,
		Exchanges: ef,
		Grace:     f.grace,
		Live: live.Config{
			Interfaces:  f.interfaces,
			Netns:       f.netns,
			Snaplen:     f.snaplen,
			BufferBytes: int(f.buffer),
		},
	}
	if f.noRedact {
		fmt.Fprintf(a.stderr, "specgate: warning: --no-redact: credentials, cookies and tokens in the traffic will be written to %s as captured\n", output)
	} else {
		opts.Redactor = redact.New(redact.Options{ExtraHeaders: f.redactHeaders, ExtraKeys: f.redactKeys})
	}
	return opts, nil
}
