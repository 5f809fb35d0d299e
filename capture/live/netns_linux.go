package live

import (
	"errors"
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// Interfaces lists the interfaces inside the network namespace at the path
// netns ("" is the current namespace), for messages and --list-interfaces.
func Interfaces(netns string) ([]net.Interface, error) {
	var ifs []net.Interface
	err := inNetns(netns, func() error {
		var err error
		ifs, err = net.Interfaces()
		if err != nil {
			return fmt.Errorf("listing interfaces: %w", err)
		}
		return nil
	})
	return ifs, err
}

// InNetns runs fn inside the network namespace at path ("" runs it here),
// on a dedicated locked OS thread: sockets fn creates (listeners, dialed
// connections) belong to that namespace for good, and may then be used
// from any goroutine. Entering another namespace needs CAP_SYS_ADMIN.
func InNetns(path string, fn func() error) error { return inNetns(path, fn) }

// inNetns runs fn inside the network namespace at path ("" runs it here).
// Sockets fn creates belong to that namespace for good. The namespace is
// entered on a dedicated locked OS thread; if the thread cannot switch
// back, it stays locked so that the runtime discards it.
func inNetns(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := openNetns(path)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := runInNetns(path, target, fn)
		if restored {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// runInNetns switches the calling (locked) thread into target, runs fn and
// switches back; restored is false when the thread is left elsewhere.
func runInNetns(path string, target int, fn func() error) (restored bool, err error) {
	self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	orig, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, wrapf(err, "network namespace %s: reading the current namespace %s: %v", path, self, err)
	}
	defer unix.Close(orig)
	if sameFile(orig, target) {
		return true, fn() // already there: no CAP_SYS_ADMIN needed
	}
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return true, setnsError(path, err)
	}
	ferr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		return false, ferr
	}
	return true, ferr
}

// openNetns opens path and checks that it is a network namespace.
func openNetns(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return -1, wrapf(err, "network namespace %s: no such file; give /proc/PID/ns/net or /var/run/netns/NAME (see 'ip netns list')", path)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return -1, wrapf(err, "network namespace %s: permission denied: entering a namespace needs root (CAP_SYS_ADMIN); run with sudo, or read a capture file with -r", path)
	case err != nil:
		return -1, wrapf(err, "network namespace %s: %v", path, err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		unix.Close(fd)
		return -1, wrapf(err, "network namespace %s: %v", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return -1, wrapf(unix.EINVAL, "%s is not a network namespace; give /proc/PID/ns/net or /var/run/netns/NAME", path)
	}
	// Kernels before 4.11 lack NS_GET_NSTYPE; setns then tells (EINVAL).
	if t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err == nil && t != unix.CLONE_NEWNET {
		unix.Close(fd)
		return -1, wrapf(unix.EINVAL, "%s is not a network namespace (it is a %s namespace); give /proc/PID/ns/net or /var/run/netns/NAME", path, nsKind(t))
	}
	return fd, nil
}

// setnsError explains a failed setns.
func setnsError(path string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return wrapf(err, "entering network namespace %s: permission denied: it needs CAP_SYS_ADMIN; run as root or with sudo, or read a capture file with -r", path)
	case errors.Is(err, unix.EINVAL):
		return wrapf(err, "%s is not a network namespace; give /proc/PID/ns/net or /var/run/netns/NAME", path)
	}
	return wrapf(err, "entering network namespace %s: %v", path, err)
}

// sameFile reports whether two descriptors refer to the same file.
func sameFile(a, b int) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// nsKind names a namespace type returned by NS_GET_NSTYPE.
func nsKind(t int) string {
	switch t {
	case unix.CLONE_NEWNS:
		return "mount"
	case unix.CLONE_NEWUTS:
		return "UTS"
	case unix.CLONE_NEWIPC:
		return "IPC"
	case unix.CLONE_NEWUSER:
		return "user"
	case unix.CLONE_NEWPID:
		return "PID"
	case unix.CLONE_NEWCGROUP:
		return "cgroup"
	case unix.CLONE_NEWTIME:
		return "time"
	}
	return fmt.Sprintf("type %#x", t)
}
