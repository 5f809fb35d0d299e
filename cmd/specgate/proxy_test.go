package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture/har"
)

// TestProxyCommandNDJSON runs 'specgate proxy -- COMMAND' with the test
// binary as the client and reads the NDJSON it wrote back.
func TestProxyCommandNDJSON(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
	}))
	defer up.Close()
	out := filepath.Join(t.TempDir(), "traffic.ndjson")
	t.Setenv("SPECGATE_TEST_MAIN", "httpclient")
	var stdout, stderr bytes.Buffer
	code := run([]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", up.URL, "-w", out, "--",
		"sh", "-c", `exec "$0" "$SPECGATE_PROXY_URL" -n 5 -auth s3cr3t-token-value -exit 4`, os.Args[0]},
		strings.NewReader(""), &stdout, &stderr)
	if code != 4 {
		t.Fatalf("exit code %d, want the command's 4; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "specgate: proxying 127.0.0.1:") || !strings.Contains(stderr.String(), "captured 5 exchanges") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	exs, _, err := har.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for n, x := range exs {
		if x.Request.Target != "/items/"+string(rune('0'+n)) || x.Response.Status != 200 || string(x.Response.Body) != `{"path":"/items/`+string(rune('0'+n))+`"}` {
			t.Errorf("entry %d: %s -> %d %q", n, x.Request.Target, x.Response.Status, x.Response.Body)
		}
		if strings.Contains(x.Request.Header.Get("Authorization"), "s3cr3t") {
			t.Errorf("entry %d holds the token", n)
		}
	}
	if len(exs) != 5 {
		t.Errorf("read back %d entries, want 5", len(exs))
	}
}

func TestProxyCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"proxy", "--upstream", "http://127.0.0.1:1", "-w", "x.har"},
		{"proxy", "--listen", "127.0.0.1:0", "-w", "x.har"},
		{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1"},
		{"proxy", "--listen", "127.0.0.1:0", "--upstream", "ftp://x", "-w", "x.har"},
		{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "-w", "x.txt"},
		{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "-w", "x.har", "stray"},
	} {
		var stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), io.Discard, &stderr); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line", args, code, stderr.String())
		}
	}
}
