package schema_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/specgate/specgate/infer/schema"
)

// todo returns a realistic response body of about 300 bytes; i varies its
// values as traffic does.
func todo(i int) string {
	return fmt.Sprintf(`{"id":"%08x-e29b-41d4-a716-446655440000","title":"Buy milk and bread %d","done":%t,`+
		`"priority":%d,"tags":["home","errand"],"created_at":"2024-05-%02dT10:00:00Z",`+
		`"owner":{"id":%d,"name":"Ada Lovelace","email":"ada%d@example.com"},"due":null,"score":%d.5,"status":"open"}`,
		i, i, i%2 == 0, i%3, 1+i%28, 1000+i, i, i%5)
}

// page returns a body of about 5 KB: a page of todos.
func page(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"page":%d,"per_page":15,"total":%d,"items":[`, i, 100+i)
	for j := range 15 {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString(todo(i*15 + j))
	}
	b.WriteString(`],"next":"https://api.example.com/todos?page=2"}`)
	return b.String()
}

func benchObserve(b *testing.B, body func(int) string) {
	docs := make([][]byte, 64)
	for i := range docs {
		docs[i] = []byte(body(i))
	}
	s := schema.New()
	for _, d := range docs { // warm: every place known
		if err := s.ObserveJSON(d); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(docs[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.ObserveJSON(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkObserveJSON300B(b *testing.B) { benchObserve(b, todo) }
func BenchmarkObserveJSON5KB(b *testing.B)  { benchObserve(b, page) }

func BenchmarkObserveText(b *testing.B) {
	s := schema.New()
	vals := []string{"42", "550e8400-e29b-41d4-a716-446655440000", "open", "2024-05-01"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.ObserveText(vals[i%len(vals)], 1)
		i++
	}
}

func warmPage(b *testing.B, from, to int) *schema.Shape {
	s := schema.New()
	for i := from; i < to; i++ {
		if err := s.ObserveJSON([]byte(page(i))); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkMerge(b *testing.B) {
	acc := warmPage(b, 0, 8)
	other := warmPage(b, 8, 16)
	b.ReportAllocs()
	for b.Loop() {
		acc.Merge(other)
	}
}

func BenchmarkSchema(b *testing.B) {
	s := warmPage(b, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		s.Schema(schema.Options{})
	}
}

func BenchmarkFromSchema(b *testing.B) {
	sc := warmPage(b, 0, 8).Schema(schema.Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schema.FromSchema(sc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestObserveJSONWarmAllocs: once every place of a body is known, observing
// it again allocates nothing (values whose format check allocates inside
// package format, such as e-mail addresses, are left out).
func TestObserveJSONWarmAllocs(t *testing.T) {
	docs := make([][]byte, 32)
	for i := range docs {
		docs[i] = []byte(fmt.Sprintf(`{"id":"%08x-e29b-41d4-a716-446655440000","title":"line %d\nnext \"q\" caf\u00e9",`+
			`"done":%t,"n":%d,"big":%d,"f":%d.25,"at":"2024-05-%02dT10:00:00Z","status":"open","tags":["a","b"],`+
			`"owner":{"name":"Ada","roles":[{"r":"admin"}]},"due":null,"m":{"item_%d":[1]}}`,
			i, i, i%2 == 0, i, int64(i)<<40, i, 1+i%28, i))
	}
	s := schema.New()
	for _, d := range docs {
		if err := s.ObserveJSON(d); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		if err := s.ObserveJSON(docs[i%len(docs)]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("warm ObserveJSON allocates %.1f times per document", allocs)
	}
}
