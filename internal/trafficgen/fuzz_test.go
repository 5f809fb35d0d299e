package trafficgen

import (
	"bytes"
	"io"
	"testing"

	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/redact"
)

// FuzzGenerate checks, for any seed, that the output reads back as the
// exchanges generated, and that specgate's redactor finds nothing in them.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(0), uint16(1))
	f.Add(uint64(42), uint16(200))
	f.Add(^uint64(0), uint16(57))
	f.Fuzz(func(t *testing.T, seed uint64, count uint16) {
		n := int(count % 256)
		var buf bytes.Buffer
		if err := Generate(&buf, n, seed); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if buf.Len() != 0 {
				t.Fatalf("%d bytes for no exchange", buf.Len())
			}
			return
		}
		rd, err := har.NewReader(&buf, "traffic.ndjson")
		if err != nil {
			t.Fatal(err)
		}
		g := New(seed)
		r := redact.New(redact.Options{})
		for i := 0; ; i++ {
			x, err := rd.Next()
			if err == io.EOF {
				if i != n {
					t.Fatalf("read %d exchanges, want %d", i, n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := g.Next(); !sameExchange(x, want) {
				t.Fatalf("exchange %d differs", i)
			}
			r.Exchange(x)
			if r.Count() != 0 {
				t.Fatalf("exchange %d: the redactor redacted %d values in %s %s", i, r.Count(), x.Request.Method, x.Request.Target)
			}
		}
	})
}
