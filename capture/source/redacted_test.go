package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
)

// TestRedactedMarker: exchanges a file says specgate already redacted are
// not redacted again with the built-in rules (redacting is idempotent), but
// are with extra names, and every exchange leaves the pipeline marked.
func TestRedactedMarker(t *testing.T) {
	const entry = `{"request":{"method":"POST","url":"http://api.test/login","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"application/json"}],` +
		`"postData":{"mimeType":"application/json","text":"{\"password\":\"hunter2\",\"tenant_pin\":\"7\"}"}},` +
		`"response":{"status":204,"httpVersion":"HTTP/1.1","headers":[],"content":{"size":0}}%s}`
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		marker string
		opts   redact.Options
		want   string
	}{
		{"unmarked", "", redact.Options{}, `{"password":"REDACTED","tenant_pin":"7"}`},
		{"marked", `,"_redacted":true`, redact.Options{}, `{"password":"hunter2","tenant_pin":"7"}`},
		{"marked, extra keys", `,"_redacted":true`, redact.Options{ExtraKeys: []string{"tenant_pin"}}, `{"password":"REDACTED","tenant_pin":"REDACTED"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".ndjson")
			if err := os.WriteFile(p, []byte(strings.Replace(entry, "%s", c.marker, 1)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var got []*capture.Exchange
			err := ReadFile(context.Background(), p, Options{Redactor: redact.New(c.opts)}, capture.NewStats(), func(e *capture.Exchange) error {
				got = append(got, e)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d exchanges", len(got))
			}
			if b := string(got[0].Request.Body); b != c.want {
				t.Errorf("body %s, want %s", b, c.want)
			}
			if !got[0].Redacted {
				t.Errorf("exchange not marked redacted")
			}
		})
	}
}
