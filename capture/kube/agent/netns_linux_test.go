package agent

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/netnstest"
	"github.com/specgate/specgate/internal/testenv"
)

// podNetns is a network namespace standing in for a pod's: created with
// ip netns, held by a sleep process as a container's processes hold
// theirs.
type podNetns struct {
	name string // ip netns name
	path string // /run/netns/NAME
	pid  int    // the sleep process inside
}

// run runs a command, failing the test with its output.
func run(t *testing.T, args ...string) { t.Helper(); netnstest.Run(t, args...) }

// newPodNetns creates a namespace with lo up, starts a sleep process in it
// and removes both at the end of the test.
func newPodNetns(t *testing.T, name string) *podNetns {
	t.Helper()
	n := netnstest.New(t, name)
	n.Hold(t)
	return &podNetns{name: n.Name, path: n.Path, pid: n.PID}
}

// link joins two namespaces with a veth pair, each end with its
// addresses, as the pods of a node are joined through their veths.
func link(t *testing.T, a *podNetns, aAddrs []string, b *podNetns, bAddrs []string) {
	t.Helper()
	run(t, "ip", "-n", a.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.name)
	for _, x := range []struct {
		n     *podNetns
		addrs []string
	}{{a, aAddrs}, {b, bAddrs}} {
		for _, addr := range x.addrs {
			run(t, "ip", "-n", x.n.name, "addr", "add", addr, "dev", "eth0")
		}
		run(t, "ip", "-n", x.n.name, "link", "set", "eth0", "up")
	}
}

// inode identifies the namespace a path points to.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// fakeProc builds a proc directory holding only the given processes'
// ns/net links, so that a scan sees those alone.
func fakeProc(t *testing.T, pids ...int) string {
	t.Helper()
	dir := t.TempDir()
	for _, pid := range pids {
		d := filepath.Join(dir, fmt.Sprint(pid), "ns")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(fmt.Sprintf("/proc/%d/ns/net", pid), filepath.Join(d, "net")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLocatorFindsPodsByTheirAddresses(t *testing.T) {
	tag := fmt.Sprintf("sga%d", os.Getpid()%100000)
	a := newPodNetns(t, tag+"-a")
	b := newPodNetns(t, tag+"-b")
	link(t, a, []string{"10.201.0.5/24", "fd01::5/64"}, b, []string{"10.201.0.6/24"})
	// A second process in b: the namespace is still entered once.
	b2 := exec.Command("ip", "netns", "exec", b.name, "sleep", "300")
	if err := b2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b2.Process.Kill(); b2.Wait() })
	time.Sleep(50 * time.Millisecond)

	pods := []Pod{
		{Namespace: "shop", Name: "cart", IPs: []netip.Addr{netip.MustParseAddr("10.201.0.5")}},
		{Namespace: "shop", Name: "v6", IPs: []netip.Addr{netip.MustParseAddr("fd01::5")}},
		{Namespace: "shop", Name: "pay", IPs: []netip.Addr{netip.MustParseAddr("10.201.0.6")}},
		{Namespace: "shop", Name: "ghost", IPs: []netip.Addr{netip.MustParseAddr("10.201.0.99")}},
	}
	proc := fakeProc(t, a.pid, b.pid, b2.Process.Pid)
	// This process, its main thread in b for a moment (as when it opens a
	// capture there): not a holder of b to name, the link moves on.
	self := filepath.Join(proc, fmt.Sprint(os.Getpid()), "ns")
	if err := os.MkdirAll(self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(b.path, filepath.Join(self, "net")); err != nil {
		t.Fatal(err)
	}
	l := &Locator{Proc: proc}
	found, missed := l.Locate(pods)
	for pod, ns := range map[string]*podNetns{"shop/cart": a, "shop/v6": a, "shop/pay": b} {
		got, ok := found[pod]
		if !ok {
			t.Errorf("%s not found (missed %v)", pod, missed)
			continue
		}
		if got.Inode != inode(t, ns.path) || inode(t, got.Path) != inode(t, ns.path) {
			t.Errorf("%s placed in %+v, want the namespace %s", pod, got, ns.name)
		}
	}
	if found["shop/pay"].PID != min(b.pid, b2.Process.Pid) {
		t.Errorf("pay's namespace named by PID %d, want the oldest process %d", found["shop/pay"].PID, b.pid)
	}
	if len(missed) != 1 || missed[0].Target != "shop/ghost" || !strings.Contains(missed[0].Reason, "10.201.0.99") {
		t.Errorf("missed %+v, want shop/ghost with its address", missed)
	}
	if l.entered != 2 {
		t.Errorf("entered %d namespaces, want 2 (the test's own is the host's)", l.entered)
	}
	// A second scan enters nothing new.
	l.Locate(pods)
	if l.entered != 2 {
		t.Errorf("a second scan entered %d more namespaces", l.entered-2)
	}
}

func TestLocatorExplainsWhatItCannotSee(t *testing.T) {
	testenv.NeedRoot(t)
	pod := Pod{Namespace: "shop", Name: "cart", IPs: []netip.Addr{netip.MustParseAddr("10.201.0.5")}}
	for _, c := range []struct {
		name, proc, want string
	}{
		{"no proc", filepath.Join(t.TempDir(), "missing"), "cannot scan processes"},
		{"no hostPID", fakeProc(t, os.Getpid()), "hostPID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, missed := (&Locator{Proc: c.proc}).Locate([]Pod{pod})
			if len(missed) != 1 || !strings.Contains(missed[0].Reason, c.want) {
				t.Errorf("missed %+v, want a reason with %q", missed, c.want)
			}
		})
	}
}

// TestLocatorNeedsSysPtrace shows why the DaemonSet adds CAP_SYS_PTRACE:
// with NET_RAW and SYS_ADMIN alone (every other capability dropped, as in
// deploy/agent.yaml), a pod's processes are out of reach and the pod is
// missed with that reason; with SYS_PTRACE added it is found.
func TestLocatorNeedsSysPtrace(t *testing.T) {
	if os.Getenv("SPECGATE_LOCATE_HELPER") != "" {
		return
	}
	capsh := testenv.NeedCommand(t, "capsh")
	tag := fmt.Sprintf("sgp%d", os.Getpid()%100000)
	a := newPodNetns(t, tag+"-a")
	b := newPodNetns(t, tag+"-b")
	link(t, a, []string{"10.202.0.5/24"}, b, []string{"10.202.0.6/24"})
	out, err := exec.Command(capsh, "--print").Output()
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "Bounding set ="); ok {
			all = strings.Split(strings.TrimSpace(rest), ",")
		}
	}
	for _, c := range []struct {
		keep []string
		want string
	}{
		{[]string{"cap_net_raw", "cap_sys_admin"}, "missed: no network namespace on this node holds 10.202.0.5"},
		{[]string{"cap_net_raw", "cap_sys_admin", "cap_sys_ptrace"}, "found"},
	} {
		var drop []string
		for _, cp := range all {
			if !slices.Contains(c.keep, cp) {
				drop = append(drop, cp)
			}
		}
		cmd := exec.Command(capsh, "--drop="+strings.Join(drop, ","), "--", "-c", `exec "$0" -test.run='^TestHelperLocate$' -test.v`, os.Args[0])
		cmd.Env = append(os.Environ(), "SPECGATE_LOCATE_HELPER=10.202.0.5")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper with %v: %v\n%s", c.keep, err, out)
		}
		if !strings.Contains(string(out), "LOCATE "+c.want) {
			t.Errorf("with %v the helper said\n%s\nwant %q", c.keep, out, c.want)
		}
		if c.want != "found" && !strings.Contains(string(out), "CAP_SYS_PTRACE") {
			t.Errorf("the reason does not name CAP_SYS_PTRACE:\n%s", out)
		}
	}
}

// TestHelperLocate is run by TestLocatorNeedsSysPtrace with reduced
// capabilities; it does nothing otherwise.
func TestHelperLocate(t *testing.T) {
	ip := os.Getenv("SPECGATE_LOCATE_HELPER")
	if ip == "" {
		t.Skip("helper of TestLocatorNeedsSysPtrace")
	}
	pod := Pod{Namespace: "shop", Name: "cart", IPs: []netip.Addr{netip.MustParseAddr(ip)}}
	found, missed := (&Locator{}).Locate([]Pod{pod})
	if _, ok := found[pod.Key()]; ok {
		fmt.Println("LOCATE found")
		return
	}
	fmt.Printf("LOCATE missed: %s\n", missed[0].Reason)
}
