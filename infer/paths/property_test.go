package paths

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

var (
	collections = []string{"users", "todos", "line-items", "categories", "orders", "v1", "api", "addresses", "me"}
	pool        = []string{"alpha", "beta", "gamma", "delta", "hello-world", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"}
	oddities    = []string{"", "caf%C3%A9", "a b", "{x}", "50%", "%7Bx%7D", "REDACTED", "a%2Fb"}
	baselines   = [][]string{
		nil,
		{"/todos/{id}", "/todos/active", "/users/me", "/users/{uid}/orders", "/api/{version}/users/{userId}"},
		{"/{tenant}/todos", "/v1/health", "/v1/2024"},
	}
)

// randomSegment draws a collection name, an identifier, a word or an odd
// segment.
func randomSegment(r *rand.Rand) string {
	switch x := r.IntN(100); {
	case x < 35:
		return collections[r.IntN(len(collections))]
	case x < 45:
		return fmt.Sprint(r.IntN(50))
	case x < 52:
		return uuid(r.IntN(30))
	case x < 55:
		return fmt.Sprintf("2024-0%d-1%d", 1+r.IntN(9), r.IntN(10))
	case x < 57:
		return fmt.Sprintf("u%d%%40example.com", r.IntN(5))
	case x < 92:
		return pool[r.IntN(len(pool))]
	default:
		return oddities[r.IntN(len(oddities))]
	}
}

// randomPaths draws n paths: nested collections, ids, words, shard-like
// prefixes, trailing slashes.
func randomPaths(r *rand.Rand, n int) []string {
	var paths []string
	for range n {
		p := ""
		if r.IntN(8) == 0 {
			p = fmt.Sprintf("/shard-%s", pool[r.IntN(4)])
		}
		for range 1 + r.IntN(5) {
			p += "/" + randomSegment(r)
		}
		if r.IntN(10) == 0 {
			p += "/"
		}
		if r.IntN(40) == 0 {
			p = "/"
		}
		paths = append(paths, p)
	}
	return paths
}

// item is one input of the property test: a concrete path to observe, or
// (template set) a template of an earlier document to add, counted as one
// request.
type item struct {
	path     string
	template bool
	vars     map[string]bool
}

var givenNames = []string{"key", "id", "zz", "userId", "todoId", "id2"}

// randomItems draws paths, and with templates set also templates whose
// parameters have given or computed names.
func randomItems(r *rand.Rand, n int, templates bool) []item {
	paths := randomPaths(r, n)
	items := make([]item, len(paths))
	for i, p := range paths {
		items[i] = item{path: p}
		if !templates || r.IntN(4) != 0 {
			continue
		}
		segs, _ := parse(p)
		vars := map[string]bool{}
		used := map[string]bool{}
		t := ""
		for j, s := range segs {
			if r.IntN(3) == 0 {
				name := givenNames[r.IntN(len(givenNames))]
				if r.IntN(2) == 0 {
					name = unique(baseName(segs, j), nil)
				}
				if !used[name] {
					used[name] = true
					vars[name] = r.IntN(3) == 0
					segs[j] = seg{param: true, name: name}
					t += "/{" + name + "}"
					continue
				}
			}
			t += "/" + s.key
		}
		if t == "" {
			t = "/"
		}
		items[i] = item{path: t, template: true, vars: vars}
	}
	return items
}

func apply(t testing.TB, tr *Trie[*rec], it item) {
	t.Helper()
	if !it.template {
		observe(tr, it.path)
		return
	}
	r, err := tr.Add(it.path, it.vars)
	if err != nil {
		t.Fatalf("Add(%q): %v", it.path, err)
	}
	r.count++
}

// TestMergeable: observing a set of paths (and adding templates) in any
// order, in shards merged
// through Walk and Add in any order, or mixing both, gives one Walk
// output, payload contents included; and Walk then Add gives it back.
func TestMergeable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 1000 {
		o := Options{VariableMin: 2 + r.IntN(6), Baseline: baselines[r.IntN(len(baselines))]}
		paths := randomItems(r, 10+r.IntN(120), iter%2 == 1)
		name := fmt.Sprintf("iter %d min %d baseline %q", iter, o.VariableMin, o.Baseline)

		// Templates with foreign given names merge exactly only through
		// AddParams; with names from the shared baseline Add is enough.
		exact := iter%2 == 1
		together := newTrie(o)
		for _, p := range paths {
			apply(t, together, p)
		}
		checkInvariants(t, together)
		want := dumpGiven(together, true)

		shuffled := newTrie(o)
		perm := r.Perm(len(paths))
		for _, i := range perm {
			apply(t, shuffled, paths[i])
		}
		if got := dumpGiven(shuffled, true); got != want {
			t.Fatalf("%s: order changes the result\ntogether:\n%s\nshuffled:\n%s", name, want, got)
		}

		k := 2 + r.IntN(3)
		shards := make([]*Trie[*rec], k)
		for i := range shards {
			shards[i] = newTrie(o)
		}
		for _, p := range paths {
			apply(t, shards[r.IntN(k)], p)
		}
		merged := newTrie(o)
		for _, i := range r.Perm(k) {
			addAll(t, merged, shards[i], exact)
		}
		checkInvariants(t, merged)
		if got := dumpGiven(merged, true); got != want {
			t.Fatalf("%s: shards merged differ\ntogether:\n%s\nmerged:\n%s", name, want, got)
		}

		// Observe a part, Add the walk of another, observe the rest.
		a, b := newTrie(o), newTrie(o)
		mixed := newTrie(o)
		var rest []item
		for _, p := range paths {
			switch r.IntN(3) {
			case 0:
				apply(t, a, p)
			case 1:
				apply(t, b, p)
			default:
				rest = append(rest, p)
			}
		}
		for _, p := range rest[:len(rest)/2] {
			apply(t, mixed, p)
		}
		addAll(t, mixed, a, exact)
		for _, p := range rest[len(rest)/2:] {
			apply(t, mixed, p)
		}
		addAll(t, mixed, b, exact)
		checkInvariants(t, mixed)
		if got := dumpGiven(mixed, true); got != want {
			t.Fatalf("%s: observe and add mixed differ\ntogether:\n%s\nmixed:\n%s", name, want, got)
		}

		// Walk, Add, Walk gives the same output, given names aside when
		// Add infers them.
		again := newTrie(o)
		addAll(t, again, together, true)
		if got := dumpGiven(again, true); got != want {
			t.Fatalf("%s: walk then AddParams differs\nwant:\n%s\ngot:\n%s", name, want, got)
		}
		again = newTrie(o)
		addAll(t, again, together, false)
		if got, want := dump(again), dump(together); got != want {
			t.Fatalf("%s: walk then Add differs\nwant:\n%s\ngot:\n%s", name, want, got)
		}
	}
}
