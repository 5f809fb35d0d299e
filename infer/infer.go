package infer

import (
	"sort"
	"strconv"
	"strings"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/infer/paths"
	"github.com/specgate/specgate/infer/schema"
)

// Options configure an Inferrer. The zero value is ready to use.
type Options struct {
	// VariableMin is the number of distinct names under one path segment
	// at which that position becomes a parameter (default 20).
	VariableMin int
	// Schema configures the JSON schemas (enums, maps, depth).
	Schema schema.Options
	// Baselines maps a service name to the path templates of its
	// baseline document; concrete paths match them first. The key ""
	// applies to every service without an entry of its own.
	Baselines map[string][]string
	// Caller names the client of an exchange in the callers of an
	// operation; nil uses DefaultCaller.
	Caller func(*capture.Exchange) string
	// Secrets tells credentials from parameters and keeps them out of enum
	// values; nil uses the default redaction rules.
	Secrets *redact.Redactor
}

// Stats counts what an Inferrer was given and what it could not use.
type Stats struct {
	// Exchanges is the number of exchanges observed.
	Exchanges int64 `json:"exchanges"`
	// Unanswered counts exchanges without a response: they are not
	// evidence of what an operation returns.
	Unanswered int64 `json:"unanswered"`
	// Unsupported counts requests OpenAPI cannot describe: methods other
	// than GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH and TRACE,
	// targets that are not paths (CONNECT, OPTIONS *), and paths of more
	// than paths.MaxSegments segments.
	Unsupported int64 `json:"unsupported"`
	// Truncated counts bodies cut short (by the body limit or lost
	// packets): their media type is recorded, their schema is not.
	Truncated int64 `json:"truncatedBodies"`
	// Unparsed counts JSON bodies that did not parse.
	Unparsed int64 `json:"unparsedBodies"`
	// Documents is the number of earlier documents merged in.
	Documents int64 `json:"documents"`
}

// Inferrer accumulates observations of exchanges, per service. It is not
// safe for concurrent use; infer shards in parallel with several
// Inferrers and merge their documents.
type Inferrer struct {
	opts     Options
	secrets  *redact.Redactor
	services map[string]*service
	stats    Stats
	media    map[string]mediaKind // parsed Content-Type values
}

// New returns an empty Inferrer.
func New(opts Options) *Inferrer {
	in := &Inferrer{opts: opts, secrets: opts.Secrets, services: map[string]*service{}, media: map[string]mediaKind{}}
	if in.secrets == nil {
		in.secrets = redact.New(redact.Options{})
	}
	// Enum values are the only values a document holds: the same rules
	// that redact captures keep credentials out of them.
	in.opts.Schema.Secrets = in.secrets
	if in.opts.Caller == nil {
		in.opts.Caller = DefaultCaller
	}
	return in
}

// Stats returns the counts so far.
func (in *Inferrer) Stats() Stats { return in.stats }

// Services returns the names of the services seen, sorted.
func (in *Inferrer) Services() []string {
	names := make([]string, 0, len(in.services))
	for n := range in.services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// service holds the observations of one service.
type service struct {
	name    string
	trie    *paths.Trie[*pathObs]
	servers map[string]struct{}
	// lastHost is the Host of the last origin-form request whose server
	// URL is in servers.
	lastHost string
}

func (in *Inferrer) service(name string) *service {
	s := in.services[name]
	if s == nil {
		base, ok := in.opts.Baselines[name]
		if !ok {
			base = in.opts.Baselines[""]
		}
		po := paths.Options{VariableMin: in.opts.VariableMin, Baseline: base}
		so := &in.opts.Schema
		newPath := func() *pathObs { return &pathObs{ops: map[string]*opObs{}, so: so} }
		s = &service{name: name, trie: paths.New(po, newPath, mergePathObs), servers: map[string]struct{}{}}
		in.services[name] = s
	}
	return s
}

// pathObs holds the operations observed on one path template.
type pathObs struct {
	ops map[string]*opObs // by lower-case method
	so  *schema.Options
}

func (p *pathObs) op(method string) *opObs {
	o := p.ops[method]
	if o == nil {
		o = newOpObs(p.so)
		p.ops[method] = o
	}
	return o
}

// mergePathObs folds src into dst; folds name the static segments of src
// that are parameter values in dst.
func mergePathObs(dst, src *pathObs, folds []paths.Fold) {
	for m, so := range src.ops {
		do := dst.op(m)
		for _, f := range folds {
			if _, ok := so.pathParams[f.Index]; ok {
				continue
			}
			sh := do.pathParam(f.Index)
			sh.ObserveText(f.Value, so.samples)
		}
		do.merge(so)
	}
}

// paramKey names a query, header or cookie parameter.
type paramKey struct {
	in   string // "query", "header", "cookie"
	name string
}

// paramObs is one parameter of an operation.
type paramObs struct {
	present int64
	shape   *schema.Shape
}

// bodyObs is the body of one media type.
type bodyObs struct {
	samples int64
	shape   *schema.Shape // nil for media types described by type alone
}

// respObs is one response status of an operation.
type respObs struct {
	samples int64
	content map[string]*bodyObs
}

// opObs holds the observations of one operation.
type opObs struct {
	samples    int64
	accepted   int64 // requests not refused with 4xx: what params and bodies describe
	pathParams map[int]*schema.Shape
	params     map[paramKey]*paramObs
	security   map[string]struct{} // requirement: scheme names joined by ' '; "" is none
	body       map[string]*bodyObs
	bodies     int64 // requests with a body
	responses  map[string]*respObs
	callers    callerSet
	so         *schema.Options // what shapes are made with
}

func newOpObs(so *schema.Options) *opObs {
	return &opObs{
		so:         so,
		pathParams: map[int]*schema.Shape{},
		params:     map[paramKey]*paramObs{},
		security:   map[string]struct{}{},
		body:       map[string]*bodyObs{},
		responses:  map[string]*respObs{},
	}
}

func (o *opObs) pathParam(i int) *schema.Shape {
	s := o.pathParams[i]
	if s == nil {
		s = schema.NewWithOptions(*o.so)
		o.pathParams[i] = s
	}
	return s
}

func (o *opObs) param(in, name string) *paramObs {
	k := paramKey{in, name}
	p := o.params[k]
	if p == nil {
		p = &paramObs{shape: schema.NewWithOptions(*o.so)}
		o.params[k] = p
	}
	return p
}

func (o *opObs) response(code string) *respObs {
	r := o.responses[code]
	if r == nil {
		r = &respObs{content: map[string]*bodyObs{}}
		o.responses[code] = r
	}
	return r
}

func bodyOf(m map[string]*bodyObs, mt string, described bool, so *schema.Options) *bodyObs {
	b := m[mt]
	if b == nil {
		b = &bodyObs{}
		if described {
			b.shape = schema.NewWithOptions(*so)
		}
		m[mt] = b
	}
	return b
}

// merge adds src's observations to o.
func (o *opObs) merge(src *opObs) {
	o.samples += src.samples
	o.accepted += src.accepted
	for i, s := range src.pathParams {
		o.pathParam(i).Merge(s)
	}
	for k, p := range src.params {
		d := o.param(k.in, k.name)
		d.present += p.present
		d.shape.Merge(p.shape)
	}
	for k := range src.security {
		o.security[k] = struct{}{}
	}
	mergeBodies(o.body, src.body, o.so)
	o.bodies += src.bodies
	for c, r := range src.responses {
		d := o.response(c)
		d.samples += r.samples
		mergeBodies(d.content, r.content, o.so)
	}
	o.callers.merge(&src.callers)
}

func mergeBodies(dst, src map[string]*bodyObs, so *schema.Options) {
	for mt, b := range src {
		d := bodyOf(dst, mt, b.shape != nil, so)
		d.samples += b.samples
		if b.shape != nil {
			d.shape.Merge(b.shape)
		}
	}
}

// routed reports whether the operation was ever answered with something
// other than 404 or 405: an operation only ever refused is not one.
func (o *opObs) routed() bool {
	for c := range o.responses {
		if c != "404" && c != "405" {
			return true
		}
	}
	return false
}

// maxCallers bounds the callers kept per operation.
const maxCallers = 32

// callerSet keeps the maxCallers first caller names in byte order, and
// whether there were more: a bounded set that merges exactly.
type callerSet struct {
	names []string // sorted
	more  bool
}

func (c *callerSet) add(name string) {
	if name == "" {
		return
	}
	i := sort.SearchStrings(c.names, name)
	if i < len(c.names) && c.names[i] == name {
		return
	}
	if len(c.names) == maxCallers {
		c.more = true
		if i == maxCallers {
			return
		}
		c.names = c.names[:maxCallers-1]
	}
	c.names = append(c.names, "")
	copy(c.names[i+1:], c.names[i:])
	c.names[i] = name
}

func (c *callerSet) merge(o *callerSet) {
	c.more = c.more || o.more
	for _, n := range o.names {
		c.add(n)
	}
}

// genericAgents are User-Agent products of HTTP libraries and tools: they
// say nothing about which service is calling.
var genericAgents = map[string]bool{
	"go-http-client": true, "curl": true, "wget": true, "python-requests": true,
	"python-urllib": true, "python-httpx": true, "aiohttp": true, "httpx": true,
	"okhttp": true, "java": true, "apache-httpclient": true, "axios": true,
	"node-fetch": true, "undici": true, "node": true, "mozilla": true,
	"postmanruntime": true, "k6": true, "deno": true, "dart": true, "ruby": true,
	"faraday": true, "insomnia": true, "httpie": true, "libcurl": true,
	"reqwest": true, "vert.x-webclient": true, "grpc-go": true, "got": true,
	"rest-client": true, "restsharp": true, "dotnet": true, "php": true,
	"guzzlehttp": true, "playwright": true, "jetty": true, "hc": true,
}

// DefaultCaller names the client of e by the name the platform gave it
// (Exchange.Caller, as "default/todo") when a resolver set one, else by its
// User-Agent product when that names an application ("billing-service/2.3"
// → "billing-service"), else by its address without the port; "" when none
// is known.
func DefaultCaller(e *capture.Exchange) string {
	if e.Caller != "" {
		return e.Caller
	}
	ua := e.Request.Header.Get("User-Agent")
	if i := strings.IndexAny(ua, "/ ("); i >= 0 {
		ua = ua[:i]
	}
	if ua != "" && len(ua) <= 64 && !genericAgents[strings.ToLower(ua)] && isToken(ua) {
		return ua
	}
	if e.Client.IsValid() {
		return e.Client.Addr().Unmap().String()
	}
	return ""
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// ServiceName returns the service an exchange went to: the name the
// platform gave it (Exchange.Service, as "default/todo-service") when a
// resolver set one, else its Host (lower case, without a trailing dot),
// else the server address and port.
func ServiceName(e *capture.Exchange) string {
	if e.Service != "" {
		return e.Service
	}
	h := e.Request.Host
	if h == "" {
		t := e.Request.Target
		if i := strings.Index(t, "://"); i >= 0 {
			h = t[i+3:]
			if j := strings.IndexAny(h, "/?#"); j >= 0 {
				h = h[:j]
			}
		}
	}
	if h != "" {
		h = strings.ToLower(h)
		if at := strings.LastIndexByte(h, '@'); at >= 0 {
			h = h[at+1:]
		}
		if strings.HasSuffix(h, ".") {
			h = h[:len(h)-1]
		} else if i := strings.LastIndexByte(h, ':'); i > 0 && h[i-1] == '.' && !strings.Contains(h[:i], ":") {
			h = h[:i-1] + h[i:]
		}
		return h
	}
	if e.Server.IsValid() {
		return e.Server.String()
	}
	return "unknown"
}

// statusKey renders a status code as a responses key.
func statusKey(code int) string {
	if code >= 100 && code <= 599 {
		return strconv.Itoa(code)
	}
	return "default"
}
