// Package redistest starts a throwaway redis-server for a test: it takes a
// testing.TB and gives the server's redis:// URL, stopping it at cleanup.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/testenv"
)

// Start runs redis-server on a free loopback port, in a temporary
// directory, with persistence off, and returns its URL (database 0). The
// test skips without redis-server on PATH, and fails in CI (CI=true).
func Start(t testing.TB) string {
	t.Helper()
	bin := testenv.NeedCommand(t, "redis-server")
	var lastErr error
	// A free port can be taken between choosing it and the server binding
	// it; try a few.
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		url, err := start(t, bin, port)
		if err == nil {
			return url
		}
		lastErr = err
	}
	t.Fatalf("redistest: %v", lastErr)
	return ""
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func start(t testing.TB, bin string, port int) (string, error) {
	dir := t.TempDir()
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--loglevel", "warning", "--logfile", "")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(addr) {
			t.Cleanup(stop)
			return "redis://" + addr + "/0", nil
		}
		select {
		case <-exited:
			return "", fmt.Errorf("redis-server on port %d exited: %s", port, strings.TrimSpace(out.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("redis-server on port %d did not answer PING within 10s: %s", port, strings.TrimSpace(out.String()))
		}
	}
}

// ping reports whether a Redis server answers PING at addr. It speaks the
// inline protocol so that it tests the server, not the client under test.
func ping(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
