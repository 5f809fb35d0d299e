package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/redact"
)

// helperEnv makes the test binary, run as Config.Command, act as the tests
// that call the service through the proxy.
const helperEnv = "SPECGATE_PROXY_TEST_CLIENT"

// TestHelperClient is the command run through the proxy: it calls the
// proxy at $SPECGATE_PROXY_URL, prints one line per exchange as it saw it
// and exits with status 3.
func TestHelperClient(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("runs only as the command of TestRunNDJSON")
	}
	base := os.Getenv(EnvURL)
	c := newClient()
	for i := range 20 {
		body := strings.Repeat(fmt.Sprintf("item %d;", i), i)
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/todos/%d?n=%d", base, i, i), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer abcdefghijklmnopqrstuvwxyz0123456789")
		res, err := c.Do(req)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		rb, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("%s %s %d %s %s\n", req.Method, req.URL.RequestURI(), res.StatusCode, sum([]byte(body)), sum(rb))
	}
	os.Exit(3)
}

func TestRunNDJSON(t *testing.T) {
	up := upstream(t, http.HandlerFunc(echo))
	u, _ := url.Parse(up.URL)
	dir := t.TempDir()
	out := filepath.Join(dir, "traffic.ndjson")
	t.Setenv(helperEnv, "1")
	var stdout, stderr bytes.Buffer
	var readyAddr, readyURL string
	res, err := Run(context.Background(), Config{
		Listen:    "127.0.0.1:0",
		Options:   Options{Upstream: u, Redactor: redact.New(redact.Options{})},
		Output:    out,
		StatsJSON: filepath.Join(dir, "stats.json"),
		Command:   []string{os.Args[0], "-test.run=^TestHelperClient$", "-test.count=1"},
		Stdout:    &stdout,
		Stderr:    &stderr,
		Creator:   har.Creator{Name: "specgate", Version: "test"},
		Ready:     func(addr, url string) { readyAddr, readyURL = addr, url },
	})
	if err != nil {
		t.Fatalf("Run: %v (stderr %s)", err, stderr.String())
	}
	if !res.CommandRan || res.ExitCode != 3 {
		t.Errorf("command ran %v with status %d, want status 3", res.CommandRan, res.ExitCode)
	}
	if readyURL != res.URL || "http://"+readyAddr != res.URL {
		t.Errorf("ready with %q %q, result URL %q", readyAddr, readyURL, res.URL)
	}
	var seen []string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 5 {
			seen = append(seen, sc.Text())
		}
	}
	if len(seen) != 20 {
		t.Fatalf("the command saw %d exchanges:\n%s\n%s", len(seen), stdout.String(), stderr.String())
	}

	exs, format, err := har.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if format != har.FormatNDJSON {
		t.Errorf("format %v", format)
	}
	var recorded []string
	for _, x := range exs {
		recorded = append(recorded, fmt.Sprintf("%s %s %d %s %s", x.Request.Method, x.Request.Target, x.Response.Status, sum(x.Request.Body), sum(x.Response.Body)))
		if !x.Redacted || !strings.Contains(x.Request.Header.Get("Authorization"), redact.Marker) {
			t.Errorf("read back Authorization %q, redacted %v", x.Request.Header.Get("Authorization"), x.Redacted)
		}
		if !x.Server.IsValid() || !x.Client.IsValid() || x.ConnID == "" {
			t.Errorf("read back server %v client %v connection %q", x.Server, x.Client, x.ConnID)
		}
	}
	if strings.Join(recorded, "\n") != strings.Join(seen, "\n") {
		t.Errorf("read back\n%s\nthe command saw\n%s", strings.Join(recorded, "\n"), strings.Join(seen, "\n"))
	}
	if res.Stats.Exchanges != 20 {
		t.Errorf("stats count %d exchanges", res.Stats.Exchanges)
	}
	var st struct {
		Exchanges uint64 `json:"exchanges"`
		Redacted  uint64 `json:"redacted"`
		Servers   []capture.ServerStats
	}
	b, err := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.Exchanges != 20 || st.Redacted < 20 || len(st.Servers) != 1 || st.Servers[0].Server != up.Listener.Addr().String() {
		t.Errorf("stats JSON: %s", b)
	}
}

func TestRunStopSignalHAR(t *testing.T) {
	up := upstream(t, http.HandlerFunc(echo))
	u, _ := url.Parse(up.URL)
	out := filepath.Join(t.TempDir(), "traffic.har")
	stop := make(chan os.Signal, 1)
	ready := make(chan string, 1)
	type result struct {
		res *Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := Run(context.Background(), Config{
			Listen:  "127.0.0.1:0",
			Options: Options{Upstream: u},
			Output:  out,
			Stop:    stop,
			Ready:   func(_, url string) { ready <- url },
		})
		done <- result{res, err}
	}()
	var base string
	select {
	case base = <-ready:
	case r := <-done:
		t.Fatalf("Run ended early: %v", r.err)
	}
	c := newClient()
	for i := range 5 {
		res, err := c.Get(fmt.Sprintf("%s/x/%d", base, i))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the output exists before the capture ended")
	}
	stop <- syscall.SIGTERM
	var r result
	select {
	case r = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop on the signal")
	}
	if r.err != nil || r.res.CommandRan {
		t.Fatalf("Run: %v", r.err)
	}
	exs, format, err := har.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for n, x := range exs {
		if want := fmt.Sprintf("/x/%d", n); x.Request.Target != want || x.Response.Status != 200 || x.Redacted {
			t.Errorf("entry %d: %s %d redacted %v", n, x.Request.Target, x.Response.Status, x.Redacted)
		}
	}
	if len(exs) != 5 || format != har.FormatHAR {
		t.Errorf("read back %d %v entries, want 5 har", len(exs), format)
	}
}

func TestRunErrorsLeaveNothing(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	for _, tc := range []struct {
		name   string
		cfg    Config
		usage  bool
		output string
	}{
		{"bad output name", Config{Listen: "127.0.0.1:0", Options: Options{Upstream: u}}, true, "traffic.txt"},
		{"no upstream", Config{Listen: "127.0.0.1:0"}, true, "traffic.har"},
		{"bad listen address", Config{Listen: "256.0.0.1:0", Options: Options{Upstream: u}}, false, "traffic.har"},
		{"missing command", Config{Listen: "127.0.0.1:0", Options: Options{Upstream: u}, Command: []string{"/nonexistent/specgate-test-cmd"}}, true, "traffic.ndjson"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.cfg.Output = filepath.Join(dir, tc.output)
			_, err := Run(context.Background(), tc.cfg)
			if err == nil {
				t.Fatal("Run succeeded")
			}
			var ue *UsageError
			if errors.As(err, &ue) != tc.usage {
				t.Errorf("error %q: usage error %v, want %v", err, !tc.usage, tc.usage)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("left %v behind", entries)
			}
		})
	}
}
