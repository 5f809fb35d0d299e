//go:build !race

package redact_test

// raceEnabled: see race_test.go.
const raceEnabled = false
