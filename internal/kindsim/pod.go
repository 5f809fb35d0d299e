package kindsim

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
)

// MaxServed bounds each pod's log of served requests; requests past it are
// only counted.
const MaxServed = 1 << 16

// Pod is one of the demo's pods: a network namespace on a veth to the
// node, with a process in it (as a pod's pause container) and its app
// serving on Port.
type Pod struct {
	Name         string // as Kubernetes names it: todo-HASH-SUFFIX
	Namespace    string // Kubernetes namespace
	App          string // AppTodo or AppStats: its label app=App
	IP           netip.Addr
	Port         int    // the container port the app serves on
	Netns        string // /var/run/netns/skind-PID-CLUSTER-APP
	PID          int    // the pod's process, in Netns
	HostVeth     string // the node's end of its veth, in the node's namespace
	TemplateHash string // its pod-template-hash label

	nsName string
	ns     *netns

	mu     sync.Mutex
	served []Served
	total  int
}

// Served is one request a pod's app answered, as its server saw it.
type Served struct {
	Method    string
	Target    string // the request target (path and query)
	Status    int
	UserAgent string
	Client    netip.AddrPort // the peer: after any DNAT and masquerade
	Server    netip.AddrPort // the pod's own address for the connection
}

// DialContext connects from inside the pod's namespace, as the pod's
// processes do; the connection is then usable from any goroutine. It fits
// http.Transport.DialContext.
func (p *Pod) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.ns.dial(ctx, network, addr)
}

// Listen opens a listener inside the pod's namespace.
func (p *Pod) Listen(ctx context.Context, network, addr string) (net.Listener, error) {
	return p.ns.listen(ctx, network, addr)
}

// Do runs fn on a thread inside the pod's namespace; sockets it opens stay
// there.
func (p *Pod) Do(fn func() error) error { return p.ns.do(fn) }

// Served returns the requests the pod's app answered since New returned
// or ResetServed, oldest first, at most MaxServed.
func (p *Pod) Served() []Served {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.served)
}

// ServedTotal returns how many requests the pod's app answered since New
// returned or ResetServed, including those past MaxServed.
func (p *Pod) ServedTotal() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// ResetServed empties the log of served requests.
func (p *Pod) ResetServed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.served, p.total = nil, 0
}

// record wraps the pod's app so that each answered request is logged.
func (p *Pod) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		s := Served{Method: r.Method, Target: r.RequestURI, Status: sw.status, UserAgent: r.UserAgent()}
		if s.Status == 0 {
			s.Status = http.StatusOK
		}
		s.Client, _ = netip.ParseAddrPort(r.RemoteAddr)
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
			ap := a.AddrPort()
			s.Server = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
		p.mu.Lock()
		if len(p.served) < MaxServed {
			p.served = append(p.served, s)
		}
		p.total++
		p.mu.Unlock()
	})
}

// statusWriter remembers the status an app answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
