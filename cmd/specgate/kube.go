package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/specgate/specgate/capture/kube/inject"
	"github.com/specgate/specgate/internal/oserr"
)

func (a *app) kubeCmd() *cobra.Command {
	k := &cobra.Command{
		Use:   "kube",
		Short: "Run specgate in Kubernetes",
		Long: `Kube prepares Kubernetes workloads for capture. 'kube inject' adds a
capture container to each Deployment, StatefulSet, DaemonSet, Job and
CronJob: it shares the pod's network namespace, captures every interface
of the pod, and writes the exchanges when the pod stops.`,
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
	k.AddCommand(c)
	return k
}
