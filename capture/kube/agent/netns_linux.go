package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Locator finds the network namespaces of pods without asking the
// container runtime: every process of the node is visible (hostPID), and
// the namespace holding a pod's IP is the pod's. It remembers the
// addresses of each namespace it entered, by inode, so that a namespace is
// entered once however many scans see it. A Locator is not safe for
// concurrent use.
type Locator struct {
	// Proc is the proc file system to scan (default /proc).
	Proc string
	// cache holds what was read of each namespace seen by the last scan.
	cache map[nsID]nsInfo
	// entered counts the namespaces entered so far.
	entered int
}

func (l *Locator) proc() string {
	if l.Proc == "" {
		return "/proc"
	}
	return l.Proc
}

// nsID identifies a namespace: the device and inode of its nsfs file.
type nsID struct{ dev, ino uint64 }

// Locate finds the network namespace of each pod: it scans Proc/*/ns/net,
// groups the processes by namespace, reads the addresses of every
// namespace it has not seen before (entering it once, on a locked thread)
// and picks the namespace that holds a pod's IP. The host's own namespace
// (this process's and PID 1's) is never a pod's, and this process is not
// scanned. Pods it cannot place are
// returned in missed, with the reason.
func (l *Locator) Locate(pods []Pod) (found map[string]Netns, missed []Missed) {
	proc := l.proc()
	scan := l.scan(proc)
	if l.cache == nil {
		l.cache = map[nsID]nsInfo{}
	}
	next := make(map[nsID]nsInfo, len(scan.pids))
	owner := map[netip.Addr][]nsID{}
	var enterErrs []string
	ids := make([]nsID, 0, len(scan.pids))
	for id := range scan.pids {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return scan.pids[ids[i]] < scan.pids[ids[j]] })
	for _, id := range ids {
		info, ok := l.cache[id]
		if !ok || info.err != nil {
			path := filepath.Join(proc, strconv.Itoa(scan.pids[id]), "ns", "net")
			addrs, err := addrsIn(path)
			info = nsInfo{addrs: addrs, err: err}
			l.entered++
		}
		next[id] = info
		if info.err != nil {
			enterErrs = append(enterErrs, info.err.Error())
			continue
		}
		for _, a := range info.addrs {
			owner[a] = append(owner[a], id)
		}
	}
	l.cache = next

	found = map[string]Netns{}
	for _, p := range pods {
		var cand []nsID
		for _, ip := range p.IPs {
			cand = append(cand, owner[ip]...)
		}
		if len(cand) == 0 {
			missed = append(missed, Missed{Target: p.Key(), Reason: scan.reason(p, len(ids), enterErrs)})
			continue
		}
		// Several namespaces holding one pod IP should not happen; the
		// one of the oldest process (the pod's sandbox) wins.
		best := cand[0]
		for _, c := range cand[1:] {
			if scan.pids[c] < scan.pids[best] {
				best = c
			}
		}
		pid := scan.pids[best]
		found[p.Key()] = Netns{Path: filepath.Join(proc, strconv.Itoa(pid), "ns", "net"), PID: pid, Inode: best.ino}
	}
	return found, missed
}

// nsInfo is what the Locator knows of one namespace.
type nsInfo struct {
	addrs []netip.Addr
	err   error // entering it failed: retried on the next scan
}

// procScan is one pass over /proc.
type procScan struct {
	pids    map[nsID]int // lowest PID in each namespace (host's excluded)
	procs   int          // processes looked at
	denied  int          // processes whose namespace could not be read: permission
	readErr error        // /proc itself could not be read
}

func (l *Locator) scan(proc string) procScan {
	s := procScan{pids: map[nsID]int{}}
	// The host's namespace: PID 1's (hostPID shows the node's init), and
	// this thread's. Not /proc/self's: that is the main thread's, which may
	// be inside a pod's namespace right now, locked to a goroutine opening
	// a capture there; this goroutine is not locked, so its thread is in
	// the process's own namespace.
	host := map[nsID]bool{}
	if id, err := statNs(filepath.Join(proc, "1", "ns", "net")); err == nil {
		host[id] = true
	}
	if id, err := statNs("/proc/thread-self/ns/net"); err == nil {
		host[id] = true
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		s.readErr = err
		return s
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || pid == self {
			// This process's link is its main thread's namespace, which
			// may be a pod's for a moment (see above).
			continue
		}
		s.procs++
		id, err := statNs(filepath.Join(proc, e.Name(), "ns", "net"))
		if err != nil {
			// Processes exit while the scan runs (ENOENT, ESRCH); kernel
			// threads have no namespace link to follow.
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				s.denied++
			}
			continue
		}
		if host[id] {
			continue
		}
		if old, ok := s.pids[id]; !ok || pid < old {
			s.pids[id] = pid
		}
	}
	return s
}

// reason explains why no namespace holds p's addresses.
func (s procScan) reason(p Pod, namespaces int, enterErrs []string) string {
	ips := make([]string, len(p.IPs))
	for i, ip := range p.IPs {
		ips[i] = ip.String()
	}
	msg := fmt.Sprintf("no network namespace on this node holds %s (%d namespaces of %d processes scanned)", strings.Join(ips, ", "), namespaces, s.procs)
	switch {
	case s.readErr != nil:
		msg = fmt.Sprintf("cannot scan processes: %v (the agent needs hostPID)", s.readErr)
	case s.procs <= 2:
		msg += "; the agent sees almost no processes: it needs hostPID: true"
	case s.denied > 0:
		msg += fmt.Sprintf("; %d %s could not be inspected (permission denied: the agent needs CAP_SYS_PTRACE)", s.denied, plural(s.denied, "process"))
	}
	if len(enterErrs) > 0 {
		msg += fmt.Sprintf("; %d %s could not be entered (%s)", len(enterErrs), plural(len(enterErrs), "namespace"), enterErrs[0])
	}
	return msg
}

// statNs identifies the namespace a /proc/PID/ns/net link points to.
func statNs(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, err
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// addrsIn returns the interface addresses inside the network namespace at
// path. It enters the namespace on a locked OS thread of its own and
// leaves it before unlocking; a thread that cannot switch back stays
// locked, so that the runtime discards it with its goroutine.
func addrsIn(path string) ([]netip.Addr, error) {
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(target)
	type result struct {
		addrs []netip.Addr
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		addrs, restored, err := addrsOnThread(path, target)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- result{addrs, err}
	}()
	r := <-done
	return r.addrs, r.err
}

func addrsOnThread(path string, target int) (addrs []netip.Addr, restored bool, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("reading this thread's network namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, true, fmt.Errorf("entering %s: %w (the agent needs CAP_SYS_ADMIN)", path, err)
		}
		return nil, true, fmt.Errorf("entering %s: %w", path, err)
	}
	ifAddrs, aerr := net.InterfaceAddrs()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		return nil, false, fmt.Errorf("leaving %s: %w", path, err)
	}
	if aerr != nil {
		return nil, true, fmt.Errorf("reading the addresses in %s: %w", path, aerr)
	}
	for _, a := range ifAddrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				addrs = append(addrs, ip.Unmap())
			}
		}
	}
	return addrs, true, nil
}
