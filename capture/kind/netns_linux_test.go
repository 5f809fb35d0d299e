package kind

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/testenv"
)

// TestNodeNetnsIsTheNamespace checks, with a real namespace, that a node's
// Netns is the network namespace its process runs in.
func TestNodeNetnsIsTheNamespace(t *testing.T) {
	testenv.NeedRoot(t)
	ip := testenv.NeedCommand(t, "ip")
	name := fmt.Sprintf("specgate-kind-%d", os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", name, err, out)
		}
	})
	cmd := exec.Command(ip, "netns", "exec", name, "sleep", "30")
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
		time.Sleep(10 * time.Millisecond)
	}

	f := &fakeEngine{containers: []fakeContainer{kindNode("aaa111", "ns-control-plane", "ns", "control-plane", pid)}}
	nodes, err := mustEngine(t, f.start(t)).Nodes(context.Background(), "ns")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].Pid != pid {
		t.Fatalf("nodes %+v", nodes)
	}
	got := inode(t, nodes[0].Netns)
	if want := inode(t, "/var/run/netns/"+name); got != want {
		t.Errorf("%s is namespace %v, want %v (/var/run/netns/%s)", nodes[0].Netns, got, want, name)
	}
	if self := inode(t, "/proc/self/ns/net"); got == self {
		t.Errorf("%s is the test's own namespace", nodes[0].Netns)
	}
}

// inode returns the device and inode that identify a namespace file.
func inode(t *testing.T, path string) [2]uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return [2]uint64{uint64(st.Dev), st.Ino}
}
