package actionrun

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseKeyValues(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "pairs", in: "a=1\nb=two words\n\nc=\n", want: map[string]string{"a": "1", "b": "two words", "c": ""}},
		{name: "value with = and <<", in: "a=x=y<<z\n", want: map[string]string{"a": "x=y<<z"}},
		{name: "crlf", in: "a=1\r\nb=2\r\n", want: map[string]string{"a": "1", "b": "2"}},
		{name: "last wins", in: "a=1\na=2\n", want: map[string]string{"a": "2"}},
		{name: "heredoc", in: "doc<<EOF\nline 1\n\nline=3\nEOF\nafter=1\n", want: map[string]string{"doc": "line 1\n\nline=3", "after": "1"}},
		{name: "heredoc empty", in: "doc<<END\nEND\n", want: map[string]string{"doc": ""}},
		{name: "heredoc delimiter must be the whole line", in: "doc<<END\n END\nEND2\nEND\n", want: map[string]string{"doc": " END\nEND2"}},
		{name: "unclosed heredoc", in: "doc<<END\nline\n", err: "no closing delimiter"},
		{name: "no name", in: "=value\n", err: "empty name"},
		{name: "no delimiter", in: "doc<<\n", err: "want NAME<<DELIMITER"},
		{name: "neither", in: "just text\n", err: "want NAME=VALUE"},
	}
	for _, tt := range tests {
		got, _, err := parseKeyValues(tt.in, "GITHUB_OUTPUT")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
