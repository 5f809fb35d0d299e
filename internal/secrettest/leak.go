package secrettest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// Window is the length of the pieces of a secret an [Index] looks for:
// long enough that a random one is not met by chance, short enough that
// a secret cut in parts is still found.
const Window = 12

// Spelling is one way a secret may be written in an output.
type Spelling struct {
	// Name says which: "raw", "json", "query-escaped", "base64url+1".
	Name string
	Text string
}

// Spellings returns the ways value may be written: raw, JSON-escaped
// (with and without HTML escapes), URL query- and path-escaped, and
// base64 in the standard and URL alphabets at each of the three
// alignments it may have inside a longer encoded text (for those, only
// the characters that depend on value alone, and only when there are at
// least Window of them).
func Spellings(value string) []Spelling {
	var out []Spelling
	seen := map[string]bool{}
	add := func(name, text string) {
		if text != "" && !seen[text] {
			seen[text] = true
			out = append(out, Spelling{name, text})
		}
	}
	add("raw", value)
	if q, err := json.Marshal(value); err == nil {
		add("json", string(q[1:len(q)-1]))
	}
	add("json", strings.Trim(quote(value), `"`))
	add("query-escaped", url.QueryEscape(value))
	add("path-escaped", url.PathEscape(value))
	for k := 0; k < 3 && k < len(value); k++ {
		src := value[k:]
		src = src[:len(src)/3*3]
		for _, enc := range []struct {
			name string
			e    *base64.Encoding
		}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
			if t := enc.e.EncodeToString([]byte(src)); len(t) >= Window {
				add(enc.name+"+"+strconv.Itoa(k), t)
			}
		}
	}
	return out
}

// Index holds every Window-byte piece of an output, to look up secrets
// in it quickly.
type Index struct {
	data   []byte
	pieces map[string]struct{}
}

// NewIndex indexes out.
func NewIndex(out []byte) *Index {
	x := &Index{data: out, pieces: make(map[string]struct{}, max(len(out)-Window+1, 0))}
	for i := 0; i+Window <= len(out); i++ {
		x.pieces[string(out[i:i+Window])] = struct{}{}
	}
	return x
}

// Leak reports whether any piece of value is in the output: a
// Window-byte window of one of its [Spellings], or a whole spelling when
// it is shorter. It returns the spelling's name and the piece found.
func (x *Index) Leak(value string) (spelling, piece string, found bool) {
	return x.leak(value, nil)
}

// Leak is a piece of a planted secret found in an output.
type Leak struct {
	Secret Secret
	// Spelling names how it was written ("raw", "json", "base64+1").
	Spelling string
	Piece    string
}

// Leaks returns, for each of secrets a piece of which is in the output,
// the first piece found (see [Index.Leak]). Windows that secrets of
// different values share are not looked for: they are the fixed parts
// of a shape (a JWT's header, the armor lines of PEM keys), not secret,
// and would blame one secret for another's leak.
func (x *Index) Leaks(secrets []Secret) []Leak {
	owner := map[string]string{}
	shared := map[string]bool{}
	for _, s := range secrets {
		for _, sp := range Spellings(s.Value) {
			for i := 0; i+Window <= len(sp.Text); i++ {
				w := sp.Text[i : i+Window]
				if v, ok := owner[w]; ok && v != s.Value {
					shared[w] = true
				}
				owner[w] = s.Value
			}
		}
	}
	var out []Leak
	for _, s := range secrets {
		if sp, piece, ok := x.leak(s.Value, shared); ok {
			out = append(out, Leak{Secret: s, Spelling: sp, Piece: piece})
		}
	}
	return out
}

func (x *Index) leak(value string, skip map[string]bool) (spelling, piece string, found bool) {
	for _, sp := range Spellings(value) {
		t := sp.Text
		if len(t) < Window {
			if bytes.Contains(x.data, []byte(t)) {
				return sp.Name, t, true
			}
			continue
		}
		for i := 0; i+Window <= len(t); i++ {
			w := t[i : i+Window]
			if _, ok := x.pieces[w]; ok && !skip[w] {
				return sp.Name, w, true
			}
		}
	}
	return "", "", false
}
