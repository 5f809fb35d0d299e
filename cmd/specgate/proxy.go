package main

import (
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/proxy"
	"github.com/specgate/specgate/capture/redact"
)

// proxyFlags are the flags of 'specgate proxy'.
type proxyFlags struct {
	listen        string
	upstream      string
	write         string
	statsJSON     string
	maxBody       sizeValue
	rewriteHost   bool
	grace         time.Duration
	noRedact      bool
	redactHeaders []string
	redactKeys    []string
	quiet         bool
}

func (a *app) proxyCmd() *cobra.Command {
	f := &proxyFlags{maxBody: proxy.DefaultMaxBody}
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream URL -w OUT [flags] [-- COMMAND [ARG...]]",
		Short: "Capture HTTP exchanges as a reverse proxy, without privileges",
		Long: `Proxy listens on ADDR and forwards every request to the service at URL,
unchanged, recording each exchange; it writes them to OUT, a HAR 1.2 file
(.har) or one HAR entry per line (.ndjson, .jsonl). Point the tests at ADDR
instead of the service. It needs no privileges: use it where live capture
(CAP_NET_RAW) is not allowed.

Requests reach the service with the client's method, target, Host and
headers (hop-by-hop headers aside) and their bodies streamed; responses
reach the client as the service sent them, content coding included. The
record holds each body decoded, up to --max-body bytes. A service that
cannot be reached gets the client a 502, which is counted in the summary
and not recorded: it is not the service's answer.

With -- COMMAND it proxies while COMMAND runs, stops when it exits and exits
with its status; COMMAND finds the proxy's URL in $SPECGATE_PROXY_URL.
SIGINT or SIGTERM stop the proxy: requests in flight complete (up to
--grace), everything recorded is written and specgate exits 0.

Secrets are redacted in the output (never in the forwarded traffic) unless
--no-redact is given. A summary per server goes to stderr.`,
		Example: `  # record the integration tests' calls to the todo service on port 8080
  specgate proxy --listen 127.0.0.1:18080 --upstream http://127.0.0.1:8080 -w traffic.har -- go test ./integration/...

  # any free port: the tests read the address from $SPECGATE_PROXY_URL
  specgate proxy --listen 127.0.0.1:0 --upstream http://todo.internal:8080 -w traffic.ndjson -- ./run-tests.sh

  # proxy until Ctrl-C, keeping up to 1 MiB of each body
  specgate proxy --listen :8081 --upstream https://staging.example.com --rewrite-host --max-body 1MiB -w traffic.ndjson`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				command, args = args[dash:], args[:dash]
			}
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unexpected argument %q: put the command after --", args[0])}
			}
			return a.runProxy(cmd, f, command)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "address to listen on, e.g. 127.0.0.1:8081 or :0 for any free port (required)")
	fl.StringVar(&f.upstream, "upstream", "", "URL of the service to forward to, e.g. http://127.0.0.1:8080 (required)")
	fl.StringVarP(&f.write, "write", "w", "", "output file: .har, .ndjson or .jsonl (required)")
	fl.StringVar(&f.statsJSON, "stats-json", "", "also write the capture statistics as JSON to this file")
	fl.Var(&f.maxBody, "max-body", "body bytes recorded per message; longer bodies are truncated in the record (never in the traffic) and flagged")
	fl.BoolVar(&f.rewriteHost, "rewrite-host", false, "send the upstream's host as Host instead of the client's")
	fl.DurationVar(&f.grace, "grace", proxy.DefaultGrace, "when stopping, wait up to this long for requests in flight")
	fl.BoolVar(&f.noRedact, "no-redact", false, "write secrets (credentials, cookies, tokens) as captured: unsafe")
	fl.StringArrayVar(&f.redactHeaders, "redact-header", nil, "also redact the values of this header, repeatable")
	fl.StringArrayVar(&f.redactKeys, "redact-key", nil, "also redact JSON, form and query values under this key, repeatable")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print neither the summary nor upstream errors")
	return cmd
}

func (a *app) runProxy(cmd *cobra.Command, f *proxyFlags, command []string) error {
	switch {
	case f.listen == "":
		return &usageError{errors.New("missing --listen ADDR: name the address the tests will call, e.g. 127.0.0.1:8081")}
	case f.upstream == "":
		return &usageError{errors.New("missing --upstream URL: name the service to forward to, e.g. http://127.0.0.1:8080")}
	case f.write == "":
		return &usageError{errors.New("missing -w OUT: name the output file (.har, .ndjson or .jsonl)")}
	}
	up, err := parseUpstream(f.upstream)
	if err != nil {
		return &usageError{err}
	}
	opts := proxy.Options{
		Upstream:    up,
		MaxBody:     int64(f.maxBody),
		RewriteHost: f.rewriteHost,
		Grace:       f.grace,
	}
	if !f.quiet {
		opts.ErrorLog = log.New(a.stderr, "specgate: ", 0)
	}
	if f.noRedact {
		fmt.Fprintf(a.stderr, "specgate: warning: --no-redact: credentials, cookies and tokens in the traffic will be written to %s as captured\n", f.write)
	} else {
		opts.Redactor = redact.New(redact.Options{ExtraHeaders: f.redactHeaders, ExtraKeys: f.redactKeys})
	}
	cfg := proxy.Config{
		Listen:    f.listen,
		Options:   opts,
		Output:    f.write,
		StatsJSON: f.statsJSON,
		Command:   command,
		Stdin:     a.stdin,
		Stdout:    a.stdout,
		Stderr:    a.stderr,
		Creator:   har.Creator{Name: "specgate", Version: version},
		Stop:      a.signals,
	}
	if !f.quiet {
		cfg.Ready = func(addr, _ string) {
			fmt.Fprintf(a.stderr, "specgate: proxying %s -> %s\n", addr, up.Redacted())
		}
	}
	res, err := proxy.Run(cmd.Context(), cfg)
	if err != nil {
		var ue *proxy.UsageError
		if errors.As(err, &ue) || isUsage(err) {
			return &usageError{err}
		}
		return err
	}
	return a.captureDone(res.Stats, f.quiet, res.CommandRan, res.ExitCode)
}

// parseUpstream reads the --upstream URL; "host:port" alone means http.
func parseUpstream(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("--upstream %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--upstream %q: the scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("--upstream %q: no host", s)
	}
	return u, nil
}
