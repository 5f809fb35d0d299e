package actionrun

import (
	"strings"
	"testing"
)

func testScope(failed bool) *scope {
	return &scope{failed: failed, contexts: map[string]any{
		"inputs": map[string]any{"name": "World", "github-token": "t", "empty": "", "yes": "true"},
		"github": map[string]any{
			"ref_name": "main",
			"event":    map[string]any{"repository": map[string]any{"default_branch": "main"}, "number": float64(7)},
		},
		"runner": map[string]any{"temp": "/tmp/r"},
		"env":    map[string]any{"FOO": "bar"},
		"steps":  map[string]any{"mode": map[string]any{"outputs": map[string]any{"update": "true"}, "outcome": "success"}},
	}}
}

func TestInterpolate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"${{ inputs.name }}", "World"},
		{"hello ${{inputs.name}}!", "hello World!"},
		{"${{ inputs.github-token }}", "t"},
		{"${{ INPUTS.NAME }}", "World"},
		{"${{ runner.temp }}/specs", "/tmp/r/specs"},
		{"${{ github.event.repository.default_branch }}", "main"},
		{"${{ github.event.number }}", "7"},
		{"${{ github.event.missing.deeper }}", ""},
		{"${{ steps.mode.outputs.update }}", "true"},
		{"${{ steps.none.outputs.update }}", ""},
		{"${{ env.FOO }}", "bar"},
		{"${{ 'it''s' }}", "it's"},
		{"${{ '}}' }}", "}}"},
		{"${{ inputs.name == 'world' }}", "true"},
		{"${{ inputs.name != 'world' }}", "false"},
		{"${{ inputs.empty || 'fallback' }}", "fallback"},
		{"${{ inputs.name && 'yes' || 'no' }}", "yes"},
		{"${{ inputs.empty && 'yes' || 'no' }}", "no"},
		{"${{ !inputs.empty }}", "true"},
		{"${{ !(inputs.yes == 'true') }}", "false"},
		{"${{ inputs.yes == true }}", "false"}, // 'true' as a number is NaN
		{"${{ null == inputs.missing }}", "true"},
		{"${{ github.ref_name == github.event.repository.default_branch }}", "true"},
		{"${{ true }} ${{ false }} ${{ null }}.", "true false ."},
		{"${{ github.event.repository }}", "{\n  \"default_branch\": \"main\"\n}"},
	}
	for _, tt := range tests {
		got, err := testScope(false).interpolate(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInterpolateErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"${{ secrets.TOKEN }}", `context "secrets" is not supported`},
		{"${{ matrix.os }}", `context "matrix" is not supported`},
		{"${{ format('{0}', inputs.name) }}", "function format() is not supported"},
		{"${{ contains(inputs.name, 'W') }}", "function contains() is not supported"},
		{"${{ inputs['name'] }}", "index access"},
		{"${{ github.event.* }}", "index access and filters"},
		{"${{ 1 == 1 }}", "numbers are not supported"},
		{"${{ inputs.name < 'x' }}", "unsupported character"},
		{"${{ 'open }}", "missing }}"},
		{"${{ 'open", "missing }}"},
		{"${{ inputs.name", "missing }}"},
		{"${{ (inputs.name }}", "missing )"},
		{"${{ inputs.name inputs.name }}", "unexpected"},
		{"${{ }}", "unexpected end"},
		{"${{ success('x') }}", "no arguments"},
		{"${{ inputs. }}", "property name"},
	}
	for _, tt := range tests {
		_, err := testScope(false).interpolate(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one saying %q", tt.in, err, tt.want)
		}
	}
}

func TestCondition(t *testing.T) {
	tests := []struct {
		cond   string
		failed bool
		want   bool
	}{
		{"", false, true},
		{"", true, false},
		{"steps.mode.outputs.update == 'true'", false, true},
		{"steps.mode.outputs.update == 'TRUE'", false, true}, // strings compare ignoring case
		{"steps.mode.outputs.update == 'true'", true, false}, // success() is implied
		{"${{ steps.mode.outputs.update == 'false' }}", false, false},
		{"always()", true, true},
		{"failure()", true, true},
		{"failure()", false, false},
		{"success()", true, false},
		{"cancelled()", false, false},
		{"always() && inputs.empty == ''", true, true},
		{"!cancelled() && inputs.name == 'nobody'", true, false},
		{"true", false, true},
		{"inputs.missing", false, false},
	}
	for _, tt := range tests {
		got, err := testScope(tt.failed).condition(tt.cond)
		if err != nil {
			t.Errorf("%q: %v", tt.cond, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q (failed=%v) = %v, want %v", tt.cond, tt.failed, got, tt.want)
		}
	}
	if _, err := testScope(false).condition("hashFiles('go.sum') != ''"); err == nil {
		t.Error("hashFiles() evaluated, want an error")
	}
}
