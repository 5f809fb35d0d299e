package paths

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func uuid(i int) string {
	return fmt.Sprintf("%08x-4f1c-4a2b-9c3d-%012x", i*2654435761%(1<<32), i*40503+7)
}

func TestIssueCases(t *testing.T) {
	words := strings.Fields("hello-world getting-started why-go release-notes about-us faq " +
		"team careers privacy terms security roadmap pricing contact blog-intro summer-sale " +
		"winter-sale launch-day open-source community events webinars guides recipes tips-and-tricks")
	if len(words) != 25 {
		t.Fatalf("%d slugs", len(words))
	}
	var uuids, ints, dates, slugs []string
	for i := range 100 {
		uuids = append(uuids, "/users/"+uuid(i))
		ints = append(ints, fmt.Sprintf("/users/%d", 1000+i*37))
	}
	for d := 1; d <= 5; d++ {
		dates = append(dates, fmt.Sprintf("/reports/2024-01-%02d", d*3))
	}
	for _, w := range words {
		slugs = append(slugs, "/articles/"+w)
	}
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"uuids and me", append(slices.Clone(uuids), "/users/me"), []string{"/users/me", "/users/{userId}"}},
		{"integers and me", append([]string{"/users/me"}, ints...), []string{"/users/me", "/users/{userId}"}},
		{"dates", dates, []string{"/reports/{reportId}"}},
		{"25 slugs without digits", slugs, []string{"/articles/{articleId}"}},
		{"19 slugs stay static", slugs[:19], func() []string {
			s := slices.Clone(slugs[:19])
			slices.Sort(s)
			return s
		}()},
		{"slug with digits", []string{"/articles/my-post-2024"}, []string{"/articles/{articleId}"}},
		{"health and ready", []string{"/v1/health", "/v1/ready", "/v1/health"}, []string{"/v1/health", "/v1/ready"}},
		{"nested ids", []string{"/users/17/orders/" + uuid(1), "/users/18/orders/99", "/users/19/orders"},
			[]string{"/users/{userId}/orders", "/users/{userId}/orders/{orderId}"}},
		{"trailing slash", []string{"/todos", "/todos/"}, []string{"/todos", "/todos/"}},
		{"root", []string{"", "/"}, []string{"/"}},
		{"empty segment", []string{"//x", "/x"}, []string{"//x", "/x"}},
		{"no leading slash", []string{"todos"}, []string{"/todos"}},
		{"static rendered as sent, raw bytes escaped", []string{"/caf%C3%A9", "/a b", "/{x}", "/50%"},
			[]string{"/%7Bx%7D", "/50%25", "/a%20b", "/caf%C3%A9"}},
		{"names", []string{"/categories/12", "/line-items/12", "/addresses/12", "/statuses/12", "/todos/12/todos/14", "/12/34"},
			[]string{"/addresses/{addressId}", "/categories/{categoryId}", "/line-items/{lineItemId}", "/statuses/{statusId}",
				"/todos/{todoId}/todos/{todoId2}", "/{id}/{id2}"}},
		{"redacted segment", []string{"/reset/REDACTED"}, []string{"/reset/{resetId}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrie(Options{})
			for _, p := range tc.paths {
				observe(tr, p)
			}
			checkInvariants(t, tr)
			if got := templates(tr); !slices.Equal(got, tc.want) {
				t.Errorf("templates = %q, want %q", got, tc.want)
			}
			total := 0
			tr.Walk(func(_ string, _ []Param, r *rec) { total += r.count })
			if total != len(tc.paths) {
				t.Errorf("payloads count %d requests, want %d", total, len(tc.paths))
			}
		})
	}
}

func TestVariableFlag(t *testing.T) {
	tr := newTrie(Options{})
	for i := range 25 {
		observe(tr, fmt.Sprintf("/articles/%s", strings.Repeat("x", i+1)))
	}
	observe(tr, "/users/42")
	observe(tr, "/users/me")
	got := map[string]Param{}
	tr.Walk(func(template string, params []Param, _ *rec) {
		for _, p := range params {
			got[template] = p
		}
	})
	if p := got["/articles/{articleId}"]; !p.Variable || p.Index != 1 {
		t.Errorf("articleId = %+v, want variable at 1", p)
	}
	if p := got["/users/{userId}"]; p.Variable || p.Index != 1 {
		t.Errorf("userId = %+v, want not variable at 1", p)
	}
	// Once variable, a new word goes to the parameter from its first request.
	r, params := tr.Observe("/articles/yet-another")
	if len(params) != 1 || params[0] != (ParamValue{1, "yet-another"}) {
		t.Errorf("params = %v", params)
	}
	if r.count != 25 {
		t.Errorf("payload holds %d requests, want the 25 folded ones", r.count)
	}
}

func TestParamValuesDecoded(t *testing.T) {
	tr := newTrie(Options{})
	_, params := tr.Observe("/users/ann%40example.com/orders/17")
	want := []ParamValue{{1, "ann@example.com"}, {3, "17"}}
	if !slices.Equal(params, want) {
		t.Errorf("params = %v, want %v", params, want)
	}
	if _, params := tr.Observe("/users"); params != nil {
		t.Errorf("no parameters: got %v, want nil", params)
	}
}

// TestFolds checks the Folds merge receives: the static value and the
// index of the segment that became a parameter, nested folds composing.
func TestFolds(t *testing.T) {
	type call struct {
		src   int
		folds string
	}
	var calls []call
	type pay struct{ id, n int }
	ids := 0
	tr := New(Options{VariableMin: 3},
		func() *pay { ids++; return &pay{id: ids} },
		func(dst, src *pay, folds []Fold) {
			dst.n += src.n
			calls = append(calls, call{src.id, fmt.Sprint(folds)})
		})
	obs := func(p string) *pay {
		r, _ := tr.Observe(p)
		r.n++
		return r
	}
	x := obs("/a/x/c")
	y := obs("/a/y/c/m")
	obs("/a/y/c/n")
	if len(calls) != 0 {
		t.Fatalf("merged before the third value: %v", calls)
	}
	z := obs("/a/z/c")
	if z == x || z == y {
		t.Fatal("fold reused a folded payload")
	}
	// /a/x/c folds into /a/{aId}/c; /a/y/c/m and /a/y/c/n into
	// /a/{aId}/c/m and .../n.
	if len(calls) != 3 {
		t.Fatalf("calls = %v", calls)
	}
	if want := (call{x.id, "[{1 x}]"}); calls[0] != want {
		t.Errorf("first merge = %v, want %v", calls[0], want)
	}
	for _, c := range calls[1:] {
		if c.src != y.id && c.src != y.id+1 || c.folds != "[{1 y}]" {
			t.Errorf("merge of %d: folds %s, want payload %d or %d with [{1 y}]", c.src, c.folds, y.id, y.id+1)
		}
	}
	if z.n != 2 {
		t.Errorf("/a/{aId}/c counts %d, want 2", z.n)
	}
	// A deeper fold carries both values: /a/{aId}/c/{m,n,o} folds at 3.
	calls = calls[:0]
	obs("/a/w/c/o")
	if len(calls) != 2 || calls[0].folds != "[{3 m}]" || calls[1].folds != "[{3 n}]" {
		t.Errorf("calls = %v", calls)
	}
	// Nested: /b/p/q/{1..} under several words fold with two values.
	calls = calls[:0]
	obs("/b/p/q/r")
	obs("/b/p/q/s")
	obs("/b/u/q/t")
	obs("/b/v/q/r") // third word at /b: p and u fold; q merges r, s, t: 3 words
	got := map[string]bool{}
	for _, c := range calls {
		got[c.folds] = true
	}
	for _, w := range []string{"[{1 p}]", "[{1 u}]", "[{3 r}]", "[{3 s}]", "[{3 t}]"} {
		if !got[w] {
			t.Errorf("no merge with folds %s in %v", w, calls)
		}
	}
}

func TestFoldsThroughRec(t *testing.T) {
	tr := newTrie(Options{VariableMin: 3})
	for _, p := range []string{"/a/x", "/a/x", "/a/y", "/a/z", "/a/7"} {
		observe(tr, p)
	}
	want := "/a/{aId} aId@1* | n=5 1:\"7\"=1 1:\"x\"=2 1:\"y\"=1 1:\"z\"=1\n"
	if got := dump(tr); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestBaseline(t *testing.T) {
	tests := []struct {
		name     string
		baseline []string
		paths    []string
		want     string
	}{
		{"baseline name kept, words routed to it", []string{"/todos/{id}"}, []string{"/todos/active", "/todos/7"},
			"/todos/{id} id@1* | n=2 1:\"7\"=1 1:\"active\"=1\n"},
		{"baseline static stays", []string{"/todos/{id}", "/todos/active"}, []string{"/todos/active", "/todos/7"},
			"/todos/active | n=1\n/todos/{id} id@1* | n=1 1:\"7\"=1\n"},
		{"pinned identifier-like static", []string{"/reports/2024"}, []string{"/reports/2024", "/reports/2025"},
			"/reports/2024 | n=1\n/reports/{reportId} reportId@1 | n=1 1:\"2025\"=1\n"},
		{"smallest given name wins", []string{"/todos/{todoKey}/items", "/todos/{id}"}, []string{"/todos/x/items"},
			"/todos/{id}/items id@1* | n=1 1:\"x\"=1\n"},
		{"given name sanitised", []string{"/todos/{todo id}"}, []string{"/todos/3"},
			"/todos/{todo_id} todo_id@1* | n=1 1:\"3\"=1\n"},
		{"mixed segment ignored", []string{"/files/{name}.{ext}"}, []string{"/files/a.txt"},
			"/files/a.txt | n=1\n"},
		{"pinned statics never fold", []string{"/a/p1", "/a/p2", "/a/p3"}, []string{"/a/p1", "/a/p2", "/a/p3", "/a/w1", "/a/w2"},
			"/a/p1 | n=1\n/a/p2 | n=1\n/a/p3 | n=1\n/a/w1 | n=1\n/a/w2 | n=1\n"},
		{"unobserved baseline paths are not walked", []string{"/a", "/b/{id}"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrie(Options{Baseline: tc.baseline, VariableMin: 3})
			for _, p := range tc.paths {
				observe(tr, p)
			}
			checkInvariants(t, tr)
			if got := dump(tr); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	tr := newTrie(Options{})
	r, err := tr.Add("/todos/{id}", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.count = 3
	observe(tr, "/todos/12")
	observe(tr, "/todos/active") // not variable: a word stays static
	r, err = tr.Add("/todos/{todoKey}", map[string]bool{"todoKey": true})
	if err != nil {
		t.Fatal(err)
	}
	// /todos/active folded in when the Add made the position variable.
	if r.count != 5 {
		t.Errorf("Add returned a payload with %d requests, want 5", r.count)
	}
	want := "/todos/{id} id@1* | n=5 1:\"12\"=1 1:\"active\"=1\n"
	if got := dump(tr); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A name equal to the computed one follows the structure: under a
	// root that turns variable, /users/{userId} becomes /{id}/{id2}.
	tr = newTrie(Options{VariableMin: 2})
	if _, err := tr.Add("/users/{userId}", nil); err != nil {
		t.Fatal(err)
	}
	observe(tr, "/orders")
	if got := templates(tr); !slices.Equal(got, []string{"/{id}", "/{id}/{id2}"}) {
		t.Errorf("templates = %q", got)
	}
}

func TestAddErrors(t *testing.T) {
	tr := newTrie(Options{})
	for _, tmpl := range []string{
		"todos/{id}",
		"",
		"/files/{name}.{ext}",
		"/a/{b",
		"/a/{}",
		"/a/{b c}",
		"/a/{x}/b/{x}",
		strings.Repeat("/a", MaxSegments+1),
	} {
		if _, err := tr.Add(tmpl, nil); err == nil {
			t.Errorf("Add(%q) accepted", tmpl)
		} else if !strings.HasPrefix(err.Error(), "paths: add ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Add(%q): error %q", tmpl, err)
		}
	}
	if tr.Len() != 0 {
		t.Errorf("failed Adds left %d paths", tr.Len())
	}
}

func TestLimits(t *testing.T) {
	tr := newTrie(Options{})
	observe(tr, strings.Repeat("/a", MaxSegments))
	if tr.Len() != 1 || tr.Rejected() != 0 {
		t.Errorf("%d segments: Len %d, Rejected %d", MaxSegments, tr.Len(), tr.Rejected())
	}
	for _, p := range []string{strings.Repeat("/a", MaxSegments+1), strings.Repeat("/x", 10000)} {
		r, params := tr.Observe(p)
		if r != nil || params != nil {
			t.Errorf("over-long path not rejected")
		}
	}
	if tr.Len() != 1 || tr.Rejected() != 2 {
		t.Errorf("Len %d, Rejected %d, want 1 and 2", tr.Len(), tr.Rejected())
	}
	// A huge segment is an identifier: it creates no node of its own.
	huge := strings.Repeat("word", 1<<18)
	_, params := tr.Observe("/blobs/" + huge)
	if len(params) != 1 || params[0].Value != huge {
		t.Errorf("huge segment not a parameter value")
	}
	if got := templates(tr); !slices.Contains(got, "/blobs/{blobId}") {
		t.Errorf("templates = %.200q", got)
	}
	long := strings.Repeat("w", MaxSegmentLen)
	observe(tr, "/k/"+long)
	if got := templates(tr); !slices.Contains(got, "/k/"+long) {
		t.Errorf("a %d-byte word is not static", MaxSegmentLen)
	}
	checkInvariants(t, tr)
}

// TestBounded: a flood of distinct words never holds more than
// VariableMin static children anywhere.
func TestBounded(t *testing.T) {
	tr := newTrie(Options{})
	for i := range 5000 {
		observe(tr, fmt.Sprintf("/w%s/x%s/%s", word(i%7), word(i), word(i*31)))
	}
	checkInvariants(t, tr)
	if tr.Len() > 100 {
		t.Errorf("%d paths from 5000 random words", tr.Len())
	}
}

// word spells i in letters only, so it is never an identifier.
func word(i int) string {
	b := []byte{'q'}
	for i > 0 {
		b = append(b, byte('a'+i%26))
		i /= 26
	}
	return string(b)
}

func TestGivenNames(t *testing.T) {
	tr := newTrie(Options{Baseline: []string{"/todos/{id}", "/todos/{id}/items/{item}"}})
	if _, err := tr.Add("/users/{uid}/todos/{key}", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Add("/users/{userId}/todos/{aaa}", nil); err != nil {
		t.Fatal(err)
	}
	observe(tr, "/todos/3/items/4")
	observe(tr, "/todos/3/items/5/notes/6")
	var got []string
	tr.Walk(func(template string, params []Param, _ *rec) {
		got = append(got, fmt.Sprintf("%s %v", template, params))
	})
	want := []string{
		"/todos/{id}/items/{item} [{id 1 true id} {item 3 true item}]",
		"/todos/{id}/items/{item}/notes/{noteId} [{id 1 true id} {item 3 true item} {noteId 5 false }]",
		// "uid" is given, "userId" is computed: the given name stays; of
		// "key" and "aaa" the smaller wins.
		"/users/{uid}/todos/{aaa} [{uid 1 false uid} {aaa 3 false aaa}]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAddParamsErrors(t *testing.T) {
	tr := newTrie(Options{})
	for _, tc := range []struct {
		template string
		params   []Param
	}{
		{"/a/{x}", nil},
		{"/a/{x}", []Param{{Name: "y", Index: 1}}},
		{"/a/{x}", []Param{{Name: "x", Index: 0}}},
		{"/a/{x}", []Param{{Name: "x", Index: 1}, {Name: "x", Index: 1}}},
		{"/a/{x}", []Param{{Name: "x", Index: 1, Given: "b c"}}},
		{"/a", []Param{{Name: "x", Index: 1}}},
	} {
		if _, err := tr.AddParams(tc.template, tc.params); err == nil {
			t.Errorf("AddParams(%q, %v) accepted", tc.template, tc.params)
		}
	}
	if _, err := tr.AddParams("/a/{x}", []Param{{Name: "x", Index: 1, Given: "x", Variable: true}}); err != nil {
		t.Errorf("AddParams: %v", err)
	}
	if got := dumpGiven(tr, true); got != "/a/{x} x@1*~x | n=0\n" {
		t.Errorf("got %q", got)
	}
}

func TestObserveAllocs(t *testing.T) {
	tr := newTrie(Options{})
	paths := []string{"/users/" + uuid(1) + "/orders", "/users/17/orders/" + uuid(2), "/v1/health"}
	for _, p := range paths {
		observe(tr, p)
	}
	for _, p := range paths {
		if n := testing.AllocsPerRun(100, func() { tr.Observe(p) }); n != 0 {
			t.Errorf("Observe(%q) on a warm trie: %v allocations", p, n)
		}
	}
}
