package kubefake

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// ServeHTTP counts the request, checks the token, and answers it from the
// routes added with Handle, then from the built-in ones.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.URL.Path]++
	s.mu.Unlock()
	if s.token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
			return
		}
	}
	s.mu.RLock()
	_, pattern := s.extra.Handler(r)
	s.mu.RUnlock()
	if pattern != "" {
		s.extra.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet {
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			"the server does not allow this method on the requested resource")
		return
	}
	s.serveGet(w, r)
}

// serveGet answers discovery, lists and GETs by name.
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	p := strings.Trim(r.URL.Path, "/")
	switch p {
	case "version":
		writeJSON(w, http.StatusOK, map[string]string{
			"major": "1", "minor": "33", "gitVersion": "v1.33.0-kubefake",
			"goVersion": "go1.26", "compiler": "gc", "platform": "linux/amd64",
		})
		return
	case "api":
		writeJSON(w, http.StatusOK, metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
			Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
				{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host},
			},
		})
		return
	case "apis":
		writeJSON(w, http.StatusOK, groupList())
		return
	}
	seg := strings.Split(p, "/")
	var group, version string
	switch {
	case len(seg) >= 2 && seg[0] == "api":
		version, seg = seg[1], seg[2:]
	case len(seg) >= 3 && seg[0] == "apis":
		group, version, seg = seg[1], seg[2], seg[3:]
	default:
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
		return
	}
	if len(seg) == 0 {
		rl, ok := resourceList(group, version)
		if !ok {
			writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
			return
		}
		writeJSON(w, http.StatusOK, rl)
		return
	}
	var ns string
	if len(seg) >= 3 && seg[0] == "namespaces" {
		ns, seg = seg[1], seg[2:]
	}
	res, ok := lookupResource(group, version, seg[0])
	if !ok || len(seg) > 2 || (ns != "" && !res.namespaced) {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
		return
	}
	if q := r.URL.Query().Get("watch"); q == "true" || q == "1" {
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			"kubefake does not support watch; list instead")
		return
	}
	if len(seg) == 2 {
		s.serveObject(w, res, ns, seg[1])
		return
	}
	s.serveList(w, r, res, ns)
}

func (s *Server) serveObject(w http.ResponseWriter, res resource, ns, name string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, it := range s.store[res.name] {
		if it.namespace == ns && it.name == name {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(it.objJSON)
			return
		}
	}
	writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound,
		res.name+" \""+name+"\" not found")
}

// list is a list response: items are pre-encoded objects.
type list struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion"`
	Metadata   metav1.ListMeta   `json:"metadata"`
	Items      []json.RawMessage `json:"items"`
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, res resource, ns string) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "unable to parse requirement: "+err.Error())
		return
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
		return
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "invalid limit "+strconv.Quote(v))
			return
		}
	}
	start := 0
	if c := q.Get("continue"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			start, err = strconv.Atoi(string(b))
		}
		if err != nil || start < 0 {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "continue key is not valid")
			return
		}
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	known := fields.Set{"metadata.name": ""}
	if res.namespaced {
		known["metadata.namespace"] = ""
	}
	if res.name == "pods" {
		for k := range podFields(&corev1.Pod{}) {
			known[k] = ""
		}
	}
	for _, req := range fs.Requirements() {
		if _, ok := known[req.Field]; !ok {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest,
				"field label not supported: "+req.Field)
			return
		}
	}
	var match []json.RawMessage
	for _, it := range s.store[res.name] {
		if ns != "" && it.namespace != ns {
			continue
		}
		if !ls.Matches(it.labels) || !fs.Matches(it.fields) {
			continue
		}
		match = append(match, it.listJSON)
	}
	out := list{Kind: res.kind + "List", APIVersion: res.apiVersion(), Items: []json.RawMessage{}}
	out.Metadata.ResourceVersion = strconv.FormatUint(s.rv, 10)
	if start > len(match) {
		start = len(match)
	}
	match = match[start:]
	if limit > 0 && len(match) > limit {
		rest := int64(len(match) - limit)
		match = match[:limit]
		out.Metadata.Continue = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start + limit)))
		if ls.Empty() && fs.Empty() {
			out.Metadata.RemainingItemCount = &rest
		}
	}
	out.Items = append(out.Items, match...)
	writeJSON(w, http.StatusOK, out)
}

// groupList is the /apis discovery document.
func groupList() metav1.APIGroupList {
	gl := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	seen := map[string]bool{}
	for _, r := range resources {
		if r.group == "" || seen[r.group] {
			continue
		}
		seen[r.group] = true
		gv := metav1.GroupVersionForDiscovery{GroupVersion: r.apiVersion(), Version: r.version}
		gl.Groups = append(gl.Groups, metav1.APIGroup{Name: r.group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv})
	}
	return gl
}

// resourceList is the /api/v1 or /apis/GROUP/VERSION discovery document.
func resourceList(group, version string) (metav1.APIResourceList, bool) {
	rl := metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}}
	for _, r := range resources {
		if r.group != group || r.version != version {
			continue
		}
		rl.GroupVersion = r.apiVersion()
		rl.APIResources = append(rl.APIResources, metav1.APIResource{
			Name: r.name, SingularName: strings.ToLower(r.kind), Namespaced: r.namespaced,
			Kind: r.kind, Verbs: metav1.Verbs{"get", "list"},
		})
	}
	return rl, rl.GroupVersion != ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeStatus answers with a metav1.Status, as the API server does for errors.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
