package paths

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// rec is a test payload: it counts requests and, per parameter position
// and value, how many of them carried it — whether the value arrived from
// Observe or from a Fold.
type rec struct {
	count int
	vals  map[ParamValue]int
}

func newRec() *rec { return &rec{vals: map[ParamValue]int{}} }

func mergeRec(dst, src *rec, folds []Fold) {
	dst.count += src.count
	for k, v := range src.vals {
		dst.vals[k] += v
	}
	for _, f := range folds {
		dst.vals[ParamValue(f)] += src.count
	}
}

func newTrie(o Options) *Trie[*rec] { return New(o, newRec, mergeRec) }

func observe(tr *Trie[*rec], p string) {
	r, params := tr.Observe(p)
	if r == nil {
		return
	}
	r.count++
	for _, v := range params {
		r.vals[v]++
	}
}

func (r *rec) String() string {
	keys := make([]ParamValue, 0, len(r.vals))
	for k := range r.vals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ParamValue) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.Value, b.Value)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d", r.count)
	for _, k := range keys {
		fmt.Fprintf(&b, " %d:%q=%d", k.Index, k.Value, r.vals[k])
	}
	return b.String()
}

// dump renders a trie's Walk output, payloads included, one path a line.
func dump(tr *Trie[*rec]) string { return dumpGiven(tr, false) }

// dumpGiven is dump, with the given names when given is set.
func dumpGiven(tr *Trie[*rec], given bool) string {
	var b strings.Builder
	tr.Walk(func(template string, params []Param, r *rec) {
		b.WriteString(template)
		for _, p := range params {
			fmt.Fprintf(&b, " %s@%d", p.Name, p.Index)
			if p.Variable {
				b.WriteString("*")
			}
			if given && p.Given != "" {
				b.WriteString("~" + p.Given)
			}
		}
		b.WriteString(" | ")
		b.WriteString(r.String())
		b.WriteByte('\n')
	})
	return b.String()
}

// templates lists the templates of a trie's Walk.
func templates(tr *Trie[*rec]) []string {
	var out []string
	tr.Walk(func(template string, _ []Param, _ *rec) { out = append(out, template) })
	return out
}

// addAll merges the Walk output of src into dst through Add, or through
// AddParams when exact is set.
func addAll(t testing.TB, dst, src *Trie[*rec], exact bool) {
	t.Helper()
	type walked struct {
		template string
		params   []Param
		r        *rec
	}
	var items []walked
	src.Walk(func(template string, params []Param, r *rec) {
		items = append(items, walked{template, params, r})
	})
	for _, it := range items {
		var r *rec
		var err error
		if exact {
			r, err = dst.AddParams(it.template, it.params)
		} else {
			vars := map[string]bool{}
			for _, p := range it.params {
				vars[p.Name] = p.Variable
			}
			r, err = dst.Add(it.template, vars)
		}
		if err != nil {
			t.Fatalf("Add(%q): %v", it.template, err)
		}
		mergeRec(r, it.r, nil)
	}
}

// checkInvariants verifies the bounds every node keeps and that Len
// matches the Walk.
func checkInvariants(t testing.TB, tr *Trie[*rec]) {
	t.Helper()
	var visit func(n *node[*rec], path string)
	visit = func(n *node[*rec], path string) {
		unpinned := 0
		for k, c := range n.statics {
			if !c.pinned {
				unpinned++
				if isID(decode(k)) {
					t.Errorf("%s: identifier %q is a static child", path, k)
				}
				if n.variable {
					t.Errorf("%s: variable node keeps static child %q", path, k)
				}
			}
			visit(c, path+"/"+k)
		}
		if unpinned != n.count {
			t.Errorf("%s: count %d, %d unpinned static children", path, n.count, unpinned)
		}
		if unpinned >= tr.min {
			t.Errorf("%s: %d static children, VariableMin %d", path, unpinned, tr.min)
		}
		if n.param != nil {
			visit(n.param, path+"/{}")
		}
	}
	visit(tr.root, "")
	if got, want := tr.Len(), len(templates(tr)); got != want {
		t.Errorf("Len() = %d, Walk gives %d paths", got, want)
	}
}
