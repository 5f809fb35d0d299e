package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// specgate's own check ids, beside oasdiff's.
const (
	IDPropertyRenamed       = "response-property-renamed"
	IDPropertyGone          = "response-property-no-longer-sent"
	IDOperationRefused      = "operation-removed-in-traffic"
	IDRequestRejected       = "request-now-rejected"
	IDNoLongerExercised     = "operation-no-longer-exercised"
	IDOperationNotExercised = "operation-not-exercised"
)

// OwnChecks lists specgate's check ids and their default levels.
var OwnChecks = map[string]Level{
	IDPropertyRenamed:       LevelError,
	IDPropertyGone:          LevelError,
	IDOperationRefused:      LevelError,
	IDRequestRejected:       LevelError,
	IDNoLongerExercised:     LevelWarning,
	IDOperationNotExercised: LevelInfo,
}

// Compare diffs a service's baseline with this run's document and
// classifies every change. Both documents are changed (pruned) in place:
// pass copies when they are needed afterwards.
func Compare(base, cur *Doc, pol *Policy) ([]Change, Coverage, error) {
	// Only a document inferred from traffic is evidence of what a run did
	// not exercise; two written documents are compared as they are.
	ev := &evidence{minSamples: int64(pol.MinSamples)}
	if cur.Inferred {
		ev = prune(base, cur, int64(pol.MinSamples))
	}
	s1 := &load.SpecInfo{Url: base.Source, Spec: base.Spec}
	s2 := &load.SpecInfo{Url: cur.Source, Spec: cur.Spec}
	d, srcs, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
	if err != nil {
		return nil, Coverage{}, fmt.Errorf("diff %s: %v", cur.Service, err)
	}
	found := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, srcs, checker.INFO)
	loc := checker.NewDefaultLocalizer()

	c := &classifier{service: cur.Service, ev: ev, callers: callersOf(cur, base),
		handled: map[string]bool{}, renamedFrom: map[string]bool{}, renamedTo: map[string]bool{}}
	c.evidenced(c.pairRenames())
	for _, f := range found {
		c.oasdiff(f, loc)
	}
	c.own()
	cov := Coverage{Service: cur.Service}
	cov.Operations = len(opsOf(base.Spec.Paths)) + len(ev.notExercised)
	cov.Exercised = cov.Operations - len(ev.notExercised) - len(ev.refused)
	for _, o := range ev.notExercised {
		cov.NotExercised = append(cov.NotExercised, o.String())
	}
	for i := range c.changes {
		ch := &c.changes[i]
		if ch.Callers == nil && ch.Operation != "" {
			ch.Callers = c.callers[opKey(ch.Operation)]
		}
		ch.Fingerprint = fingerprint(ch)
	}
	sortChanges(c.changes)
	return c.changes, cov, nil
}

// classifier turns oasdiff's findings and the traffic's evidence into
// Changes.
type classifier struct {
	service string
	ev      *evidence
	callers map[string][]string
	changes []Change
	// handled marks removals and additions a rename or an evidenced
	// removal accounts for: "GET /p|200|items/name".
	handled map[string]bool
	// renamedFrom and renamedTo hold the property names of renames: the
	// same rename where too few samples made it evidence is not reported
	// again as an addition or a removal.
	renamedFrom, renamedTo map[string]bool
}

// rename is a removed response property paired with an added one.
type rename struct{ from, to propRef }

// pairRenames pairs each evidenced removal with the most similar property
// added at the same place of the same response, if one is close enough.
func (c *classifier) pairRenames() []rename {
	var out []rename
	used := map[int]bool{}
	for _, r := range c.ev.removed {
		best, bestScore := -1, 1<<30
		for i, a := range c.ev.added {
			if used[i] || a.op != r.op || a.status != r.status || a.media != r.media || parent(a.path) != parent(r.path) {
				continue
			}
			if !compatible(r.schema, a.schema) {
				continue
			}
			s := similarity(r.name, a.name)
			if s < 0 && sameValues(r.schema, a.schema) {
				s = 4 // unlike names, but the same few values: the same field
			}
			if s >= 0 && s < bestScore {
				best, bestScore = i, s
			}
		}
		if best >= 0 {
			used[best] = true
			out = append(out, rename{from: r, to: c.ev.added[best]})
		}
	}
	return out
}

func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// oasdiff classifies one of oasdiff's findings.
func (c *classifier) oasdiff(f checker.Change, loc checker.Localizer) {
	op := strings.ToUpper(f.GetOperation()) + " " + f.GetPath()
	args := f.GetArgs()
	if strings.HasPrefix(f.GetId(), "response-") && (strings.Contains(f.GetId(), "property-removed") || strings.Contains(f.GetId(), "property-added")) && len(args) >= 2 {
		prop, _ := args[0].(string)
		status := fmt.Sprint(args[len(args)-1])
		if _, ok := c.handled[opKey(op)+"|"+status+"|"+prop]; ok {
			return // a rename or an evidenced removal says it
		}
		leaf := prop[strings.LastIndexByte(prop, '/')+1:]
		if strings.Contains(f.GetId(), "property-removed") && c.renamedFrom[leaf] || strings.Contains(f.GetId(), "property-added") && c.renamedTo[leaf] {
			return
		}
	}
	ch := Change{
		ID: f.GetId(), Level: levelOf(f.GetLevel()), Kind: kindOf(f.GetId()),
		Operation: op, Path: f.GetPath(), Message: f.GetUncolorizedText(loc),
	}
	if f.GetOperation() == "" {
		ch.Operation = ""
	}
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			ch.Location = s
		}
	}
	if ch.ID == "api-removed-without-deprecation" || ch.ID == "api-path-removed-without-deprecation" {
		for _, r := range c.ev.refused {
			if r.String() == ch.Operation || normPath(r.path) == normPath(ch.Path) {
				ch.Kind = KindRemoved
				ch.Message += ": this run called it and got 404 or 405"
			}
		}
	}
	c.add(ch)
}

// evidenced adds the renames and removals the traffic shows, one change
// for the same property wherever it appears in the service: a field
// renamed in the todo type is one rename, whichever operations return it.
func (c *classifier) evidenced(renamed []rename) {
	type group struct {
		ch      int // index in c.changes
		ops     []string
		callers []string
	}
	groups := map[string]*group{}
	var order []string
	note := func(key string, ch Change, members []propRef) {
		g := groups[key]
		if g == nil {
			g = &group{ch: c.add(ch)}
			groups[key] = g
			order = append(order, key)
		}
		for _, m := range members {
			c.handled[propKey(m)] = true
		}
		op := members[0].op.String()
		if !contains(g.ops, op) {
			g.ops = append(g.ops, op)
		}
		for _, cl := range c.callers[opKey(op)] {
			if !contains(g.callers, cl) {
				g.callers = append(g.callers, cl)
			}
		}
	}
	for _, r := range renamed {
		c.renamedFrom[r.from.name], c.renamedTo[r.to.name] = true, true
		note(IDPropertyRenamed+"|"+r.from.name+"|"+r.to.name, Change{
			ID: IDPropertyRenamed, Level: LevelError, Kind: KindRenamed,
			Operation: r.from.op.String(), Path: r.from.op.path,
			Location: location(r.from.status, r.from.media, parent(r.from.path)),
			From:     r.from.name, To: r.to.name,
			Message: fmt.Sprintf("renamed the response property %s to %s: this run never sent %s in %d responses; the baseline had it in %s",
				r.from.path, r.to.path, r.from.name, r.from.now, rate(r.from)),
		}, []propRef{r.from, r.to})
	}
	for _, r := range c.ev.removed {
		if _, ok := c.handled[propKey(r)]; ok {
			continue
		}
		note(IDPropertyGone+"|"+r.name, Change{
			ID: IDPropertyGone, Level: LevelError, Kind: KindRemoved,
			Operation: r.op.String(), Path: r.op.path,
			Location: location(r.status, r.media, parent(r.path)), From: r.name,
			Message: fmt.Sprintf("removed the response property %s: this run never sent it in %d responses; the baseline had it in %s",
				r.path, r.now, rate(r)),
		}, []propRef{r})
	}
	for _, k := range order {
		g := groups[k]
		sort.Strings(g.callers)
		ch := &c.changes[g.ch]
		ch.Callers = g.callers
		if len(g.ops) > 1 {
			sort.Strings(g.ops)
			ch.Message += "; in " + strings.Join(g.ops, ", ")
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// own adds the changes only the traffic shows.
func (c *classifier) own() {
	for _, r := range c.ev.rejected {
		c.add(Change{
			ID: IDRequestRejected, Level: LevelError, Kind: KindChanged,
			Operation: r.op.String(), Path: r.op.path,
			From: statusList(r.from), To: statusList(r.to),
			Message: fmt.Sprintf("this run's requests were refused with %s where the baseline's got %s: the operation requires something the callers do not send (a new required field, parameter or header)",
				statusList(r.to), statusList(r.from)),
		})
	}
	for _, o := range c.ev.notExercised {
		if o.samples > 0 {
			c.add(Change{
				ID: IDNoLongerExercised, Level: LevelWarning, Kind: KindNoLongerExercised,
				Operation: o.String(), Path: o.path,
				Message: fmt.Sprintf("the baseline run called %s %d times and this run never did: if it was removed together with its test, its callers break", o, o.samples),
			})
		}
	}
}

// add appends a change and returns its index.
func (c *classifier) add(ch Change) int {
	ch.Service = c.service
	c.changes = append(c.changes, ch)
	return len(c.changes) - 1
}

func propKey(p propRef) string {
	return opKey(p.op.String()) + "|" + p.status + "|" + p.path
}

func location(status, media, path string) string {
	s := "response " + status
	if media != "" {
		s += " " + media
	}
	if path != "" {
		s += ": " + path
	}
	return s
}

func rate(p propRef) string {
	if p.of <= 0 {
		return "every response (required)"
	}
	return fmt.Sprintf("%d of %d", p.present, p.of)
}

func levelOf(l checker.Level) Level {
	switch l {
	case checker.ERR:
		return LevelError
	case checker.WARN:
		return LevelWarning
	}
	return LevelInfo
}

// kindOf groups oasdiff's check ids by what they say.
func kindOf(id string) Kind {
	switch {
	case strings.Contains(id, "renamed"):
		return KindRenamed
	case strings.Contains(id, "type-changed") || strings.Contains(id, "format-changed") || strings.Contains(id, "list-of-types"):
		return KindTypeChanged
	case strings.Contains(id, "removed") || strings.Contains(id, "deleted"):
		return KindRemoved
	case strings.HasSuffix(id, "-added") || strings.Contains(id, "-added-"):
		return KindAdded
	}
	return KindChanged
}

// compatible reports whether two property schemas could be the same
// value: the same types, or either unknown.
func compatible(a, b *openapi3.Schema) bool {
	ta, tb := typesOf(a), typesOf(b)
	return ta == "" || tb == "" || ta == tb
}

func typesOf(s *openapi3.Schema) string {
	if s == nil || s.Type == nil {
		return ""
	}
	t := append([]string(nil), s.Type.Slice()...)
	sort.Strings(t)
	return strings.Join(t, ",")
}

// sameValues reports whether two string properties took the same few
// values: the same enum, or the same candidate values that specgate keeps
// while there are too few samples for an enum. That fingerprint survives a
// rename to an unrelated name ("state" to "status").
func sameValues(a, b *openapi3.Schema) bool {
	va, vb := valuesOf(a), valuesOf(b)
	if len(va) == 0 || len(va) != len(vb) {
		return false
	}
	for i := range va {
		if va[i] != vb[i] {
			return false
		}
	}
	return true
}

func valuesOf(s *openapi3.Schema) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, e := range s.Enum {
		if v, ok := e.(string); ok {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		switch vs := ext(s.Extensions)["values"].(type) {
		case []any:
			for _, v := range vs {
				if x, ok := v.(string); ok {
					out = append(out, x)
				}
			}
		case []string:
			out = append(out, vs...)
		}
	}
	sort.Strings(out)
	return out
}

// similarity scores how alike two property names are, lower is closer;
// -1 means not alike: names equal but for case and separators score 0,
// otherwise the edit distance of the lower-case names when it is at most
// a quarter of the longer name (at least 1, at most 3).
func similarity(a, b string) int {
	na, nb := squash(a), squash(b)
	if na == nb {
		return 0
	}
	d := levenshtein(na, nb)
	limit := min(max(max(len(na), len(nb))/4, 1), 3)
	if d > limit {
		return -1
	}
	return d
}

func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r != '_' && r != '-' && r != '.' && r != ' ' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			// a transposition of two neighbours costs one, as typos do
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// callersOf maps each operation to the callers either document saw.
func callersOf(docs ...*Doc) map[string][]string {
	m := map[string][]string{}
	for _, d := range docs {
		for p, item := range d.Spec.Paths.Map() {
			for method, op := range item.Operations() {
				k := opKey(method + " " + p)
				if m[k] != nil {
					continue
				}
				switch cs := ext(op.Extensions)["callers"].(type) {
				case []any: // read from a file
					for _, c := range cs {
						if s, ok := c.(string); ok {
							m[k] = append(m[k], s)
						}
					}
				case []string: // inferred in this process
					m[k] = append(m[k], cs...)
				}
			}
		}
	}
	return m
}

// opKey normalises "METHOD /path/{x}".
func opKey(op string) string {
	method, path, _ := strings.Cut(op, " ")
	return strings.ToUpper(method) + " " + normPath(path)
}

func fingerprint(ch *Change) string {
	h := sha256.New()
	for _, s := range []string{ch.Service, ch.ID, opKey(ch.Operation), ch.Location, ch.From, ch.To} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Level.Rank() != b.Level.Rank() {
			return a.Level.Rank() > b.Level.Rank()
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		return a.Fingerprint < b.Fingerprint
	})
}
