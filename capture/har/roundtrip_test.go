package har

import (
	"bytes"
	"testing"

	"github.com/specgate/specgate/capture"
)

// writeAll writes xs in format f and returns the bytes.
func writeAll(t testing.TB, f Format, xs []*capture.Exchange) []byte {
	t.Helper()
	return newWriteAll(t, f, Creator{Name: "specgate", Version: "test"}, xs)
}

// readAll reads every exchange of data.
func readAll(t testing.TB, name string, data []byte) ([]*capture.Exchange, *Reader) {
	t.Helper()
	xs, r, err := readFrom(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	return xs, r
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []Format{FormatHAR, FormatNDJSON} {
		t.Run(f.String(), func(t *testing.T) {
			g := newGen(uint64(f) + 1)
			var xs []*capture.Exchange
			for range 3000 {
				xs = append(xs, g.exchange())
			}
			data := writeAll(t, f, xs)
			got, r := readAll(t, "roundtrip."+f.String(), data)
			if !Sniff(data[:300]) {
				t.Errorf("Sniff does not recognise the first bytes written")
			}
			if r.Format() != f {
				t.Errorf("detected %v, wrote %v", r.Format(), f)
			}
			if len(r.Skipped()) != 0 {
				t.Errorf("skipped %d entries, first: %+v", len(r.Skipped()), r.Skipped()[0])
			}
			if len(got) != len(xs) {
				t.Fatalf("read %d exchanges, wrote %d", len(got), len(xs))
			}
			fails := 0
			for i := range xs {
				if d := diff(canonical(xs[i]), got[i]); d != "" {
					t.Errorf("exchange %d: %s", i, d)
					if fails++; fails > 5 {
						t.FailNow()
					}
				}
			}
			// what was read writes the same bytes again
			if again := writeAll(t, f, got); !bytes.Equal(again, data) {
				t.Errorf("rewriting what was read changed the bytes")
			}
		})
	}
}

// TestRoundTripAcrossFormats converts HAR to NDJSON and back.
func TestRoundTripAcrossFormats(t *testing.T) {
	g := newGen(7)
	var xs []*capture.Exchange
	for range 200 {
		xs = append(xs, g.exchange())
	}
	har := writeAll(t, FormatHAR, xs)
	fromHAR, _ := readAll(t, "a.har", har)
	nd := writeAll(t, FormatNDJSON, fromHAR)
	fromND, _ := readAll(t, "a.ndjson", nd)
	if again := writeAll(t, FormatHAR, fromND); !bytes.Equal(again, har) {
		t.Fatal("HAR → NDJSON → HAR changed the bytes")
	}
}

func TestWriteDeterministic(t *testing.T) {
	for _, f := range []Format{FormatHAR, FormatNDJSON} {
		g1, g2 := newGen(42), newGen(42)
		var a, b []*capture.Exchange
		for range 100 {
			a = append(a, g1.exchange())
			b = append(b, g2.exchange())
		}
		if !bytes.Equal(writeAll(t, f, a), writeAll(t, f, b)) {
			t.Errorf("%v: equal exchanges gave different bytes", f)
		}
	}
}
