package source

import (
	"bytes"
	"testing"

	"github.com/specgate/specgate/capture"
)

// The shapes that leaked through redaction when a body was cut short: JSON
// that no longer parses, and secrets cut in two.
func TestScrubPartial(t *testing.T) {
	for _, c := range []struct {
		name, ct, body, want string
		truncated            bool
	}{
		{"cut JSON array under a sensitive key", "application/json", `{"tokens":["aKsFYxcjbZG4mB0eN1q2","xmfh`, "", true},
		{"cut JSON without a content type", "", `  {"credentials":{"pass":"aKsFYxcjbZG4mB0eN1q2"},"n":`, "", true},
		{"cut token at the end of text", "text/plain", "app token ghs_kFoLEbNPq1w2e3r4t5", "app token ", true},
		{"cut card number", "text/plain", "card 4205 5017 18", "card ", true},
		{"whole bodies are left to the redactor", "application/json", `{"id":"x","password":"p"}`, `{"id":"x","password":"p"}`, false},
		{"text ending in a space keeps every byte", "text/plain", "partial partial ", "partial partial ", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &capture.Exchange{}
			e.Response.Header = capture.Header{{Name: "Content-Type", Value: c.ct}}
			e.Response.Body = []byte(c.body)
			e.Response.Truncated = c.truncated
			scrubPartial(e)
			if !bytes.Equal(e.Response.Body, []byte(c.want)) {
				t.Errorf("body %q, want %q", e.Response.Body, c.want)
			}
			if e.Response.Truncated != c.truncated {
				t.Error("the truncation flag changed")
			}
		})
	}
}
