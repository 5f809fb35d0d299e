// Command kindsim runs a command against the demo system deployed in a
// simulated kind cluster (see package kindsim): a node built from network
// namespaces, with the todo and statistics services in two pods, a fake
// container engine that lists the node, and a fake Kubernetes API that
// knows the pods and Services. It needs root, ip and iptables.
//
//	kindsim [-name NAME] [-version v1] [-redis URL] -- COMMAND [ARG...]
//
// COMMAND runs with DOCKER_HOST (the engine's socket), KUBECONFIG (a
// kubeconfig for the API, context kind-NAME), KINDSIM_TODO_URL and
// KINDSIM_STATS_URL (the services' NodePorts) in its environment; the
// cluster is torn down when it exits, and kindsim exits with its status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/specgate/specgate/internal/kindsim"
	"github.com/specgate/specgate/internal/kubefake"
)

func main() {
	name := flag.String("name", "demo", "the kind cluster's name")
	version := flag.String("version", "v1", "the todo service's version")
	redis := flag.String("redis", os.Getenv("REDIS_URL"), "the todo service's Redis (redis://host:port/db); empty keeps todos in memory")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kindsim [-name NAME] [-version v1] [-redis URL] -- COMMAND [ARG...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	code, err := run(*name, *version, *redis, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kindsim:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(name, version, redis string, command []string) (int, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := kindsim.New(ctx, kindsim.Config{Name: name, Version: version, RedisURL: redis})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	api := kubefake.New(kubefake.Options{Token: "kindsim"})
	defer api.Close()
	objs := c.Objects()
	api.SetPods(objs.Pods...)
	api.SetServices(objs.Services...)
	api.SetNodes(objs.Nodes...)
	api.SetReplicaSets(objs.ReplicaSets...)
	dir, err := os.MkdirTemp("", "kindsim-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := api.WriteKubeconfig(kubeconfig, c.Name()); err != nil {
		return 0, err
	}

	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+c.DockerHost(), "KUBECONFIG="+kubeconfig,
		"KINDSIM_TODO_URL="+c.NodeURL(), "KINDSIM_STATS_URL="+c.StatsURL())
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() < 0 {
			return 128 + int(syscall.SIGTERM), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}
