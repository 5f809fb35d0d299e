// Command pcapgen writes a pcap file of generated HTTP/1.1 traffic, such as
// the file specgate's benchmarks read: pcapgen -n 200000 -seed 1 -o bench.pcap
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/specgate/specgate/internal/pcapgen"
)

// batch is how many exchanges are generated and written at a time, which
// bounds memory whatever -n is.
const batch = 2000

func main() {
	n := flag.Int("n", 1000, "number of HTTP exchanges")
	seed := flag.Int64("seed", 1, "seed; the same seed gives the same file")
	out := flag.String("o", "", "output pcap file (required)")
	flag.Parse()
	if *out == "" || *n < 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: pcapgen -n EXCHANGES [-seed N] -o FILE")
		os.Exit(2)
	}
	if err := run(*n, *seed, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
}

// run writes the file to a temporary name beside out and renames it, so
// that out is either absent, the old file, or complete.
func run(n int, seed int64, out string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w, err := pcapgen.NewWriter(tmp, pcapgen.Options{Seed: seed})
	if err != nil {
		return err
	}
	for i := 0; n > 0; i++ {
		k := min(n, batch)
		n -= k
		if err := w.WriteInterleaved(pcapgen.Mix(k, seed*1_000_003+int64(i))); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
