package kindsim

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// netns is an open network namespace: a descriptor that keeps it entered
// cheaply, whatever happens to its name.
type netns struct {
	path string
	fd   int
}

// openNetns opens the network namespace at path (/var/run/netns/NAME or
// /proc/PID/ns/net).
func openNetns(path string) (*netns, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	return &netns{path: path, fd: fd}, nil
}

// close releases the descriptor; the namespace lives on while it is named
// or used.
func (n *netns) close() error {
	if n == nil || n.fd < 0 {
		return nil
	}
	err := unix.Close(n.fd)
	n.fd = -1
	if err != nil {
		return fmt.Errorf("close network namespace %s: %w", n.path, err)
	}
	return nil
}

// do runs fn on an OS thread that is inside the namespace. Sockets fn
// creates stay in the namespace for good, and can be used from any
// goroutine after. The thread goes back to its own namespace before any
// other goroutine may run on it; if it cannot, it stays locked and the
// runtime discards it.
func (n *netns) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := n.enter(fn)
		if restored {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// enter switches the calling locked thread into n, runs fn and switches
// back; restored is false when the thread could not get back.
func (n *netns) enter(fn func() error) (restored bool, err error) {
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("open this thread's network namespace: %w", err)
	}
	defer unix.Close(self)
	if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
		return true, fmt.Errorf("enter network namespace %s: %w", n.path, err)
	}
	ferr := fn()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		return false, ferr
	}
	return true, ferr
}

// dial connects from inside the namespace: the socket is created there,
// then used from the caller's goroutine.
func (n *netns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := n.do(func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// listen opens a listener inside the namespace.
func (n *netns) listen(ctx context.Context, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.do(func() error {
		var lc net.ListenConfig
		var err error
		ln, err = lc.Listen(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// writeSysctl sets a sysctl under /proc/sys/net inside the namespace (the
// kernel resolves those files in the opening thread's namespace).
func (n *netns) writeSysctl(name, value string) error {
	path := "/proc/sys/" + sysctlPath(name)
	return n.do(func() error {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("sysctl %s in %s: %w", name, n.path, err)
		}
		defer unix.Close(fd)
		if _, err := unix.Write(fd, []byte(value)); err != nil {
			return fmt.Errorf("sysctl %s=%s in %s: %w", name, value, n.path, err)
		}
		return nil
	})
}

// sysctlPath turns net.ipv4.ip_forward into net/ipv4/ip_forward.
func sysctlPath(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}

// sameNetns reports whether two namespace files are the same namespace.
func sameNetns(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a, err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b, err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}
