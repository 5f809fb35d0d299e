// Package session runs one capture from start to finish: it opens the
// sources (files, or live sockets, in one network namespace or in several
// at once, while an optional command runs), writes every exchange once,
// atomically, to a HAR or NDJSON file and returns the statistics of the
// capture, with the namespaces it could not capture.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/internal/atomicfile"
	"github.com/specgate/specgate/internal/command"
)

// Config describes one capture.
type Config struct {
	// Reads lists capture files; when empty the capture is live.
	Reads   []string
	Options source.Options
	// Output is the file to write: .har for HAR 1.2, .ndjson or .jsonl for
	// one HAR entry per line. It may be empty when Sink is set.
	Output string
	// Sink, when set, also receives every exchange (after Output's writer).
	Sink source.Sink
	// StatsJSON, when set, receives the statistics as JSON.
	StatsJSON string
	// Duration stops a live capture after this long (0: no limit).
	Duration time.Duration
	// Command runs while a live capture is on; the capture stops when it
	// exits. Stdin, Stdout and Stderr are the command's.
	Command        []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Creator        har.Creator
	// Stop ends the capture gracefully (SIGINT, SIGTERM): it is forwarded
	// to Command when one runs, and otherwise stops the capture.
	Stop <-chan os.Signal
	// Ready, when set, is called once live sockets are open, before Command
	// starts (progress messages, tests). With Targets it lists
	// "NAME:INTERFACE" for every interface of every target opened.
	Ready func(interfaces []string)
	// Targets, when set, makes the capture live in each of these network
	// namespaces at once (Options.Live.Netns is then not used; the
	// interfaces are Options.Live.Interfaces, "any" by default). A target
	// that cannot be opened, or that disappears during the capture, is
	// recorded in Stats.Missed and the others go on; Run fails only when
	// no target could be opened.
	Targets []Target
	// Annotate, when set, is called with every exchange after redaction
	// and before it is written, one at a time, so that a resolver can name
	// Exchange.Service and Exchange.Caller.
	Annotate func(*capture.Exchange)
	// Missed, when set, is called as soon as a target is known to be
	// missed (with what Stats.Missed will hold), one call at a time, from
	// any goroutine.
	Missed func(capture.MissedTarget)
}

// Target is one network namespace to capture in.
type Target struct {
	// Name is what the user sees: a node or pod name. It also starts the
	// connection ids of its exchanges ("kind-worker/12").
	Name string
	// Netns is the path of the namespace: /proc/PID/ns/net, or
	// /run/netns/NAME.
	Netns string
}

// Result is what a capture did.
type Result struct {
	Stats *capture.Stats
	// CommandRan reports whether Command was started, and ExitCode is its
	// exit status (128+N when it died of signal N).
	CommandRan bool
	ExitCode   int
}

// UsageError marks a configuration mistake (exit code 2 in the CLI).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Run performs the capture described by cfg. On error nothing is written.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Reads) > 0 && len(cfg.Command) > 0 {
		return nil, &UsageError{Msg: "a command runs only with a live capture; drop -r or the command"}
	}
	if len(cfg.Reads) > 0 && len(cfg.Targets) > 0 {
		return nil, &UsageError{Msg: "capture files and network namespaces cannot be read at once"}
	}
	stopProfile, err := startProfile()
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	var out *atomicfile.File
	var w *har.Writer
	sink := cfg.Sink
	if cfg.Output != "" || cfg.Sink == nil {
		format, ok := har.FormatForPath(cfg.Output)
		if !ok {
			return nil, &UsageError{Msg: fmt.Sprintf("output %q: the name must end in .har, .ndjson or .jsonl", cfg.Output)}
		}
		out, err = atomicfile.Create(cfg.Output)
		if err != nil {
			return nil, err
		}
		defer out.Abort()
		w = har.NewWriter(out, format, cfg.Creator)
		sink = func(e *capture.Exchange) error {
			if err := w.Write(e); err != nil {
				return err
			}
			if cfg.Sink != nil {
				return cfg.Sink(e)
			}
			return nil
		}
	}

	if cfg.Annotate != nil {
		write := sink
		sink = func(e *capture.Exchange) error {
			cfg.Annotate(e)
			return write(e)
		}
	}

	res := &Result{Stats: capture.NewStats()}
	if len(cfg.Targets) > 0 {
		if err := runTargets(ctx, cfg, res, sink); err != nil {
			return nil, err
		}
	} else if len(cfg.Reads) > 0 {
		for _, path := range cfg.Reads {
			if err := source.ReadFile(ctx, path, cfg.Options, res.Stats, sink); err != nil {
				return nil, err
			}
		}
	} else if err := runLive(ctx, cfg, res, sink); err != nil {
		return nil, err
	}
	if w != nil {
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("write %s: %w", cfg.Output, err)
		}
	}
	if cfg.Options.Redactor != nil {
		res.Stats.Redacted = cfg.Options.Redactor.Count()
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
	if out != nil {
		if err := out.Commit(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func runLive(ctx context.Context, cfg Config, res *Result, sink source.Sink) error {
	defer tuneGC()()
	lc, err := source.OpenLive(ctx, cfg.Options)
	if err != nil {
		return err
	}
	defer lc.Close()
	if cfg.Ready != nil {
		cfg.Ready(lc.Interfaces())
	}

	// The capture runs until stopCapture closes; capDone closes when it
	// has returned, with its error in capErr.
	stopCapture := make(chan struct{})
	capDone := make(chan struct{})
	var capErr error
	go func() {
		capErr = lc.Run(ctx, res.Stats, sink, stopCapture)
		close(capDone)
	}()
	stop := func() error {
		close(stopCapture)
		<-capDone
		return capErr
	}

	return await(ctx, cfg, res, capDone, stop)
}

// await runs Command, or waits for a stop signal, the end of Duration, the
// end of ctx or abort, then calls stop and returns its error.
func await(ctx context.Context, cfg Config, res *Result, abort <-chan struct{}, stop func() error) error {
	var timeout <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		timeout = t.C
	}

	if len(cfg.Command) > 0 {
		code, err := runCommand(ctx, cfg, timeout, abort)
		if err != nil {
			stop()
			return err
		}
		if err := stop(); err != nil {
			return err
		}
		res.CommandRan, res.ExitCode = true, code
		return nil
	}
	select {
	case <-cfg.Stop:
	case <-timeout:
	case <-ctx.Done():
	case <-abort: // the capture failed on its own
	}
	return stop()
}

// runCommand runs the command to its end, forwarding stop signals to it.
// A capture that ends first (it failed) kills the command; the caller
// reports the capture's error.
func runCommand(ctx context.Context, cfg Config, timeout <-chan time.Time, capDone <-chan struct{}) (int, error) {
	code, _, err := command.Run(ctx, command.Spec{
		Args: cfg.Command, Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
		Stop: cfg.Stop, Timeout: timeout, Abort: capDone,
	})
	var se *command.StartError
	if errors.As(err, &se) {
		return 0, &UsageError{Msg: se.Msg}
	}
	return code, err
}
