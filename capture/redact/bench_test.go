package redact

import (
	"fmt"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/secrettest"
)

// cleanJSON2K returns about 2 KB of realistic JSON with no secret in it:
// ids, timestamps, prices, URLs, an escaped string.
func cleanJSON2K() []byte {
	g := secrettest.New(41)
	var items []string
	for i := 0; len(strings.Join(items, ",")) < 1800; i++ {
		items = append(items, fmt.Sprintf(`{"id":"%s","sku":"RS-%04d","name":"Trail runner \"%d\"","price":%d.99,"created_at":"2024-03-01T12:%02d:56Z","updated_ms":%d,"url":"https:\/\/shop.example.com\/p\/%d","tags":["run","trail"],"stock":%d,"active":true}`,
			g.UUID(), 1000+i, i, 80+i, i%60, 1709296496789+int64(i), i, i*3))
	}
	return []byte(`{"data":[` + strings.Join(items, ",") + `],"page":2,"per_page":50,"total":1234}`)
}

func BenchmarkCleanJSON(b *testing.B) {
	body := cleanJSON2K()
	r := New(Options{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if out := r.Body("application/json", body); &out[0] != &body[0] {
			b.Fatal("clean body copied")
		}
	}
	if r.Count() != 0 {
		b.Fatalf("clean body redacted %d values", r.Count())
	}
}

func BenchmarkSecretJSON(b *testing.B) {
	g := secrettest.New(42)
	body := []byte(strings.Replace(string(cleanJSON2K()), `"page":2`,
		`"page":2,"auth":{"access_token":"`+g.Str(secrettest.Alnum, 40)+`","refresh_token":"`+g.Str(secrettest.Alnum, 40)+
			`","id_token":"`+g.JWT()+`"},"note":"key AKIA`+g.Str(secrettest.Base32, 16)+`","password":"`+g.Str(secrettest.Alnum, 16)+`"`, 1))
	r := New(Options{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.Body("application/json", body)
	}
}

func BenchmarkCleanText(b *testing.B) {
	s := strings.Repeat("2024-03-01T12:34:56.789Z INFO request_id=3f2b6c1e-8d1a-4b7e-9c2d-5a6b7c8d9e0f method=GET path=/api/v1/orders?page=2 status=200 duration_ms=12\n", 16)
	r := New(Options{})
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		r.Text(s)
	}
}

func BenchmarkHeader(b *testing.B) {
	h := capture.Header{
		{Name: "Host", Value: "api.example.com"}, {Name: "User-Agent", Value: "Go-http-client/1.1"},
		{Name: "Accept", Value: "application/json"}, {Name: "X-Request-Id", Value: "3f2b6c1e-8d1a-4b7e-9c2d-5a6b7c8d9e0f"},
		{Name: "Content-Type", Value: "application/json; charset=utf-8"}, {Name: "Content-Length", Value: "2048"},
	}
	r := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		r.Header(h)
	}
}

func BenchmarkTarget(b *testing.B) {
	t := "/api/v1/orders?page=2&per_page=50&sort=-created_at&since=2024-03-01T00%3A00%3A00Z&status=shipped"
	r := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		r.Target(t)
	}
}
