package kind

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/specgate/specgate/internal/netnstest"
)

// TestNodeNetnsIsTheNamespace checks, with a real namespace, that a node's
// Netns is the network namespace its process runs in.
func TestNodeNetnsIsTheNamespace(t *testing.T) {
	ns := netnstest.New(t, fmt.Sprintf("specgate-kind-%d", os.Getpid()))
	ns.Hold(t)
	pid, name := ns.PID, ns.Name

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
