package format

import "testing"

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Set // formats that must be present
		not  Set // formats that must be absent
		name string
	}{
		{"3f2504e0-4f89-11d3-9a0c-0305e82c3301", UUID, Byte | Int, "uuid"},
		{"2024-01-31", Date, DateTime | Int, "date"},
		{"2024-13-01", 0, Date, ""},
		{"2024-01-31T09:30:00Z", DateTime, Date, "date-time"},
		{"2024-01-31T09:30:00.123+02:00", DateTime, 0, "date-time"},
		{"2024-01-31T09:30:00", 0, DateTime, ""}, // no offset: not RFC 3339
		{"09:30:00", Time, DateTime, "time"},
		{"25:30:00", 0, Time, ""},
		{"ada@example.com", Email, Hostname, "email"},
		{"ada@localhost", 0, Email, ""},
		{"192.168.1.20", IPv4, Hostname | Number, "ipv4"},
		{"2001:db8::1", IPv6, 0, "ipv6"},
		{"https://example.com/a?b=c", URI, Hostname, "uri"},
		{"http:/nohost", 0, URI, ""},
		{"api.example.com", Hostname, 0, "hostname"},
		{"hello", 0, Hostname | Byte | Hex, ""},
		{"v1.2", 0, Hostname, ""},
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", ULID, 0, "ulid"},
		{"aGVsbG8gd29ybGQgaGVsbG8=", Byte, 0, "byte"},
		{"abcdefghijklmnop", 0, Byte, ""}, // a word-like run of letters
		{"deadbeef42", Hex, 0, ""},
		{"42", Int, Number | Hex, ""},
		{"-7", Int, 0, ""},
		{"007", 0, Int, ""},
		{"4.5", Number, Int, ""},
		{"1e9", Number, Int, ""},
		{"99999999999999999999", Number, Int, ""},
		{"true", Bool, 0, ""},
		{"", 0, ^Set(0), ""},
	} {
		got := Classify(c.in)
		if got&c.want != c.want || got&c.not != 0 {
			t.Errorf("Classify(%q) = %b, want %b and none of %b", c.in, got, c.want, c.not)
		}
		if n := got.Name(); n != c.name {
			t.Errorf("Classify(%q).Name() = %q, want %q", c.in, n, c.name)
		}
		if c.name != "" && Parse(c.name).Name() != c.name {
			t.Errorf("Parse(%q) does not round-trip", c.name)
		}
	}
}

func TestIsID(t *testing.T) {
	ids := []string{"42", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		"2024-01-31", "ada@example.com", "deadbeef42", "my-post-2024", "sku_12345", "a1b2c3d4", "release-notes-2024"}
	words := []string{"me", "health", "ready", "v1", "v2.1", "oauth2", "s3", "ipv4", "h2c", "hello-world",
		"line-items", "users", "api", "", "top10"}
	for _, s := range ids {
		if !IsID(s) {
			t.Errorf("IsID(%q) = false, want true", s)
		}
	}
	for _, s := range words {
		if IsID(s) {
			t.Errorf("IsID(%q) = true, want false", s)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"2024-01-31T09:30:00Z", "ada@example.com", "::1", "x://y", "1e5", "-", "aGVsbG8="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Classify(s)
		if got&Bool != 0 && got != Bool {
			t.Fatalf("%q: Bool with others: %b", s, got)
		}
		if got&Int != 0 && got&Number != 0 {
			t.Fatalf("%q: both Int and Number", s)
		}
		_ = IsID(s)
	})
}
