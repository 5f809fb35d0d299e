package paths

import (
	"strings"
	"testing"
)

// FuzzObserve feeds lines of arbitrary text as paths (a line starting with
// '+' as a template to Add): nothing panics, every bound holds, and the
// Walk output parses back through Add and AddParams to the same Walk.
func FuzzObserve(f *testing.F) {
	f.Add("/users/42\n/users/me\n/users/43/orders/7", uint8(3), false)
	f.Add("/a/x\n/a/y\n/a/z\n/a/x/b\n+/a/{key}/b", uint8(2), true)
	f.Add("//\n/\n\n/todos/\n/todos/%7Bid%7D\n/{id}\n/%zz/%\n/caf\xc3\xa9", uint8(2), false)
	f.Add("+/{id}/{id2}\n/x/y\n+/fa8cfb85-4f1c-4a2b-9c3d-0000000cfa8a/{id2}", uint8(5), false)
	f.Add(strings.Repeat("/s", 70)+"\n/"+strings.Repeat("x", 300), uint8(1), true)
	f.Fuzz(func(t *testing.T, data string, min uint8, baseline bool) {
		o := Options{VariableMin: 1 + int(min%8)}
		if baseline {
			o.Baseline = []string{"/todos/{id}", "/todos/active", "/a/{k}", "/{tenant}/x", "/files/{n}.{e}", "users/{u s}"}
		}
		tr := newTrie(o)
		lines := strings.Split(data, "\n")
		if len(lines) > 64 {
			lines = lines[:64]
		}
		for _, l := range lines {
			if tmpl, ok := strings.CutPrefix(l, "+"); ok {
				if r, err := tr.Add(tmpl, map[string]bool{"key": true}); err == nil {
					r.count++
				}
				continue
			}
			observe(tr, l)
		}
		checkInvariants(t, tr)
		want := dumpGiven(tr, true)
		exact := newTrie(o)
		addAll(t, exact, tr, true)
		if got := dumpGiven(exact, true); got != want {
			t.Fatalf("walk, AddParams, walk differs\nwant:\n%s\ngot:\n%s", want, got)
		}
		inferred := newTrie(o)
		addAll(t, inferred, tr, false)
		if got, want := dump(inferred), dump(tr); got != want {
			t.Fatalf("walk, Add, walk differs\nwant:\n%s\ngot:\n%s", want, got)
		}
		tr.Walk(func(template string, params []Param, _ *rec) {
			for _, p := range params {
				if !validName(p.Name) {
					t.Errorf("%s: invalid name %q", template, p.Name)
				}
			}
			for i := 0; i < len(template); i++ {
				if c := template[i]; c != '/' && c != '{' && c != '}' && c != '%' && !pathByte(c) {
					t.Errorf("%q: raw byte %q", template, c)
				}
			}
		})
	})
}
