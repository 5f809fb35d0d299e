// Command client runs the demo system's integration test against a running
// todo service (and the statistics service), and exits 1 when it fails.
//
//	client -todo http://127.0.0.1:18089 -stats http://127.0.0.1:18090 -version v1
//
// Each run draws fresh data from a random seed, which it prints; -seed N
// repeats a run. -v prints every request.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/specgate/specgate/internal/demo/client"
	"github.com/specgate/specgate/internal/demo/todo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 when the test passed, 1 when it failed, 2
// for bad flags or an unknown version.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	todoURL := fs.String("todo", "http://127.0.0.1:18089", "todo service URL")
	statsURL := fs.String("stats", "", "statistics service URL (none: GET /stats is left out)")
	version := fs.String("version", "v1", "the todo service's version")
	seed := fs.Uint64("seed", 0, "seed of the test data (default: a random one)")
	verbose := fs.Bool("v", false, "print every request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "client: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if _, ok := todo.Lookup(*version); !ok {
		fmt.Fprintf(stderr, "client: unknown todo service version %q\n", *version)
		return 2
	}
	seeded := false
	fs.Visit(func(f *flag.Flag) { seeded = seeded || f.Name == "seed" })
	if !seeded {
		*seed = rand.Uint64()
	}
	opts := client.Options{Version: *version, StatsURL: *statsURL}
	if *verbose {
		opts.Log = stdout
	}
	if err := client.Run(ctx, *todoURL, *seed, opts); err != nil {
		fmt.Fprintf(stderr, "FAIL: integration tests against todo %s (seed %d):\n", *version, *seed)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "  %s\n", line)
		}
		return 1
	}
	fmt.Fprintf(stdout, "PASS: integration tests against todo %s (seed %d)\n", *version, *seed)
	return 0
}
