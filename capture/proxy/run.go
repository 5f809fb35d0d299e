package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/internal/atomicfile"
	"github.com/specgate/specgate/internal/command"
	"github.com/specgate/specgate/internal/oserr"
)

// EnvURL names the environment variable that tells Config.Command where the
// proxy listens ("http://127.0.0.1:8081"), useful with a listen port of 0.
const EnvURL = "SPECGATE_PROXY_URL"

// Config describes one proxied capture.
type Config struct {
	// Listen is the address to listen on ("127.0.0.1:8081", ":0").
	Listen  string
	Options Options
	// Output is the file to write: .har for HAR 1.2, .ndjson or .jsonl for
	// one HAR entry per line. It appears, whole, when Run succeeds.
	Output string
	// StatsJSON, when set, receives the statistics as JSON.
	StatsJSON string
	// Command runs while the proxy serves, with EnvURL set; the proxy stops
	// when it exits. Stdin, Stdout and Stderr are the command's.
	Command        []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Creator        har.Creator
	// Stop ends the capture gracefully (SIGINT, SIGTERM): it is forwarded
	// to Command when one runs, and otherwise stops the proxy.
	Stop <-chan os.Signal
	// Ready, when set, is called once the proxy listens, before Command
	// starts, with the address it listens on and the URL clients reach it
	// at (the loopback address when it listens on all addresses).
	Ready func(addr, url string)
}

// Result is what a proxied capture did.
type Result struct {
	Stats *capture.Stats
	// URL is where the proxy listened.
	URL string
	// CommandRan reports whether Command was started, and ExitCode is its
	// exit status (128+N when it died of signal N).
	CommandRan bool
	ExitCode   int
}

// UsageError marks a configuration mistake (exit code 2 in the CLI).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Run listens on cfg.Listen and proxies to the upstream until the command
// exits, cfg.Stop delivers a signal or ctx ends, then writes every exchange
// recorded to cfg.Output. On error nothing is written.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	format, ok := har.FormatForPath(cfg.Output)
	if !ok {
		return nil, &UsageError{Msg: fmt.Sprintf("output %q: the name must end in .har, .ndjson or .jsonl", cfg.Output)}
	}
	out, err := atomicfile.Create(cfg.Output)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	w := har.NewWriter(out, format, cfg.Creator)
	res := &Result{Stats: capture.NewStats()}
	p, err := New(cfg.Options, res.Stats, w.Write)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, oserr.Cause(err))
	}
	res.URL = listenURL(ln.Addr())

	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	// served closes when Serve returns, with its error in serveErr: the
	// command is killed when the proxy stops first (its sink failed).
	served := make(chan struct{})
	var serveErr error
	go func() {
		serveErr = p.Serve(serveCtx, ln)
		close(served)
	}()
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String(), res.URL)
	}

	if len(cfg.Command) > 0 {
		code, aborted, err := command.Run(ctx, command.Spec{
			Args: cfg.Command, Env: []string{EnvURL + "=" + res.URL},
			Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
			Stop: cfg.Stop, Abort: served,
		})
		var se *command.StartError
		switch {
		case aborted:
			if serveErr == nil {
				serveErr = errors.New("proxy: stopped before the command exited")
			}
		case errors.As(err, &se):
			stopServe()
			<-served
			return nil, &UsageError{Msg: se.Msg}
		case err != nil:
			stopServe()
			<-served
			return nil, err
		default:
			res.CommandRan, res.ExitCode = true, code
		}
	} else {
		select {
		case <-cfg.Stop:
		case <-ctx.Done():
		case <-served:
		}
	}
	stopServe()
	<-served
	if serveErr != nil {
		return nil, serveErr
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", cfg.Output, err)
	}
	if cfg.StatsJSON != "" {
		b, err := res.Stats.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(cfg.StatsJSON, append(b, '\n')); err != nil {
			return nil, err
		}
	}
	if err := out.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// listenURL is the URL a local client reaches a listener at: an
// unspecified address becomes the loopback one.
func listenURL(a net.Addr) string {
	ap := addrOf(a)
	if !ap.IsValid() {
		return "http://" + a.String()
	}
	ip := ap.Addr()
	if ip.IsUnspecified() {
		if ip.Is6() {
			ip = netip.IPv6Loopback()
		} else {
			ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
	}
	return "http://" + netip.AddrPortFrom(ip, ap.Port()).String()
}
