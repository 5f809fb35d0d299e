package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/specgate/specgate/capture/kube/inject"
	"github.com/specgate/specgate/internal/oserr"
)

func (a *app) kubeCmd() *cobra.Command {
	k := &cobra.Command{
		Use:   "kube",
		Short: "Run specgate in Kubernetes",
		Long: `Kube runs specgate in Kubernetes, where a cluster outgrows one machine.

'kube agent' is the DaemonSet of deploy/agent.yaml: on every node it
captures inside the pods that opt in and writes shards; 'kube collect'
fetches and merges them into one document per service. 'kube inject' adds
a capture container to each Deployment, StatefulSet, DaemonSet, Job and
CronJob instead, and 'kube stop' is that container's preStop hook.

A local kind cluster needs none of this: 'specgate check --kind-cluster'
captures in its nodes from the host.`,
	}
	var file string
	var o inject.Options
	c := &cobra.Command{
		Use:   "inject [-f FILE]",
		Short: "Add a capture sidecar to the workloads in Kubernetes manifests",
		Long: `Inject reads Kubernetes manifests (YAML, several documents or a List) and
writes them back with a capture container added to the pod template of
every Deployment, StatefulSet and DaemonSet (as a container) and Job and
CronJob (as a native sidecar, Kubernetes 1.29+). Everything else is left
as it was. Workloads that already have the sidecar are left alone.`,
		Example: `  specgate kube inject -f deployment.yaml > out.yaml
  kubectl get deploy todo -o yaml | specgate kube inject | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := a.stdin
			if file != "" && file != "-" {
				fh, err := os.Open(file)
				if err != nil {
					return &usageError{fmt.Errorf("read %s: %w", file, oserr.Cause(err))}
				}
				defer fh.Close()
				in = fh
			}
			rep, err := inject.Inject(in, a.stdout, o)
			if err != nil {
				return &usageError{fmt.Errorf("%s: %v", file, err)}
			}
			for _, ob := range rep.Injected {
				fmt.Fprintf(a.stderr, "specgate: injected %s\n", ob)
			}
			for _, ob := range rep.Skipped {
				fmt.Fprintf(a.stderr, "specgate: skipped %s (it has the sidecar)\n", ob)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVarP(&file, "filename", "f", "-", "manifests to read, - for stdin")
	fl.StringVar(&o.Image, "image", inject.DefaultImage, "sidecar image")
	fl.StringVar(&o.Name, "name", inject.DefaultName, "sidecar container name")
	fl.StringVar(&o.Output, "output-dir", inject.DefaultOutput, "directory in the sidecar the capture is written to")
	fl.StringArrayVar(&o.Args, "capture-arg", nil, "extra argument for specgate capture, repeatable")
	fl.StringVar(&o.Binary, "binary", inject.DefaultBinary, "path of specgate in the image, for the preStop hook")
	k.AddCommand(c, a.kubeStopCmd())
	k.AddCommand(a.kubeAgentCmd(), a.kubeCollectCmd())
	return k
}

// kubeStopCmd is the sidecar's preStop hook: it stops the capture running
// as PID 1 of the container and waits until its output is written.
func (a *app) kubeStopCmd() *cobra.Command {
	var pid int
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "stop [--pid N] [--timeout D]",
		Short: "Stop a running capture and wait until it has written its output",
		Long: `Stop sends SIGTERM to a running specgate (by default PID 1, the capture
container's own process, which is what the sidecar's preStop hook needs)
and waits until it has written everything it captured and exited. It
refuses to signal a process that is not specgate.`,
		Example: `  # the preStop hook 'kube inject' adds to the capture sidecar
  /specgate kube stop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("pid") {
				pid = findCapture("/proc")
			}
			return stopCapture(cmd.Context(), pid, timeout)
		},
	}
	c.Flags().IntVar(&pid, "pid", 1, "process to stop (default: PID 1, or the container's specgate capture when the pod shares its process namespace)")
	c.Flags().DurationVar(&timeout, "timeout", 25*time.Second, "how long to wait for it to exit")
	return c
}

// findCapture gives the process the preStop hook stops: PID 1 when it is
// specgate (the container's own process), else, in a pod that shares one
// process namespace (shareProcessNamespace: true, where PID 1 is the pause
// container), the one specgate process running capture other than this
// one; 1 when there is none, which stopCapture then refuses.
func findCapture(proc string) int {
	if comm, err := os.ReadFile(proc + "/1/comm"); err == nil && strings.HasPrefix(strings.TrimSpace(string(comm)), "specgate") {
		return 1
	}
	entries, err := os.ReadDir(proc)
	if err != nil {
		return 1
	}
	found := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		comm, err := os.ReadFile(proc + "/" + e.Name() + "/comm")
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "specgate") {
			continue
		}
		args, err := os.ReadFile(proc + "/" + e.Name() + "/cmdline")
		if err != nil || !slices.Contains(strings.Split(string(args), "\x00"), "capture") {
			continue
		}
		if found != 0 {
			return 1 // more than one: do not guess
		}
		found = pid
	}
	if found == 0 {
		return 1
	}
	return found
}

// stopCapture sends SIGTERM to the specgate process pid and waits until it
// has exited or timeout has passed.
func stopCapture(ctx context.Context, pid int, timeout time.Duration) error {
	if pid <= 0 {
		return &usageError{fmt.Errorf("--pid %d: not a process id", pid)}
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return &usageError{fmt.Errorf("process %d: %w", pid, oserr.Cause(err))}
	}
	if name := strings.TrimSpace(string(comm)); !strings.HasPrefix(name, "specgate") {
		return &usageError{fmt.Errorf("process %d is %s, not specgate: not stopping it", pid, name)}
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal process %d: %w", pid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// A child of ours stays a zombie until reaped, so a process that
		// is gone or a zombie has finished.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || zombie(stat) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("process %d still running after %v", pid, timeout)
		case <-tick.C:
		}
	}
}

// zombie reports whether a /proc/PID/stat line says the process has exited.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}
