package main

import "testing"

func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		want     int
	}{
		{"todos", 34}, {"users", 112}, {"reports", 8}, {"articles", 29}, {"misc", 14}, {"all", 197},
	} {
		n, err := run("127.0.0.1:0", tc.scenario)
		if err != nil || n != tc.want {
			t.Errorf("scenario %s: %d exchanges, %v; want %d", tc.scenario, n, err, tc.want)
		}
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct{ addr, scenario string }{
		{"127.0.0.1:0", "everything"},
		{"0.0.0.0:0", "todos"},
		{"localhost:0", "todos"},
		{"127.0.0.1", "todos"},
	} {
		if _, err := run(tc.addr, tc.scenario); err == nil {
			t.Errorf("run(%q, %q) succeeded", tc.addr, tc.scenario)
		}
	}
}
