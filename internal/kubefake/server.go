// Package kubefake is a fake Kubernetes API server for tests: it takes typed
// k8s.io/api objects and serves them over HTTP(S) in the API server's JSON shapes.
//
// It answers GET for pods, services, nodes and namespaces (core/v1),
// replicasets (apps/v1) and jobs (batch/v1): lists across all namespaces
// (/api/v1/pods) and in one (/api/v1/namespaces/NS/pods), single objects by
// name, labelSelector and fieldSelector (metadata.name, metadata.namespace,
// and for pods spec.nodeName, status.phase, status.podIP, spec.hostNetwork),
// limit and continue. List items carry no apiVersion and kind, as the API
// server sends them; a single object does. Discovery (/api, /apis, /api/v1,
// /apis/GROUP/VERSION, /version) is legacy discovery, enough for client-go
// and kubectl.
//
// Watches (?watch=true) are not supported: they get 405 Method Not Allowed
// with a Status body, so code that needs a watch fails at once instead of
// hanging. Any method but GET gets 405 as well.
//
// Tests add routes of their own (the pod proxy, say) with [Server.Handle];
// those are served first, behind the same token check.
package kubefake

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Options configure a [Server].
type Options struct {
	// Token, when set, is the bearer token every request must carry;
	// requests without it get 401 Unauthorized.
	Token string
	// PlainHTTP serves plain HTTP instead of HTTPS. The API server and
	// kind serve HTTPS, and clients that load a kubeconfig (client-go's
	// clientcmd, kubectl) send no credentials to an http:// server, so a
	// Token only works with PlainHTTP for clients that set it themselves.
	// Over HTTPS the kubeconfig the server writes carries its CA.
	PlainHTTP bool
}

// Server is a running fake API server. It is safe for concurrent use.
type Server struct {
	// URL is the server's base URL ("https://127.0.0.1:PORT").
	URL string

	srv   *httptest.Server
	token string

	mu     sync.RWMutex
	rv     uint64
	store  map[string][]item // by resource
	counts map[string]int    // requests by URL path
	extra  *http.ServeMux
}

// item is one stored object, encoded once when it is set.
type item struct {
	namespace, name string
	labels          labels.Set
	fields          fields.Set
	listJSON        []byte // without apiVersion and kind, as in a list
	objJSON         []byte // with apiVersion and kind, as from a GET by name
}

// resource describes one kind the server knows.
type resource struct {
	group, version, name, kind string
	namespaced                 bool
}

// resources is the table of kinds the server serves.
var resources = []resource{
	{"", "v1", "pods", "Pod", true},
	{"", "v1", "services", "Service", true},
	{"", "v1", "nodes", "Node", false},
	{"", "v1", "namespaces", "Namespace", false},
	{"apps", "v1", "replicasets", "ReplicaSet", true},
	{"batch", "v1", "jobs", "Job", true},
}

func (r resource) apiVersion() string {
	if r.group == "" {
		return r.version
	}
	return r.group + "/" + r.version
}

func lookupResource(group, version, name string) (resource, bool) {
	for _, r := range resources {
		if r.group == group && r.version == version && r.name == name {
			return r, true
		}
	}
	return resource{}, false
}

// New starts a server with no objects. Close it when done.
func New(opts Options) *Server {
	s := &Server{
		token:  opts.Token,
		rv:     1,
		store:  map[string][]item{},
		counts: map[string]int{},
		extra:  http.NewServeMux(),
	}
	s.srv = httptest.NewUnstartedServer(s)
	// Clients that go away mid-handshake are no news in tests.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.PlainHTTP {
		s.srv.Start()
	} else {
		s.srv.StartTLS()
	}
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, closing open connections.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Handle adds a route served before the built-in ones, with
// http.ServeMux's pattern syntax ("GET /api/v1/namespaces/{ns}/pods/{name}/proxy/{path...}").
// It returns an error for a pattern ServeMux rejects or one already added.
func (s *Server) Handle(pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kubefake: handle %q: %v", pattern, r)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra.Handle(pattern, h)
	return nil
}

// Requests returns how many requests the server received for the URL
// path (query not included), whatever their answer.
func (s *Server) Requests(path string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.counts[path]
}

// RequestCounts returns a copy of the request counts by URL path.
func (s *Server) RequestCounts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		m[k] = v
	}
	return m
}

// SetPods replaces the stored pods with copies of pods.
func (s *Server) SetPods(pods ...corev1.Pod) { put(s, "pods", true, pods, podFields) }

// AddPods adds copies of pods to the stored ones.
func (s *Server) AddPods(pods ...corev1.Pod) { put(s, "pods", false, pods, podFields) }

// SetServices replaces the stored services with copies of svcs.
func (s *Server) SetServices(svcs ...corev1.Service) { put(s, "services", true, svcs, nil) }

// SetNodes replaces the stored nodes with copies of nodes.
func (s *Server) SetNodes(nodes ...corev1.Node) { put(s, "nodes", true, nodes, nil) }

// SetNamespaces replaces the stored namespaces with copies of nss.
func (s *Server) SetNamespaces(nss ...corev1.Namespace) { put(s, "namespaces", true, nss, nil) }

// SetReplicaSets replaces the stored replica sets with copies of rss.
func (s *Server) SetReplicaSets(rss ...appsv1.ReplicaSet) { put(s, "replicasets", true, rss, nil) }

// SetJobs replaces the stored jobs with copies of jobs.
func (s *Server) SetJobs(jobs ...batchv1.Job) { put(s, "jobs", true, jobs, nil) }

// podFields gives the pod fields the API server lets a fieldSelector use
// (besides metadata.name and metadata.namespace).
func podFields(p *corev1.Pod) fields.Set {
	return fields.Set{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

// object is what put needs of a k8s.io/api type's pointer.
type object[T any] interface {
	*T
	metav1.Object
	runtime.Object
}

// put encodes copies of objs and stores them under res, replacing what is
// there when replace is set. Objects without a resourceVersion get the
// server's next one.
func put[T any, P object[T]](s *Server, res string, replace bool, objs []T, extra func(P) fields.Set) {
	var r resource
	for _, x := range resources {
		if x.name == res {
			r = x
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []item
	if !replace {
		items = s.store[res]
	}
	for i := range objs {
		o := P(new(T))
		*o = objs[i]
		s.rv++
		if o.GetResourceVersion() == "" {
			o.SetResourceVersion(strconv.FormatUint(s.rv, 10))
		}
		f := fields.Set{"metadata.name": o.GetName()}
		if r.namespaced {
			f["metadata.namespace"] = o.GetNamespace()
		}
		if extra != nil {
			for k, v := range extra(o) {
				f[k] = v
			}
		}
		it := item{namespace: o.GetNamespace(), name: o.GetName(), labels: labels.Set(maps.Clone(o.GetLabels())), fields: f}
		o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		it.listJSON, _ = json.Marshal(o)
		o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: r.group, Version: r.version, Kind: r.kind})
		it.objJSON, _ = json.Marshal(o)
		items = append(items, it)
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].namespace != items[j].namespace {
			return items[i].namespace < items[j].namespace
		}
		return items[i].name < items[j].name
	})
	s.store[res] = items
}
