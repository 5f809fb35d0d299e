package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/testenv"
)

// TestSigtermWritesCompleteHAR: SIGTERM in the middle of a capture, with a
// request still in flight, writes a valid HAR holding every completed
// exchange, and exits 0.
func TestSigtermWritesCompleteHAR(t *testing.T) {
	testenv.NeedRoot(t)
	addr, port := liveServer(t)
	slow := httpServerSlow(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.har")
	p := start(t, "specgate", specgateCommand("capture", "-i", "lo", "-f", fmt.Sprintf("tcp port %d or tcp port %d", port, slow.port), "-w", out), "capturing on", out, syscall.SIGTERM)

	c := &http.Client{Timeout: 10 * time.Second}
	const n = 40
	for i := 0; i < n; i++ {
		resp, err := c.Get(fmt.Sprintf("http://%s/items/%d", addr, i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// a request that will still be waiting when the capture stops
	go func() {
		if resp, err := c.Get("http://" + slow.addr + "/slow/3000"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(400 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("specgate after SIGTERM: %v\n%s", err, p.stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Version string            `json:"version"`
			Entries []json.RawMessage `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("HAR written on SIGTERM is not valid JSON: %v", err)
	}
	if doc.Log.Version != "1.2" || len(doc.Log.Entries) != n {
		t.Fatalf("HAR version %q with %d entries, want 1.2 with %d", doc.Log.Version, len(doc.Log.Entries), n)
	}
	if !strings.Contains(p.stderr.String(), "1 request had no response") {
		t.Errorf("the request in flight is not accounted for:\n%s", p.stderr.String())
	}
}

type slowServer struct {
	addr string
	port int
}

func httpServerSlow(t *testing.T) slowServer {
	t.Helper()
	srv := &http.Server{Handler: testHandler()}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return slowServer{addr: ln.Addr().String(), port: portOf(ln.Addr().String())}
}
