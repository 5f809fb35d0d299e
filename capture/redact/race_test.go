//go:build race

package redact_test

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// pooled scratch is allocated anew now and then and allocation counts
// mean nothing.
const raceEnabled = true
