package jsonstr

import (
	"encoding/json"
	"testing"
)

// TestMatchesEncodingJSON: valid JSON strings decode as encoding/json
// decodes them.
func TestMatchesEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`plain`, `a\"b\\c\/d`, `\b\f\n\r\t`, `caf\u00e9`, `\ud83d\ude00`, `\ud800x`, `\udc00`,
		`\ud800\u0041`, "a\xffb", "\xe2\x82", `mixed \u20ac and ` + "\xc3\xa9", ``,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if got := string(AppendDecoded(nil, raw)); got != want {
			t.Errorf("AppendDecoded(%q) = %q, want %q", raw, got, want)
		}
		if got := string(AppendDecoded([]byte("x"), raw)); got != "x"+want {
			t.Errorf("AppendDecoded after a prefix (%q) = %q", raw, got)
		}
	}
}

func TestAppendUnquoted(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{`a\nb`, "a\nb", true},
		{"raw\xff", "raw\xff", true}, // kept as it is
		{`bad\q`, "bad", false},
		{`cut\`, "cut", false},
		{`\u12`, "", false},
		{`\u00e9`, "é", true},
	} {
		got, ok := AppendUnquoted(nil, []byte(c.in))
		if string(got) != c.want || ok != c.ok {
			t.Errorf("AppendUnquoted(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzAppendDecoded(f *testing.F) {
	f.Add(`a\u00e9\ud83d\ude00`)
	f.Add("\xff\\n")
	f.Fuzz(func(t *testing.T, raw string) {
		var want string
		if json.Unmarshal([]byte(`"`+raw+`"`), &want) != nil {
			AppendUnquoted(nil, []byte(raw)) // must not panic
			return
		}
		if got := string(AppendDecoded(nil, raw)); got != want {
			t.Fatalf("AppendDecoded(%q) = %q, want %q", raw, got, want)
		}
	})
}
