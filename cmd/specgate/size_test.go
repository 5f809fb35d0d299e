package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512", 512, true}, {"64KiB", 64 << 10, true}, {"8MiB", 8 << 20, true}, {"1GiB", 1 << 30, true},
		{"2MB", 2000000, true}, {"3m", 3 << 20, true}, {"10B", 10, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5MiB", 0, false}, {"lots", 0, false}, {"9999999999GiB", 0, false},
	} {
		got, err := parseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	for _, n := range []int64{512, 64 << 10, 8 << 20, 1 << 30, 3 << 30, 1536} {
		s := sizeValue(n)
		back, err := parseSize(s.String())
		if err != nil || back != n {
			t.Errorf("String(%d) = %q reads back as %d, %v", n, s.String(), back, err)
		}
	}
}
