package redact

import "testing"

func TestSecretNames(t *testing.T) {
	r := New(Options{ExtraHeaders: []string{"X-Tenant-Pass"}, ExtraKeys: []string{"pw"}})
	for _, c := range []struct {
		name        string
		header, key bool
	}{
		{"X-Api-Key", true, true},
		{"X-Auth-Token", true, true},
		{"X-Tenant-Pass", true, false},
		{"Authorization", false, true},
		{"Cookie", false, true},
		{"Content-Type", false, false},
		{"X-Request-Id", false, false},
		{"session", true, true},
		{"access_token", true, true},
		{"pw", false, true},
		{"theme", false, false},
		{"author", true, false}, // header names are judged by their words: "auth"
		{"max_tokens", true, false},
	} {
		if got := r.SecretHeader(c.name); got != c.header {
			t.Errorf("SecretHeader(%q) = %v, want %v", c.name, got, c.header)
		}
		if got := r.SecretKey(c.name); got != c.key {
			t.Errorf("SecretKey(%q) = %v, want %v", c.name, got, c.key)
		}
	}
}

func TestSecretValue(t *testing.T) {
	r := New(Options{})
	for v, want := range map[string]bool{
		"pending":     false,
		"in_progress": false,
		"EUR":         false,
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c": true,
		"AKIAIOSFODNN7EXAMPLE": true,
		"password=hunter2":     true,
	} {
		if got := r.SecretValue(v); got != want {
			t.Errorf("SecretValue(%q) = %v, want %v", v, got, want)
		}
	}
	if r.Count() != 0 {
		t.Errorf("SecretValue counted %d redactions; it redacts nothing", r.Count())
	}
}
