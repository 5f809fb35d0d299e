package match

import (
	"regexp"
	"testing"
)

func TestKeep(t *testing.T) {
	res := func(ss ...string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, s := range ss {
			out = append(out, regexp.MustCompile(s))
		}
		return out
	}
	for _, c := range []struct {
		s                string
		include, exclude []string
		want             bool
	}{
		{"/todos", nil, nil, true},
		{"/todos", []string{"^/todo"}, nil, true},
		{"/users", []string{"^/todo"}, nil, false},
		{"/todos/1", []string{"^/todo"}, []string{"/1$"}, false},
		{"/internal", nil, []string{"^/internal"}, false},
	} {
		if got := Keep(c.s, res(c.include...), res(c.exclude...)); got != c.want {
			t.Errorf("Keep(%q, %v, %v) = %v", c.s, c.include, c.exclude, got)
		}
	}
}
