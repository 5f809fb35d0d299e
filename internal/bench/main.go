// Command bench measures specgate against its peers on the same input in
// one run: reading a generated pcap (specgate, tshark, a bare gopacket
// decode loop), capturing live loopback traffic (capture ratio and the
// server's throughput with and without capture), inferring, gating, and
// capturing in a simulated kind node. It prints ratios.
//
//	go run ./internal/bench [-n 200000] [-dir .bench] [-live 5s] [-infer-n 1000000] [-kind 5s] [-gate=true] [-tshark=true] [-runs 1] [-specgate BIN]
//
// -n 0, -live 0, -infer-n 0, -kind 0, -gate=false and -tshark=false skip a
// part. The machine may be shared: -runs N repeats each measurement N
// times (the live and kind runs alternate without and with capture) and
// reports medians. -specgate measures another build, for comparisons.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	if len(os.Args) > 2 && (os.Args[1] == "bare" || os.Args[1] == "packets") {
		if err := bare(os.Args[2], os.Args[1] == "packets"); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	n := flag.Int("n", 200000, "exchanges in the generated pcap")
	dir := flag.String("dir", ".bench", "work directory")
	liveFor := flag.Duration("live", 5*time.Second, "duration of each live load run (0 skips the live benchmark)")
	inferN := flag.Int("infer-n", 1000000, "exchanges in the generated NDJSON that infer reads (0 skips the inference benchmark)")
	kindFor := flag.Duration("kind", 5*time.Second, "duration of each load run in the simulated kind node (0 skips it)")
	gate := flag.Bool("gate", true, "run the gate benchmark")
	tshark := flag.Bool("tshark", true, "also time tshark on the pcap, when it is installed (once: it is slow)")
	bin := flag.String("specgate", "", "measure this specgate binary (another build, for a comparison) instead of building ./cmd/specgate")
	runs := flag.Int("runs", 1, "repeat each measurement this many times and report medians")
	flag.Parse()
	cfg := config{n: *n, dir: *dir, liveFor: *liveFor, inferN: *inferN, kindFor: *kindFor, gate: *gate, tshark: *tshark, runs: max(*runs, 1), specgate: *bin}
	if err := runAll(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is what the flags chose.
type config struct {
	n        int
	dir      string
	liveFor  time.Duration
	inferN   int
	kindFor  time.Duration
	gate     bool
	tshark   bool
	runs     int
	specgate string
}

func runAll(c config) error {
	dir := c.dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	specgate := c.specgate
	if specgate == "" {
		specgate = filepath.Join(dir, "specgate")
		if out, err := exec.Command("go", "build", "-trimpath", "-o", specgate, "./cmd/specgate").CombinedOutput(); err != nil {
			return fmt.Errorf("build specgate: %v: %s", err, out)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d cores, %s, %s\n", runtime.NumCPU(), cpuModel(), runtime.Version())
	if c.runs > 1 {
		fmt.Printf("each figure is the median of %d runs\n", c.runs)
	}

	if c.n > 0 {
		if err := readBench(specgate, self, dir, c.n, c.runs, c.tshark); err != nil {
			return err
		}
	}
	if c.inferN > 0 {
		if err := inferBench(specgate, dir, c.inferN); err != nil {
			return err
		}
	}
	if c.gate {
		if err := gateBench(dir, 1500); err != nil {
			return err
		}
	}
	if c.liveFor > 0 {
		if os.Geteuid() != 0 {
			fmt.Println("\n== live: skipped, needs root")
		} else if err := liveBench(specgate, dir, c.liveFor, c.runs); err != nil {
			return err
		}
	}
	if c.kindFor > 0 {
		if os.Geteuid() != 0 {
			fmt.Println("\n== simulated kind node: skipped, needs root")
		} else if err := kindBench(specgate, dir, c.kindFor, c.runs); err != nil {
			return err
		}
	}
	return nil
}

// readBench reads a generated pcap of n exchanges (and one of n/10) with
// specgate and with the bare decode loops, and compares.
func readBench(specgate, self, dir string, n, runs int, withTshark bool) error {
	small := filepath.Join(dir, fmt.Sprintf("mix-%d.pcap", n/10))
	large := filepath.Join(dir, fmt.Sprintf("mix-%d.pcap", n))
	for _, f := range []struct {
		path string
		n    int
	}{{small, n / 10}, {large, n}} {
		if err := generate(f.path, f.n); err != nil {
			return err
		}
	}
	fi, _ := os.Stat(large)
	mb := float64(fi.Size()) / 1e6
	fmt.Printf("\n== reading %s (%d exchanges, %.0f MB)\n", large, n, mb)

	// The four commands take turns, so that a busy spell on a shared
	// machine is spread over all of them.
	var sgs, sgSmalls, bls, nps []result
	for range runs {
		for _, m := range []struct {
			into *[]result
			name string
			args []string
		}{
			{&sgs, specgate, []string{"capture", "-q", "-r", large, "-w", filepath.Join(dir, "out.ndjson")}},
			{&sgSmalls, specgate, []string{"capture", "-q", "-r", small, "-w", filepath.Join(dir, "out-small.ndjson")}},
			{&bls, self, []string{"bare", large}},
			{&nps, self, []string{"packets", large}},
		} {
			if m.name == specgate {
				// The previous run's output is removed first: replacing a
				// file of hundreds of MB (freeing its blocks in rename(2))
				// costs a tenth of a second that is no work of capture's.
				os.Remove(m.args[len(m.args)-1])
			}
			r, err := measure(m.name, m.args...)
			if err != nil {
				return err
			}
			*m.into = append(*m.into, r)
		}
	}
	sg, sgSmall, bl, np := median(sgs), median(sgSmalls), median(bls), median(nps)
	exch, err := countLines(filepath.Join(dir, "out.ndjson"))
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %10s %10s %12s %10s %10s\n", "", "seconds", "CPU s", "exchanges/s", "MB/s", "peak RSS")
	row := func(name string, r result, ex int) {
		eps := "-"
		if ex > 0 {
			eps = fmt.Sprintf("%.0f", float64(ex)/r.wall.Seconds())
		}
		fmt.Printf("%-28s %10.2f %10.2f %12s %10.1f %9.0fM\n", name, r.wall.Seconds(), r.cpu.Seconds(), eps, mb/r.wall.Seconds(), float64(r.maxRSS)/1e6)
	}
	row("specgate capture -r", sg, exch)
	row("bare loop: DecodingLayers", bl, 0)
	row("bare loop: gopacket.Packet", np, 0)
	var ts result
	if tshark, err := exec.LookPath("tshark"); err == nil && withTshark {
		ts, err = measure(tshark, "-r", large, "-Y", "http", "-T", "fields", "-e", "http.request.method", "-e", "http.response.code")
		if err != nil {
			return err
		}
		row("tshark -Y http -T fields", ts, exch)
	} else {
		fmt.Println("tshark: not installed or not asked for, no ratio")
	}
	fmt.Printf("\nspecgate exchanges captured: %d of %d generated\n", exch, n)
	if ts.wall > 0 {
		fmt.Printf("ratio specgate / tshark speed:           %.1fx (target >= 10x)\n", ts.wall.Seconds()/sg.wall.Seconds())
	}
	fmt.Printf("ratio specgate / bare DecodingLayer loop: %.0f%% (target >= 40%%)\n", 100*bl.wall.Seconds()/sg.wall.Seconds())
	fmt.Printf("ratio specgate / bare gopacket.Packet loop: %.0f%% (target >= 40%%)\n", 100*np.wall.Seconds()/sg.wall.Seconds())
	fmt.Printf("peak RSS at %d vs %d exchanges:    %.0fM vs %.0fM (%.2fx; flat is 1x)\n", n, n/10, float64(sg.maxRSS)/1e6, float64(sgSmall.maxRSS)/1e6, float64(sg.maxRSS)/float64(sgSmall.maxRSS))
	return nil
}

type result struct {
	wall   time.Duration
	cpu    time.Duration // user and system time
	maxRSS int64         // bytes
}

// median returns the run with the median wall time, with the median of
// each other figure beside it.
func median(rs []result) result {
	pick := func(key func(result) int64) int64 {
		v := make([]int64, len(rs))
		for i, r := range rs {
			v[i] = key(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{
		wall:   time.Duration(pick(func(r result) int64 { return int64(r.wall) })),
		cpu:    time.Duration(pick(func(r result) int64 { return int64(r.cpu) })),
		maxRSS: pick(func(r result) int64 { return r.maxRSS }),
	}
}

// medianOf returns the median of v.
func medianOf[T int64 | float64](v []T) T {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// cpuTime is the user and system time a finished process used.
func cpuTime(ps *os.ProcessState) time.Duration {
	return ps.UserTime() + ps.SystemTime()
}

// measure runs a command to completion, discarding its stdout, and returns
// its wall time and peak resident set size.
func measure(name string, args ...string) (result, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	wall := time.Since(t0)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return result{wall: wall, cpu: cpuTime(cmd.ProcessState), maxRSS: ru.Maxrss * 1024}, nil
}

// generate writes the benchmark pcap with the pcapgen command, which
// generates in batches so that memory stays bounded.
func generate(path string, n int) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	fmt.Printf("generating %s (%d exchanges)\n", path, n)
	out, err := exec.Command("go", "run", "./internal/pcapgen/cmd/pcapgen", "-n", strconv.Itoa(n), "-seed", "42", "-o", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pcapgen: %v: %s", err, out)
	}
	return nil
}

// bare is the reference: read every packet and decode it down to TCP,
// doing nothing else. With packets=false it decodes into reused layers
// (DecodingLayerParser, zero-copy: the fastest gopacket can go); with
// packets=true it builds a gopacket.Packet per frame, the usual idiom.
func bare(path string, packets bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var tcp layers.TCP
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 4)
	var n, payload int
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		n++
		if packets {
			p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
			if t, ok := p.TransportLayer().(*layers.TCP); ok {
				payload += len(t.Payload)
			}
			continue
		}
		_ = parser.DecodeLayers(data, &decoded)
		payload += len(tcp.Payload)
	}
	fmt.Println(n, payload)
	return nil
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.IndexByte(line, ':'); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return "unknown CPU"
}

// liveBench loads a loopback server as hard as a few keep-alive clients
// can, without and then with specgate capturing, and compares; with runs
// above 1 the two alternate and the medians count.
func liveBench(specgate, dir string, d time.Duration, runs int) error {
	fmt.Printf("\n== live loopback (%s per run)\n", d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	body := `{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","title":"benchmark","done":false,"tags":["a","b","c"]}`
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	var bases, sents, ratios, rates, cpus []float64
	out := filepath.Join(dir, "live.ndjson")
	for range runs {
		base, _ := load(addr, d)
		cmd := exec.Command(specgate, "capture", "-i", "lo", "-f", "tcp port "+port, "-w", out, "-q")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		time.Sleep(time.Second) // sockets open
		sent, _ := load(addr, d)
		time.Sleep(500 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("specgate live: %v: %s", err, stderr.String())
		}
		got, err := countLines(out)
		if err != nil {
			return err
		}
		if runs > 1 {
			fmt.Printf("  run: %.0f req/s without, %.0f with (%.1f%%), captured %d of %d\n",
				float64(base)/d.Seconds(), float64(sent)/d.Seconds(), 100*float64(sent)/float64(base), got, sent)
		}
		bases = append(bases, float64(base))
		sents = append(sents, float64(sent))
		ratios = append(ratios, float64(sent)/float64(max(base, 1)))
		rates = append(rates, float64(got)/float64(sent))
		cpus = append(cpus, float64(cpuTime(cmd.ProcessState))/float64(max(got, 1)))
	}
	base, sent := medianOf(bases), medianOf(sents)
	fmt.Printf("without capture: %.0f req/s\n", base/d.Seconds())
	fmt.Printf("with capture:    %.0f req/s; specgate's CPU time %.1f µs per exchange\n", sent/d.Seconds(), medianOf(cpus)/1e3)
	fmt.Printf("captured of exchanges sent: %.3f%% (target >= 99.9%%)\n", 100*medianOf(rates))
	// Each run's pair is measured back to back: the median of their ratios
	// is steadier than the ratio of medians on a shared machine.
	fmt.Printf("server throughput with capture / without: %.1f%% (target >= 95%%)\n", 100*medianOf(ratios))
	return nil
}

// load sends requests from a few keep-alive clients for d and returns how
// many completed. It is bounded in time and talks to loopback only.
func load(addr string, d time.Duration) (int64, error) {
	return loadFor(d, func(ctx context.Context, c *http.Client) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/todos/1", nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return 1
	}), nil
}

// loadFor runs round over and over from 4 keep-alive clients until d has
// passed, and returns the requests completed before then; round returns
// how many it completed.
func loadFor(d time.Duration, round func(ctx context.Context, c *http.Client) int) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for ctx.Err() == nil {
				k := round(ctx, c)
				if ctx.Err() == nil {
					n.Add(int64(k))
				}
			}
		}()
	}
	wg.Wait()
	return n.Load()
}

// inferBench measures 'specgate infer' on generated NDJSON (as capture
// writes it) of inferN exchanges and of a hundredth of that: throughput,
// and peak RSS, which must not grow with the number of exchanges.
func inferBench(specgate, dir string, inferN int) error {
	small := max(inferN/100, 1)
	paths := map[int]string{}
	for _, k := range []int{small, inferN} {
		p := filepath.Join(dir, fmt.Sprintf("infer-%d.ndjson", k))
		paths[k] = p
		if _, err := os.Stat(p); err == nil {
			continue
		}
		fmt.Printf("generating %s (%d exchanges)\n", p, k)
		out, err := exec.Command("go", "run", "./internal/trafficgen/cmd/trafficgen", "-n", strconv.Itoa(k), "-seed", "42", "-o", p).CombinedOutput()
		if err != nil {
			return fmt.Errorf("trafficgen: %v: %s", err, out)
		}
	}
	fi, err := os.Stat(paths[inferN])
	if err != nil {
		return err
	}
	mb := float64(fi.Size()) / 1e6
	fmt.Printf("\n== specgate infer on %s (%d exchanges, %.0f MB)\n", paths[inferN], inferN, mb)
	runs := map[int]result{}
	for _, k := range []int{small, inferN} {
		r, err := measure(specgate, "infer", "-q", paths[k], "-o", filepath.Join(dir, fmt.Sprintf("specs-%d", k))+"/")
		if err != nil {
			return err
		}
		runs[k] = r
		fmt.Printf("%9d exchanges: %6.2f s, %8.0f exchanges/s, %6.1f MB/s, peak RSS %.0fM\n", k, r.wall.Seconds(),
			float64(k)/r.wall.Seconds(), mb*float64(k)/float64(inferN)/r.wall.Seconds(), float64(r.maxRSS)/1e6)
	}
	big, sm := runs[inferN], runs[small]
	fmt.Printf("infer throughput at %d: %.0f exchanges/s (target >= 100000)\n", inferN, float64(inferN)/big.wall.Seconds())
	fmt.Printf("infer peak RSS at %d vs %d exchanges: %.0fM vs %.0fM (%.2fx; target <= 1.3x)\n", inferN, small,
		float64(big.maxRSS)/1e6, float64(sm.maxRSS)/1e6, float64(big.maxRSS)/float64(sm.maxRSS))
	return nil
}
