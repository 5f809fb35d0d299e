package redact

import (
	"strings"
	"testing"
	"time"
)

// adversarialUnits, repeated to fill a large body, put a rule's anchor at
// every few bytes; a scanner that re-reads the rest of the body at each
// anchor would take minutes on them.
var adversarialUnits = []string{
	"eyJ", "sk-", "AIza-", "xoxb-", "glpat-", "SG.", "-", "4", "111 ", "4111 1111 1111 1111 ",
	"password='", "password=\"a", "token: ", "<token>", "<a:", ":", "://a:", "bearer ", "basic ",
	"-----BEGIN PRIVATE KEY-----", "hooks.slack.com/services/", "a=", `{"password":`, "[", `{"a":`, `"`, `\u0041`,
	"eyJhbGciOiJub25lIn0" + strings.Repeat("x", 900) + ".a.b eyJ", "ghp_" + strings.Repeat("a", 40) + " ",
	"sk-" + strings.Repeat("aB1", 100) + "-",
}

// TestLinearTime redacts 1 MB adversarial bodies and fails when one takes
// far longer than a linear scan could (generously, for loaded machines).
func TestLinearTime(t *testing.T) {
	if testing.Short() {
		t.Skip("slow in -short mode")
	}
	const size = 1 << 20
	const limit = 5 * time.Second
	r := New(Options{})
	for _, unit := range adversarialUnits {
		s := strings.Repeat(unit, size/len(unit))
		for _, ct := range []string{"text/plain", "application/json", "application/x-www-form-urlencoded"} {
			start := time.Now()
			r.Body(ct, []byte(s))
			if d := time.Since(start); d > limit {
				t.Errorf("%.20q repeated (%d bytes) as %s took %v", unit, len(s), ct, d)
			}
		}
		start := time.Now()
		r.Target("/p/" + s)
		r.Target("/p?" + s)
		if d := time.Since(start); d > limit {
			t.Errorf("%.20q repeated (%d bytes) as a target took %v", unit, len(s), d)
		}
	}
}
