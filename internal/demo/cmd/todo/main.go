// Command todo serves the demo system's todo service.
//
//	todo -addr 127.0.0.1:18089 -version v1 -stats http://127.0.0.1:18090
//
// -version defaults to $TODO_VERSION, then v1; -stats to $STATS_URL. With
// REDIS_URL set (redis://host:port/db) todos live in Redis, else in memory.
// SIGINT or SIGTERM stop it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/specgate/specgate/internal/demo/resp"
	"github.com/specgate/specgate/internal/demo/runserver"
	"github.com/specgate/specgate/internal/demo/todo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil))
}

// run serves until ctx ends and returns the exit code: 0, 1 when serving
// failed, 2 for bad flags. ready, when set, gets the listening address.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready func(string)) int {
	fs := flag.NewFlagSet("todo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:18089", "listen address")
	version := fs.String("version", cmpOr(getenv("TODO_VERSION"), "v1"), "version: "+names())
	statsURL := fs.String("stats", getenv("STATS_URL"), "statistics service URL (none: no events)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "todo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	v, ok := todo.Lookup(*version)
	if !ok {
		fmt.Fprintf(stderr, "todo: unknown version %q (want one of %s)\n", *version, names())
		return 2
	}
	logger := log.New(stderr, "", log.LstdFlags)
	cfg := todo.Config{Version: v, StatsURL: *statsURL, Log: logger}
	storeName := "memory"
	if u := getenv("REDIS_URL"); u != "" {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := resp.Dial(dctx, u)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "todo: %v\n", err)
			return 1
		}
		defer c.Close()
		cfg.Store = todo.NewRedis(c, "demo:")
		storeName = "redis " + u
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "todo: %v\n", err)
		return 1
	}
	logger.Printf("todo service %s listening on http://%s (store: %s, statistics: %s)",
		v.Name, ln.Addr(), storeName, cmpOr(*statsURL, "none"))
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := runserver.Run(ctx, ln, todo.New(cfg), logger); err != nil {
		fmt.Fprintf(stderr, "todo: %v\n", err)
		return 1
	}
	return 0
}

func names() string {
	var n []string
	for _, v := range todo.Versions() {
		n = append(n, v.Name)
	}
	return strings.Join(n, ", ")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
