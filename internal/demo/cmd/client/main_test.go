package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/specgate/specgate/internal/demo/stats"
	"github.com/specgate/specgate/internal/demo/todo"
)

func system(t *testing.T, version string) (todoURL, statsURL string) {
	t.Helper()
	st := httptest.NewServer(stats.New())
	t.Cleanup(st.Close)
	v, _ := todo.Lookup(version)
	tt := httptest.NewServer(todo.New(todo.Config{Version: v, StatsURL: st.URL, Log: log.New(io.Discard, "", 0)}))
	t.Cleanup(tt.Close)
	return tt.URL, st.URL
}

func TestRun(t *testing.T) {
	seedLine := regexp.MustCompile(`\(seed (\d+)\)`)
	for _, tc := range []struct {
		version, extra string
		code           int
		stdout, stderr string
	}{
		{"v1", "", 0, "PASS: integration tests against todo v1 (seed ", ""},
		{"v2", "-seed=12", 0, "PASS: integration tests against todo v2 (seed 12)\n", ""},
		{"v3", "-v", 0, "DELETE /todos 200\n", ""},
		{"v1-removed-op", "-seed=0", 1, "", "FAIL: integration tests against todo v1-removed-op (seed 0):\n  PUT /todos/{id}: status 405, want 200"},
	} {
		todoURL, statsURL := system(t, tc.version)
		args := []string{"-todo", todoURL, "-stats", statsURL, "-version", tc.version}
		if tc.extra != "" {
			args = append(args, tc.extra)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, tc.code, stdout.String(), stderr.String())
		}
		if !seedLine.MatchString(stdout.String() + stderr.String()) {
			t.Errorf("%v: no seed in the output", args)
		}
	}
	// Without -seed, each run draws its own.
	seeds := map[string]bool{}
	todoURL, statsURL := system(t, "v1")
	for range 3 {
		var stdout bytes.Buffer
		run(context.Background(), []string{"-todo", todoURL, "-stats", statsURL}, &stdout, io.Discard)
		if m := seedLine.FindStringSubmatch(stdout.String()); m != nil {
			seeds[m[1]] = true
		}
	}
	if len(seeds) != 3 {
		t.Errorf("three runs without -seed used seeds %v", seeds)
	}
}

func TestRefuses(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-seed", "x"}, {"-version", "v9"}} {
		var stderr bytes.Buffer
		if c := run(context.Background(), args, io.Discard, &stderr); c != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d: %s", args, c, stderr.String())
		}
	}
}
