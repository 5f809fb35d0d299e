package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/testenv"
)

// ipCmd runs ip(8) and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// twoHosts makes two network namespaces joined by a veth pair and returns
// their names, the server-side interface name and both addresses.
func twoHosts(t *testing.T) (client, server, serverIf, clientIP, serverIP string) {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "ip")
	var b [3]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	client, server = "sgc-"+id, "sgs-"+id
	clientIf, serverIf := "sgc"+id, "sgs"+id
	ipCmd(t, "netns", "add", client)
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", client).Run() })
	ipCmd(t, "netns", "add", server)
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", server).Run() })
	ipCmd(t, "link", "add", clientIf, "type", "veth", "peer", "name", serverIf)
	ipCmd(t, "link", "set", clientIf, "netns", client)
	ipCmd(t, "link", "set", serverIf, "netns", server)
	// an address range that exists only between these two namespaces
	clientIP, serverIP = fmt.Sprintf("10.%d.%d.1", 200+int(b[0])%50, b[1]), fmt.Sprintf("10.%d.%d.2", 200+int(b[0])%50, b[1])
	for _, h := range []struct{ ns, ifc, ip string }{{client, clientIf, clientIP}, {server, serverIf, serverIP}} {
		ipCmd(t, "-n", h.ns, "addr", "add", h.ip+"/30", "dev", h.ifc)
		ipCmd(t, "-n", h.ns, "link", "set", h.ifc, "up")
		ipCmd(t, "-n", h.ns, "link", "set", "lo", "up")
	}
	return client, server, serverIf, clientIP, serverIP
}

// inNetns runs this test binary in helper mode inside a namespace.
func inNetns(ns, mode string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), "SPECGATE_TEST_MAIN="+mode)
	return cmd
}

// TestNetnsCapture: server and client in two namespaces joined by a veth
// pair; specgate in the root namespace captures inside the server's
// namespace, by name and by /proc/PID/ns/net, and sees every exchange.
func TestNetnsCapture(t *testing.T) {
	clientNS, serverNS, serverIf, clientIP, serverIP := twoHosts(t)

	srv := inNetns(serverNS, "server", serverIP+":8080")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("server in %s did not start: %q %v", serverNS, line, err)
	}

	dir := t.TempDir()
	byName := filepath.Join(dir, "by-name.har")
	byPID := filepath.Join(dir, "by-pid.ndjson")
	caps := []*proc{
		start(t, "specgate --netns NAME", specgateCommand("capture", "--netns", "/var/run/netns/"+serverNS, "-w", byName), "capturing on", byName, syscall.SIGTERM),
		start(t, "specgate --netns /proc/PID/ns/net -i IF", specgateCommand("capture", "--netns", "/proc/"+strconv.Itoa(srv.Process.Pid)+"/ns/net", "-i", serverIf, "-f", "tcp port 8080", "-w", byPID), "capturing on", byPID, syscall.SIGTERM),
	}

	const n = 60
	cl := inNetns(clientNS, "httpclient", "-n", strconv.Itoa(n), "http://"+serverIP+":8080")
	if out, err := cl.CombinedOutput(); err != nil {
		t.Fatalf("client in %s: %v: %s", clientNS, err, out)
	}
	time.Sleep(300 * time.Millisecond)
	for _, p := range caps {
		p.finish(t)
		es := readExchanges(t, p.out)
		if len(es) != n {
			t.Errorf("%s: %d exchanges, want %d; stderr:\n%s", p.name, len(es), n, p.stderr.String())
			continue
		}
		for i, e := range es {
			if want := fmt.Sprintf("/items/%d", i); e.Request.Target != want || e.Response.Status != 200 {
				t.Errorf("%s: exchange %d: %s -> %d, want %s -> 200", p.name, i, e.Request.Target, e.Response.Status, want)
			}
			if e.Client.Addr().String() != clientIP || e.Server.String() != serverIP+":8080" {
				t.Errorf("%s: exchange %d between %s and %s, want %s and %s:8080", p.name, i, e.Client, e.Server, clientIP, serverIP)
			}
			if want := fmt.Sprintf(`{"id":"%d","name":"item %d","tags":["a","b"]}`, i, i); string(e.Response.Body) != want {
				t.Errorf("%s: exchange %d body %q, want %q", p.name, i, e.Response.Body, want)
			}
		}
	}
}
