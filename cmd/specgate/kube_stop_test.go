package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestKubeStop: the sidecar's preStop hook stops a running specgate, which
// writes its output and exits 0, and returns only once it has.
func TestKubeStop(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	defer up.Close()
	out := filepath.Join(t.TempDir(), "out.ndjson")
	p := start(t, "proxy", specgateCommand("proxy", "--listen", "127.0.0.1:0", "--upstream", up.URL, "-w", out),
		"proxying", out, syscall.SIGTERM)
	addr := regexp.MustCompile(`proxying (\S+) ->`).FindStringSubmatch(p.stderr.String())
	if addr == nil {
		t.Fatalf("no address in %q", p.stderr.String())
	}
	const n = 5
	for i := 0; i < n; i++ {
		resp, err := http.Get("http://" + addr[1] + "/items/" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var stderr bytes.Buffer
	code := run([]string{"kube", "stop", "--pid", strconv.Itoa(p.cmd.Process.Pid), "--timeout", "10s"}, nil, io.Discard, &stderr)
	if code != 0 {
		t.Fatalf("kube stop: exit %d: %s", code, stderr.String())
	}
	// kube stop returned: the process has exited (a zombie until reaped).
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("specgate after kube stop: %v\n%s", err, p.stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != n {
		t.Fatalf("%d exchanges written, want %d", len(lines), n)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("invalid line %q", l)
		}
	}
}

// TestKubeStopRefuses: a process that is not specgate is never signalled,
// and a missing one is a usage error.
func TestKubeStopRefuses(t *testing.T) {
	for _, tc := range []struct {
		pid  string
		want string
	}{
		{strconv.Itoa(os.Getppid()), "not specgate"},
		{"0", "not a process id"},
		{"999999999", "process 999999999"},
	} {
		var stderr bytes.Buffer
		code := run([]string{"kube", "stop", "--pid", tc.pid, "--timeout", "1s"}, nil, io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("kube stop --pid %s: exit %d, %q; want 2 and one line with %q", tc.pid, code, stderr.String(), tc.want)
		}
	}
}

// TestFindCapture: PID 1 when it is specgate; in a shared process
// namespace (PID 1 is pause), the one specgate capture; never a guess.
func TestFindCapture(t *testing.T) {
	proc := func(procs map[int][2]string) string {
		dir := t.TempDir()
		for pid, p := range procs {
			d := filepath.Join(dir, strconv.Itoa(pid))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, "comm"), []byte(p[0]+"\n"), 0o644)
			os.WriteFile(filepath.Join(d, "cmdline"), []byte(strings.ReplaceAll(p[1], " ", "\x00")+"\x00"), 0o644)
		}
		return dir
	}
	for _, tc := range []struct {
		name  string
		procs map[int][2]string
		want  int
	}{
		{"own container", map[int][2]string{1: {"specgate", "/specgate capture -i any"}, 7: {"specgate", "/specgate kube stop"}}, 1},
		{"shared namespace", map[int][2]string{1: {"pause", "/pause"}, 12: {"todo", "/todo"}, 31: {"specgate", "/specgate capture -i any -w /x"}}, 31},
		{"two captures", map[int][2]string{1: {"pause", "/pause"}, 31: {"specgate", "/specgate capture"}, 32: {"specgate", "/specgate capture"}}, 1},
		{"none", map[int][2]string{1: {"pause", "/pause"}, 12: {"specgate", "/specgate proxy"}}, 1},
	} {
		if got := findCapture(proc(tc.procs)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
