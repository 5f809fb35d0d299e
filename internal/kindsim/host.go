package kindsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Names and ranges on the host that clusters share.
const (
	// nsPrefix begins every namespace's name: skind-PID-CLUSTER-ROLE.
	nsPrefix = "skind-"
	// linkPrefix begins the host side of each node's veth: skSSpPID,
	// with SS the slot.
	linkPrefix = "sk"
	// engineDirPrefix begins the fake engine's socket directory:
	// kindsim-PID-*.
	engineDirPrefix = "kindsim-"
	// slots is how many clusters may run at once on one host: slot s
	// has the docker network 172.31.(240+s).0/24.
	slots = 16
	// netnsDir is where ip netns names namespaces.
	netnsDir = "/var/run/netns"
)

// dockerNetwork returns slot's docker network.
func dockerNetwork(slot int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 31, byte(240 + slot), 0}), 24)
}

// hostLinkName returns the host side of the node veth of slot, for pid.
func hostLinkName(slot, pid int) string {
	return fmt.Sprintf("%s%02dp%d", linkPrefix, slot, pid)
}

// parseHostLink reads a name hostLinkName made.
func parseHostLink(name string) (slot, pid int, ok bool) {
	rest, found := strings.CutPrefix(name, linkPrefix)
	if !found || len(rest) < 4 || rest[2] != 'p' {
		return 0, 0, false
	}
	slot, err1 := strconv.Atoi(rest[:2])
	pid, err2 := strconv.Atoi(rest[3:])
	if err1 != nil || err2 != nil || slot < 0 || slot >= slots || pid <= 0 || strconv.Itoa(pid) != rest[3:] {
		return 0, 0, false
	}
	return slot, pid, true
}

// parseNetnsName reads the pid from a namespace name: skind-PID-...
func parseNetnsName(name string) (pid int, ok bool) {
	rest, found := strings.CutPrefix(name, nsPrefix)
	if !found {
		return 0, false
	}
	digits, _, found := strings.Cut(rest, "-")
	if !found {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != digits {
		return 0, false
	}
	return pid, true
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// run runs a command and returns its error with its output, on one line.
func run(ctx context.Context, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.Join(strings.Fields(string(out)), " ")
		if msg != "" {
			msg = ": " + msg
		}
		return fmt.Errorf("%s %s: %w%s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}

// hostLock serializes slot choice between processes: the lock is held
// while leftovers are removed and the chosen slot's link is created.
type hostLock struct{ f *os.File }

// lockHost takes the host-wide lock, waiting up to ctx.
func lockHost(ctx context.Context) (*hostLock, error) {
	dir := "/run/lock"
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, "specgate-kindsim.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &hostLock{f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *hostLock) unlock() { l.f.Close() } // closing drops the flock

// removeLeftovers deletes what a run that died without Close left behind:
// namespaces, host links and engine socket directories whose process is
// gone. It is best effort: what cannot be removed is left.
func removeLeftovers(ctx context.Context) {
	if entries, err := os.ReadDir(netnsDir); err == nil {
		for _, e := range entries {
			pid, ok := parseNetnsName(e.Name())
			if !ok || alive(pid) {
				continue
			}
			killNetnsProcesses(ctx, e.Name())
			_ = run(ctx, "", "ip", "netns", "delete", e.Name())
		}
	}
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifc := range ifs {
			if _, pid, ok := parseHostLink(ifc.Name); ok && !alive(pid) {
				_ = run(ctx, "", "ip", "link", "delete", ifc.Name)
			}
		}
	}
	if entries, err := os.ReadDir(os.TempDir()); err == nil {
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), engineDirPrefix)
			digits, _, _ := strings.Cut(rest, "-")
			if pid, err := strconv.Atoi(digits); ok && e.IsDir() && err == nil && pid > 0 && !alive(pid) {
				_ = os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
			}
		}
	}
}

// killNetnsProcesses kills what still runs in a leftover namespace (a node
// or pod process whose parent died without taking it along).
func killNetnsProcesses(ctx context.Context, name string) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "pids", name).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// freeSlot returns a slot that no live cluster holds and whose docker
// network overlaps no address of this host.
func freeSlot() (int, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, fmt.Errorf("list interfaces: %w", err)
	}
	used := make([]bool, slots)
	var prefixes []netip.Prefix
	for _, ifc := range ifs {
		if s, _, ok := parseHostLink(ifc.Name); ok {
			used[s] = true
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if p, err := netip.ParsePrefix(n.String()); err == nil {
					prefixes = append(prefixes, p.Masked())
				}
			}
		}
	}
	for s := range slots {
		if used[s] {
			continue
		}
		overlaps := false
		for _, p := range prefixes {
			if p.Overlaps(dockerNetwork(s)) {
				overlaps = true
				break
			}
		}
		if !overlaps {
			return s, nil
		}
	}
	return 0, fmt.Errorf("no free slot: %d simulated clusters already run on this host, or their ranges 172.31.240.0/20 are in use", slots)
}
