package paths

import (
	"fmt"
	"testing"
)

type counter struct{ n int }

func benchTrie() *Trie[*counter] {
	return New(Options{Baseline: []string{"/todos/{id}", "/users/me"}},
		func() *counter { return &counter{} },
		func(dst, src *counter, _ []Fold) { dst.n += src.n })
}

func benchObserve(b *testing.B, paths []string) {
	tr := benchTrie()
	for _, p := range paths {
		tr.Observe(p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c, _ := tr.Observe(paths[i%len(paths)])
		c.n++
	}
}

func BenchmarkObserve(b *testing.B) {
	var one, two, static, variable []string
	for i := range 1024 {
		one = append(one, "/users/"+uuid(i)+"/orders")
		two = append(two, fmt.Sprintf("/users/%d/orders/%s", i, uuid(i)))
		static = append(static, []string{"/v1/health", "/v1/ready", "/users/me", "/api/v2/metrics/summary"}[i%4])
		variable = append(variable, "/todos/"+word(i))
	}
	b.Run("one-uuid", func(b *testing.B) { benchObserve(b, one) })
	b.Run("int-and-uuid", func(b *testing.B) { benchObserve(b, two) })
	b.Run("static", func(b *testing.B) { benchObserve(b, static) })
	b.Run("variable-words", func(b *testing.B) { benchObserve(b, variable) })
}
