package har

import (
	"encoding/json"
	"testing"
)

// TestTextMatchesEncodingJSON decodes JSON strings with rText and with
// encoding/json, which must agree on every valid UTF-8 string.
func TestTextMatchesEncodingJSON(t *testing.T) {
	lits := []string{
		`""`, `"plain"`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u00e9\u20AC"`,
		`"\ud83d\ude00 pair"`, `"\ud800 lone high"`, `"\udc00 lone low"`, `"\ud800\u0041 high then not low"`,
		`"\ud800\ud800\udc00"`, `"é€😀 raw"`, `"\u0000\u001f"`, `"\u2028\u2029"`,
	}
	g := newGen(3)
	for range 500 {
		b, _ := json.Marshal(g.text(40, false))
		lits = append(lits, string(b))
	}
	for _, lit := range lits {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		var got rText
		if err := json.Unmarshal([]byte(lit), &got); err != nil {
			t.Fatal(err)
		}
		if !got.set || string(got.b) != want || got.b == nil {
			t.Errorf("%s: got %q (set %v), encoding/json %q", lit, got.b, got.set, want)
		}
	}
	for _, lit := range []string{`null`, `12`, `{"a":1}`, `[1]`, `true`} {
		var got rText
		if err := json.Unmarshal([]byte(lit), &got); err != nil || got.set {
			t.Errorf("%s: set %v, err %v", lit, got.set, err)
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		in    string
		want  int64
		ok    bool
		float float64
	}{
		{`12`, 12, true, 12},
		{`-1`, -1, true, -1},
		{`12.75`, 12, true, 12.75},
		{`1e3`, 1000, true, 1000},
		{`"42"`, 42, true, 42},
		{`9223372036854775807`, 1<<63 - 1, true, 1 << 63},
		{`1e300`, 0, false, 1e300},
		{`null`, 0, false, 0},
		{`"n/a"`, 0, false, 0},
		{`{"x":1}`, 0, false, 0},
		{`true`, 0, false, 0},
	}
	for _, tt := range tests {
		var n num
		if err := json.Unmarshal([]byte(tt.in), &n); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		got, ok := n.int()
		if got != tt.want || ok != tt.ok || n.f != tt.float {
			t.Errorf("%s: int %d, %v; float %v; want %d, %v, %v", tt.in, got, ok, n.f, tt.want, tt.ok, tt.float)
		}
	}
}
