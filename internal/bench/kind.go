package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/specgate/specgate/internal/kindsim"
)

// kindBench measures capture in a simulated kind node (internal/kindsim):
// the demo's throughput through the NodePort while 'specgate capture
// --kind-cluster' runs, over the same without it, and the exchanges
// captured (each once, although its packets cross several interfaces and
// a DNAT inside the node) over the requests the pods' servers answered.
func kindBench(specgate, dir string, d time.Duration) error {
	fmt.Printf("\n== simulated kind node: the demo system through its NodePort (%s per run)\n", d)
	ctx := context.Background()
	c, err := kindsim.New(ctx, kindsim.Config{Name: "bench"})
	if err != nil {
		return err
	}
	defer c.Close()
	answered := func() int {
		n := 0
		for _, p := range c.Pods() {
			n += p.ServedTotal()
			p.ResetServed()
		}
		return n
	}

	answered()
	base := todoLoad(c.NodeURL(), d)
	baseServed := answered()
	fmt.Printf("without capture: %d todo requests (%d answered in the pods), %.0f req/s\n", base, baseServed, float64(base)/d.Seconds())

	out := filepath.Join(dir, "kind.ndjson")
	stats := filepath.Join(dir, "kind-stats.json")
	cmd := exec.Command(specgate, "capture", "--kind-cluster", c.Name(), "-w", out, "--stats-json", stats, "-q")
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+c.DockerHost())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	time.Sleep(time.Second) // sockets open
	sent := todoLoad(c.NodeURL(), d)
	time.Sleep(500 * time.Millisecond)
	served := answered()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("specgate capture --kind-cluster: %v: %s", err, stderr.String())
	}
	got, err := countLines(out)
	if err != nil {
		return err
	}
	var st struct {
		Duplicates  uint64 `json:"duplicates"`
		KernelDrops uint64 `json:"kernel_drops"`
	}
	if b, err := os.ReadFile(stats); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	fmt.Printf("with capture:    %d todo requests (%d answered in the pods), %.0f req/s\n", sent, served, float64(sent)/d.Seconds())
	fmt.Printf("captured %d of %d exchanges answered: %.3f%% (target 100%%); %d copies from other interfaces dropped, %d kernel drops\n",
		got, served, 100*float64(got)/float64(served), st.Duplicates, st.KernelDrops)
	fmt.Printf("demo throughput with capture / without: %.1f%% (target >= 95%%)\n", 100*float64(sent)/float64(base))
	return nil
}

// todoLoad runs the demo's todo life cycle (create, read) from a few
// keep-alive clients through the node's NodePort for d, and returns how
// many requests completed. Each create also makes the todo service call
// the statistics service through its ClusterIP. Bounded in time; it talks
// only to the simulated node.
func todoLoad(base string, d time.Duration) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			do := func(method, url, body string) []byte {
				req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := c.Do(req)
				if err != nil {
					return nil
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if ctx.Err() == nil {
					n.Add(1)
				}
				return b
			}
			for ctx.Err() == nil {
				var t struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(do("POST", base+"/todos", `{"title":"benchmark","tags":["a","b"]}`), &t) != nil || t.ID == "" {
					continue
				}
				do("GET", base+"/todos/"+t.ID, "")
			}
		}()
	}
	wg.Wait()
	return n.Load()
}
