// Command trafficgen writes the generated traffic of a microservice test run
// as specgate capture writes it, for specgate's inference benchmarks:
//
//	trafficgen -n 1000000 -seed 42 -o traffic.ndjson
//
// A name ending in .har gives a HAR document, any other NDJSON; -o - writes
// NDJSON to stdout. The file appears only once complete.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/internal/atomicfile"
	"github.com/specgate/specgate/internal/oserr"
	"github.com/specgate/specgate/internal/trafficgen"
)

func main() {
	n := flag.Int("n", 1000, "number of HTTP exchanges")
	seed := flag.Uint64("seed", 1, "seed; the same seed and -n give the same bytes")
	out := flag.String("o", "", "output file (.ndjson, .jsonl or .har), or - for stdout (required)")
	flag.Parse()
	if *out == "" || *n < 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: trafficgen -n EXCHANGES [-seed N] -o FILE|-")
		os.Exit(2)
	}
	if err := run(*n, *seed, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "trafficgen:", err)
		os.Exit(1)
	}
}

// bufferSize is the write buffer between the generator and the output.
const bufferSize = 1 << 20

// run writes n exchanges from seed to the file out, or to stdout when out
// is "-".
func run(n int, seed uint64, out string, stdout io.Writer) error {
	if out == "-" {
		bw := bufio.NewWriterSize(stdout, bufferSize)
		if err := trafficgen.Generate(bw, n, seed); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write stdout: %w", oserr.Cause(err))
		}
		return nil
	}
	format := har.FormatNDJSON
	if f, ok := har.FormatForPath(out); ok {
		format = f
	}
	f, err := atomicfile.Create(out)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, bufferSize)
	if err := trafficgen.Write(bw, n, seed, format); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", out, oserr.Cause(err))
	}
	return f.Commit()
}
