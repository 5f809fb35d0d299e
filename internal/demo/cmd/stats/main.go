// Command stats serves the demo system's statistics service, in memory.
//
//	stats -addr 127.0.0.1:18090
//
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
	"syscall"

	"github.com/specgate/specgate/internal/demo/runserver"
	"github.com/specgate/specgate/internal/demo/stats"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

// run serves until ctx ends and returns the exit code: 0, 1 when serving
// failed, 2 for bad flags. ready, when set, gets the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(string)) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:18090", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stats: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "stats: %v\n", err)
		return 1
	}
	logger := log.New(stderr, "", log.LstdFlags)
	logger.Printf("statistics service listening on http://%s", ln.Addr())
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := runserver.Run(ctx, ln, stats.New(), logger); err != nil {
		fmt.Fprintf(stderr, "stats: %v\n", err)
		return 1
	}
	return 0
}
