// Package netnstest gives tests network namespaces standing in for pods
// and nodes: created with ip netns, loopback up, optionally held by a
// process as a container's processes hold theirs, and removed when the
// test ends. It takes a name and gives the namespace's path and holder.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/testenv"
)

// Netns is a network namespace a test created.
type Netns struct {
	Name string // its ip netns name
	Path string // /run/netns/NAME
	// PID is the process holding it (see Hold), 0 until there is one.
	PID int
}

// New creates the namespace name with its loopback up (removing one left
// over from a killed run), and deletes it when the test ends. It needs
// root and ip: without them the test skips (fails with CI=true).
func New(t testing.TB, name string) *Netns {
	t.Helper()
	testenv.NeedRoot(t)
	ip := testenv.NeedCommand(t, "ip")
	exec.Command(ip, "netns", "delete", name).Run() // left over from a killed run
	Run(t, ip, "netns", "add", name)
	t.Cleanup(func() { exec.Command(ip, "netns", "delete", name).Run() })
	Run(t, ip, "-n", name, "link", "set", "lo", "up")
	return &Netns{Name: name, Path: "/run/netns/" + name}
}

// Hold starts a sleep process inside the namespace, as a pod's pause
// container or a kind node's init, waits until it runs there, and kills
// it when the test ends; /proc/PID/ns/net is then the namespace. It
// returns the process, whose PID is also set in n.
func (n *Netns) Hold(t testing.TB) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", n.Name, "sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	// ip enters the namespace, then execs sleep in the same process.
	deadline := time.Now().Add(5 * time.Second)
	for {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(comm)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not exec sleep: %q %v", pid, comm, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	n.PID = pid
	return cmd
}

// Run runs a command, failing the test with its output.
func Run(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}
