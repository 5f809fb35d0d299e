package gate

import (
	"math"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Traffic is evidence of what exists only where a run looked. Before the
// two documents are diffed, the baseline loses what this run did not
// exercise — operations, responses, parameters, bodies, properties it
// has no evidence against — and required-ness that too few samples
// decided is taken from the baseline, so that oasdiff reports only what
// the traffic shows. What was set aside is recorded here.

// evidence is what a comparison learned beyond the two documents.
type evidence struct {
	minSamples int64
	// notExercised lists baseline operations this run did not call.
	notExercised []opRef
	// refused lists baseline operations this run called and got only 404
	// or 405 for: evidence of removal.
	refused []opRef
	// rejected lists operations that answered the baseline's requests
	// with 2xx and this run's only with 4xx.
	rejected []rejection
	// removed lists response properties the baseline saw and this run,
	// with enough samples, never did.
	removed []propRef
	// added lists response properties only this run saw.
	added []propRef
}

type opRef struct {
	method, path string
	samples      int64 // in the baseline, when it has counts
}

func (o opRef) String() string { return strings.ToUpper(o.method) + " " + o.path }

type rejection struct {
	op       opRef
	from, to []string // status codes
}

// propRef is a response property at one place.
type propRef struct {
	op      opRef
	status  string
	media   string
	path    string // as oasdiff names it: "items/owner/name"
	name    string // the last segment
	schema  *openapi3.Schema
	present int64 // baseline samples that had it (removed)
	of      int64 // baseline objects there
	now     int64 // this run's objects there
}

// ext reads the x-specgate extension of an object.
func ext(exts map[string]any) map[string]any {
	if x, ok := exts["x-specgate"].(map[string]any); ok {
		return x
	}
	return nil
}

func count(x map[string]any, key string) (int64, bool) {
	switch v := x[key].(type) {
	case float64:
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}

// normPath names a path template without its parameter names, as
// routers match them: /todos/{id} and /todos/{todoId} are one path.
func normPath(p string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '{':
			if depth == 0 {
				b.WriteString("{}")
			}
			depth++
		case c == '}' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// opsOf indexes the operations of a document by method and normalised
// path.
func opsOf(paths *openapi3.Paths) map[string]*openapi3.Operation {
	m := map[string]*openapi3.Operation{}
	if paths == nil {
		return m
	}
	for p, item := range paths.Map() {
		for method, op := range item.Operations() {
			m[strings.ToLower(method)+" "+normPath(p)] = op
		}
	}
	return m
}

// unroutedOf indexes the operations an inferred document keeps aside
// because they were only ever answered 404 or 405.
func unroutedOf(doc *openapi3.T) map[string]bool {
	m := map[string]bool{}
	x := ext(doc.Extensions)
	switch u := x["unrouted"].(type) {
	case map[string]any: // read from a file
		for p, ops := range u {
			if om, ok := ops.(map[string]any); ok {
				for method := range om {
					m[strings.ToLower(method)+" "+normPath(p)] = true
				}
			}
		}
	case map[string]map[string]*openapi3.Operation: // inferred in this process
		for p, ops := range u {
			for method := range ops {
				m[strings.ToLower(method)+" "+normPath(p)] = true
			}
		}
	}
	return m
}

// prune removes from base what cur gives no evidence against, and
// returns what it learned. Both documents are changed in place.
func prune(base, cur *Doc, minSamples int64) *evidence {
	ev := &evidence{minSamples: minSamples}
	curOps := opsOf(cur.Spec.Paths)
	unrouted := unroutedOf(cur.Spec)
	for _, p := range base.Spec.Paths.InMatchingOrder() {
		item := base.Spec.Paths.Value(p)
		for method, bop := range item.Operations() {
			ref := opRef{method: strings.ToLower(method), path: p}
			if n, ok := count(ext(bop.Extensions), "samples"); ok {
				ref.samples = n
			}
			key := ref.method + " " + normPath(p)
			cop := curOps[key]
			if cop == nil {
				if unrouted[key] {
					ev.refused = append(ev.refused, ref)
					continue // oasdiff reports the removal
				}
				ev.notExercised = append(ev.notExercised, ref)
				item.SetOperation(method, nil)
				continue
			}
			ev.operation(base, ref, bop, cop)
		}
		if len(item.Operations()) == 0 {
			base.Spec.Paths.Delete(p)
		}
	}
	sortOps(ev.notExercised)
	sortOps(ev.refused)
	// Security schemes are definitions: one this run did not use is not
	// evidence that it is gone.
	if base.Spec.Components != nil && len(base.Spec.Components.SecuritySchemes) > 0 {
		if cur.Spec.Components == nil {
			cur.Spec.Components = &openapi3.Components{}
		}
		if cur.Spec.Components.SecuritySchemes == nil {
			cur.Spec.Components.SecuritySchemes = openapi3.SecuritySchemes{}
		}
		for name, s := range base.Spec.Components.SecuritySchemes {
			if cur.Spec.Components.SecuritySchemes[name] == nil {
				cur.Spec.Components.SecuritySchemes[name] = s
			}
		}
	}
	return ev
}

func sortOps(ops []opRef) {
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return ops[i].method < ops[j].method
	})
}

// operation prunes one operation that both documents have.
func (ev *evidence) operation(base *Doc, ref opRef, bop, cop *openapi3.Operation) {
	// A run whose every request without credentials was refused, and
	// that sent none, knows nothing of the operation's security.
	if a, ok := ext(cop.Extensions)["anonymous"].(bool); ok && !a && cop.Security == nil {
		cop.Security = bop.Security
	}
	// Parameters and bodies this run did not send are not evidence that
	// the operation no longer takes them.
	var keep openapi3.Parameters
	for _, bp := range bop.Parameters {
		if bp.Value == nil || bp.Value.In == "path" || cop.Parameters.GetByInAndName(bp.Value.In, bp.Value.Name) != nil {
			keep = append(keep, bp)
		}
	}
	bop.Parameters = keep
	if bop.RequestBody != nil && bop.RequestBody.Value != nil {
		if cop.RequestBody == nil || cop.RequestBody.Value == nil {
			bop.RequestBody = nil
		} else {
			ev.content(ref, "", bop.RequestBody.Value.Content, cop.RequestBody.Value.Content, true)
			ev.required(&cop.RequestBody.Value.Required, bop.RequestBody.Value.Required, ext(cop.RequestBody.Value.Extensions), ext(bop.RequestBody.Value.Extensions))
		}
	}
	for _, bp := range bop.Parameters {
		if bp.Value == nil || bp.Value.In == "path" {
			continue
		}
		cp := cop.Parameters.GetByInAndName(bp.Value.In, bp.Value.Name)
		ev.required(&cp.Required, bp.Value.Required, ext(cp.Extensions), ext(bp.Value.Extensions))
	}

	if bop.Responses == nil || cop.Responses == nil {
		return
	}
	var baseOK, curOK, curRefused []string
	for _, code := range bop.Responses.Keys() {
		if strings.HasPrefix(code, "2") {
			baseOK = append(baseOK, code)
		}
	}
	for _, code := range cop.Responses.Keys() {
		switch {
		case strings.HasPrefix(code, "2"):
			curOK = append(curOK, code)
		case strings.HasPrefix(code, "4"):
			curRefused = append(curRefused, code)
		}
	}
	curN, _ := count(ext(cop.Extensions), "samples")
	if len(baseOK) > 0 && len(curOK) == 0 && len(curRefused) > 0 && curN >= ev.minSamples {
		sort.Strings(baseOK)
		sort.Strings(curRefused)
		ev.rejected = append(ev.rejected, rejection{op: ref, from: baseOK, to: curRefused})
	}
	for code, br := range bop.Responses.Map() {
		cr := cop.Responses.Value(code)
		if cr == nil || cr.Value == nil || br.Value == nil {
			bop.Responses.Delete(code) // not exercised: no evidence either way
			continue
		}
		ev.content(ref, code, br.Value.Content, cr.Value.Content, false)
	}
	if bop.Responses.Len() == 0 {
		// oasdiff needs responses in 3.0; an operation whose responses
		// were none exercised keeps one that matches the run's.
		for code, cr := range cop.Responses.Map() {
			bop.Responses.Set(code, cr)
			break
		}
	}
}

// required makes the run's required-ness of a body or parameter the
// baseline's when too few samples decided it.
func (ev *evidence) required(cur *bool, base bool, curX, baseX map[string]any) {
	if *cur == base {
		return
	}
	n, ok := count(curX, "samples")
	if !ok || n < ev.minSamples {
		*cur = base
		return
	}
	if m, ok := count(baseX, "samples"); ok && m < ev.minSamples {
		*cur = base
	}
}

// content walks the schemas of the media types both sides have.
func (ev *evidence) content(ref opRef, status string, base, cur openapi3.Content, request bool) {
	for mt, bm := range base {
		cm := cur[mt]
		if cm == nil || bm == nil || bm.Schema == nil || cm.Schema == nil {
			continue
		}
		ev.schema(propRef{op: ref, status: status, media: mt}, bm.Schema.Value, cm.Schema.Value, "", request)
	}
}

// schema walks one place of both documents' schemas.
func (ev *evidence) schema(at propRef, base, cur *openapi3.Schema, path string, request bool) {
	if base == nil || cur == nil {
		return
	}
	if base.Items != nil && cur.Items != nil {
		ev.schema(at, base.Items.Value, cur.Items.Value, join(path, "items"), request)
	}
	if len(base.Properties) == 0 && len(cur.Properties) == 0 {
		return
	}
	bn := objects(base)
	cn := objects(cur)
	req := map[string]bool{}
	for _, r := range base.Required {
		req[r] = true
	}
	var removed []string
	for name, bp := range base.Properties {
		if cur.Properties[name] != nil || bp.Value == nil {
			continue
		}
		p := at
		p.path, p.name, p.schema, p.now = join(path, name), name, bp.Value, cn
		p.present, _ = count(ext(bp.Value.Extensions), "present")
		p.of = bn
		if !request && ev.evidenced(p, req[name]) {
			ev.removed = append(ev.removed, p)
			continue
		}
		removed = append(removed, name)
	}
	for _, name := range removed {
		delete(base.Properties, name)
		base.Required = without(base.Required, name)
	}
	if !request {
		for name, cp := range cur.Properties {
			if base.Properties[name] == nil && cp.Value != nil {
				p := at
				p.path, p.name, p.schema, p.now = join(path, name), name, cp.Value, cn
				ev.added = append(ev.added, p)
			}
		}
	}
	// Required-ness that too few samples decided is the baseline's.
	creq := map[string]bool{}
	for _, r := range cur.Required {
		creq[r] = true
	}
	for name, bp := range base.Properties {
		cp := cur.Properties[name]
		if cp == nil {
			continue
		}
		if req[name] != creq[name] && (cn < ev.minSamples || bn >= 0 && bn < ev.minSamples) {
			if req[name] {
				cur.Required = append(cur.Required, name)
			} else {
				cur.Required = without(cur.Required, name)
			}
		}
		ev.schema(at, bp.Value, cp.Value, join(path, name), request)
	}
	sort.Strings(cur.Required)
}

// evidenced reports whether this run shows a baseline property gone: the
// run saw enough objects there that, at the rate the baseline saw the
// property, missing it in every one is not chance (under 1%). A
// hand-written baseline has no rates: its required properties must be in
// every response, its optional ones may be missing from any.
func (ev *evidence) evidenced(p propRef, required bool) bool {
	if p.now < ev.minSamples {
		return false
	}
	if p.of <= 0 {
		return required
	}
	rate := float64(p.present) / float64(p.of)
	if rate <= 0 {
		return false
	}
	return math.Pow(1-rate, float64(p.now)) <= 0.01
}

// objects returns the number of objects a schema's counts say were seen
// at its place, or -1 without counts.
func objects(s *openapi3.Schema) int64 {
	for _, p := range s.Properties {
		if p.Value == nil {
			continue
		}
		if n, ok := count(ext(p.Value.Extensions), "samples"); ok {
			return n
		}
	}
	x := ext(s.Extensions)
	if n, ok := count(x, "present"); ok {
		return n
	}
	if n, ok := count(x, "samples"); ok {
		return n
	}
	return -1
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "/" + name
}

func without(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// statusList renders status codes for a message.
func statusList(codes []string) string {
	return strings.Join(codes, ", ")
}
