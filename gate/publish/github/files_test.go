package github

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/specgate/specgate/gate/render"
)

// parseOutputs reads a GITHUB_OUTPUT file as the runner does: name=value
// lines, and name<<DELIMITER blocks ending at a line that is the
// delimiter. It gives the names in file order too.
func parseOutputs(t *testing.T, data string) (map[string]string, []string) {
	t.Helper()
	out := map[string]string{}
	var order []string
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		eq, hd := strings.Index(l, "="), strings.Index(l, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			out[l[:eq]] = l[eq+1:]
			order = append(order, l[:eq])
			continue
		}
		if hd < 0 {
			t.Fatalf("line %d %q is neither form", i+1, l)
		}
		name, delim := l[:hd], l[hd+2:]
		var val []string
		for i++; ; i++ {
			if i >= len(lines) {
				t.Fatalf("delimiter %q of %s never closes", delim, name)
			}
			if lines[i] == delim {
				break
			}
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
		order = append(order, name)
	}
	return out, order
}

func TestSetOutputs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "set_output")
	if err := os.WriteFile(p, []byte("earlier=kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{
		"verdict":      "fail",
		"breaking":     "2",
		"summary":      "2 breaking changes\nin todo\n",
		"comment-url":  "https://github.example/octo-org/app/pull/7#issuecomment-1001",
		"tricky":       "a=b<<c",
		"empty":        "",
		"_underscored": "x\r\ny",
	}
	if err := SetOutputs(p, kv); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	got, order := parseOutputs(t, string(data))
	want := map[string]string{"earlier": "kept"}
	for k, v := range kv {
		want[k] = v
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%q\nwant\n%q\nfile:\n%s", got, want, data)
	}
	if wantOrder := []string{"earlier", "_underscored", "breaking", "comment-url", "empty", "summary", "tricky", "verdict"}; !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("order %v, want %v", order, wantOrder)
	}
	if !strings.Contains(string(data), "verdict=fail\n") || !strings.Contains(string(data), "summary<<specgate_") {
		t.Errorf("file:\n%s", data)
	}

	// Delimiters are random: a second write picks another.
	p2 := filepath.Join(t.TempDir(), "set_output")
	if err := SetOutputs(p2, map[string]string{"summary": "a\nb"}); err != nil {
		t.Fatal(err)
	}
	d2, _ := os.ReadFile(p2)
	first := strings.SplitN(string(d2), "\n", 2)[0]
	if strings.Contains(string(data), first) {
		t.Errorf("delimiter %q used twice", first)
	}
}

func TestSetOutputsRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		path string
		kv   map[string]string
		err  string
	}{
		{"", map[string]string{"a": "b"}, "GITHUB_OUTPUT is not set"},
		{filepath.Join(dir, "o"), map[string]string{"a=b": "c"}, `"a=b" is not an output name`},
		{filepath.Join(dir, "o"), map[string]string{"a\nb": "c"}, "is not an output name"},
		{filepath.Join(dir, "o"), map[string]string{"x<<EOF": "c"}, "is not an output name"},
		{filepath.Join(dir, "o"), map[string]string{"1st": "c"}, "is not an output name"},
		{filepath.Join(dir, "o"), map[string]string{"": "c"}, "is not an output name"},
		{filepath.Join(dir, "missing", "o"), map[string]string{"a": "b"}, "no such file or directory"},
	}
	for _, tt := range tests {
		err := SetOutputs(tt.path, tt.kv)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("SetOutputs(%q, %q) = %v, want %q", tt.path, tt.kv, err, tt.err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o")); err == nil {
		t.Error("a refused call wrote the file")
	}
}

func TestAppendSummary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "step_summary")
	if err := AppendSummary(p, "## Tests\n\nall green\n"); err != nil {
		t.Fatal(err)
	}
	report := markdown(t, 1, render.Options{})
	if err := AppendSummary(p, strings.TrimRight(report, "\n")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if want := "## Tests\n\nall green\n\n" + strings.TrimRight(report, "\n") + "\n"; string(data) != want {
		t.Errorf("summary:\n%s", data)
	}
	if !strings.HasSuffix(string(data), "\n") {
		t.Error("no final line break")
	}
	if err := AppendSummary("", "x"); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY is not set") {
		t.Errorf("no path: %v", err)
	}
}

func TestAppendSummaryTrims(t *testing.T) {
	p := filepath.Join(t.TempDir(), "step_summary")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", MaxSummaryLen-5000)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("<details><summary>big</summary>\n\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := AppendSummary(p, b.String()); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if len(data) > MaxSummaryLen || !strings.Contains(string(data), "trimmed to fit the job summary") || !strings.HasSuffix(string(data), "\n") {
		t.Errorf("%d bytes, ends %q", len(data), data[len(data)-80:])
	}
	if strings.Count(string(data), "<details>") != strings.Count(string(data), "</details>") {
		t.Error("details left open")
	}
	// A full summary takes nothing more.
	if err := AppendSummary(p, strings.Repeat("y", 10000)); err == nil || !strings.Contains(err.Error(), "full") {
		t.Errorf("full summary: %v", err)
	}
}
