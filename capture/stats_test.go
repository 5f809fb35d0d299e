package capture

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestExplainSaysWhyNothingWasCaptured(t *testing.T) {
	for _, c := range []struct {
		name string
		s    Stats
		want string
	}{
		{"no packets", Stats{}, "no packets were captured: check the interface, the filter and that traffic ran during the capture"},
		{"no TCP", Stats{Packets: 7, Ignored: 7}, "7 packets were captured but none carried TCP: check the filter and the interface"},
		{"filter left all out", Stats{Packets: 9, Unmatched: 6, Ignored: 3}, "9 packets were read but the packet filter left out every TCP packet: check the filter"},
		{"exchange filters", Stats{Packets: 9, Filtered: 3}, "all 3 exchanges were left out by the host and path filters"},
		{"TCP but no HTTP", Stats{Packets: 9}, "9 packets were captured but no complete HTTP/1.x exchange was found in them"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.Explain(); len(got) != 1 || got[0] != c.want {
				t.Errorf("Explain() = %q, want [%q]", got, c.want)
			}
		})
	}
}

func TestExplainServers(t *testing.T) {
	s := NewStats()
	tls := s.Server("10.0.0.7:8443")
	tls.TLS = 42
	tls.AddSNI("api.internal")
	h := s.Server("10.0.0.8:80")
	h.HTTP2, h.Unanswered, h.Truncated = 1, 2, 1
	h.AddUpgrade("websocket")
	s.Exchanges = 5
	want := []string{
		"10.0.0.7:8443: TLS (SNI api.internal), 42 connections: specgate cannot see inside TLS; capture inside the pod or behind the TLS terminator",
		"10.0.0.8:80: HTTP/2, 1 connection: specgate reads HTTP/1.x only; configure the client or the test to use HTTP/1.1",
		"10.0.0.8:80: 1 connection upgraded to websocket: traffic after the upgrade is not HTTP/1.x and is not read",
		"10.0.0.8:80: 2 requests had no response in the capture",
		"10.0.0.8:80: 1 body was truncated (at the body size limit, or by bytes missing from the capture); raise --max-body to keep long bodies whole",
	}
	if got := s.Explain(); !reflect.DeepEqual(got, want) {
		t.Errorf("Explain() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Lossy() {
		t.Error("no loss counters are set, yet Lossy()")
	}
	s.Server("10.0.0.8:80").LostBytes = 10
	if !s.Lossy() {
		t.Error("lost bytes, yet not Lossy()")
	}
}

func TestSNIListIsSortedUniqueAndBounded(t *testing.T) {
	var ss ServerStats
	for i := 40; i > 0; i-- {
		ss.AddSNI("h" + string(rune('a'+i%20)))
		ss.AddSNI("")
	}
	if len(ss.SNI) != maxSNI {
		t.Fatalf("%d names kept, want %d", len(ss.SNI), maxSNI)
	}
	for i := 1; i < len(ss.SNI); i++ {
		if ss.SNI[i-1] >= ss.SNI[i] {
			t.Fatalf("SNI list not sorted and unique: %q", ss.SNI)
		}
	}
}

func TestMergeAndJSON(t *testing.T) {
	a, b := NewStats(), NewStats()
	a.Packets, b.Packets = 3, 4
	a.Server("s:1").Exchanges = 2
	b.Server("s:1").Exchanges = 5
	b.Server("s:1").AddUpgrade("h2c")
	b.Server("r:2").TLS = 1
	a.Merge(b)
	if a.Packets != 7 || a.Servers["s:1"].Exchanges != 7 || a.Servers["s:1"].Upgrades["h2c"] != 1 || a.Servers["r:2"].TLS != 1 {
		t.Fatalf("Merge gave %+v / %+v", a, a.Servers)
	}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Packets  uint64 `json:"packets"`
		Lossy    bool   `json:"lossy"`
		Servers  []ServerStats
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Packets != 7 || len(back.Servers) != 2 || back.Servers[0].Server != "r:2" || back.Servers[1].Server != "s:1" {
		t.Errorf("JSON servers not sorted or packets wrong: %s", data)
	}
	if len(back.Problems) != 2 || !strings.HasPrefix(back.Problems[0], "r:2: TLS") || !strings.HasPrefix(back.Problems[1], "s:1: 1 connection upgraded to h2c") {
		t.Errorf("JSON problems = %q", back.Problems)
	}
	if !strings.Contains(string(emptyStatsJSON(t)), `"problems":[`) {
		t.Error("problems must be a list even when empty")
	}
}

func emptyStatsJSON(t *testing.T) []byte {
	t.Helper()
	s := NewStats()
	s.Exchanges = 1
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeaderAndURL(t *testing.T) {
	h := Header{{"Content-Type", "a"}, {"set-cookie", "x=1"}, {"Set-Cookie", "y=2"}}
	if h.Get("content-type") != "a" || !h.Has("SET-COOKIE") || h.Has("Host") {
		t.Error("Get/Has must be case-insensitive")
	}
	if got := h.Values("Set-Cookie"); !reflect.DeepEqual(got, []string{"x=1", "y=2"}) {
		t.Errorf("Values = %q", got)
	}
	c := h.Clone()
	c[0].Value = "b"
	if h[0].Value != "a" {
		t.Error("Clone shares memory")
	}
	srv := netip.MustParseAddrPort("10.0.0.1:8080")
	for _, x := range []struct {
		method, target, host, want string
	}{
		{"GET", "/todos?done=true", "api.test", "http://api.test/todos?done=true"},
		{"GET", "/x", "", "http://10.0.0.1:8080/x"},
		{"GET", "http://other.test/y", "api.test", "http://other.test/y"},
		{"CONNECT", "db.test:5432", "db.test:5432", "http://db.test:5432"},
	} {
		e := Exchange{Request: Request{Method: x.method, Target: x.target, Host: x.host}, Server: srv}
		if got := e.URL(); got != x.want {
			t.Errorf("URL(%s %s host %q) = %q, want %q", x.method, x.target, x.host, got, x.want)
		}
	}
}

// TestMissedAndDuplicates checks how missed targets and dropped copies are
// accounted: merged, explained first, lossy, in the summary and the JSON.
func TestMissedAndDuplicates(t *testing.T) {
	a, b := NewStats(), NewStats()
	a.Packets, a.Exchanges, a.Duplicates = 40, 3, 2
	a.Server("10.96.0.10:80").Exchanges = 5
	b.Duplicates = 4
	b.Missed = []MissedTarget{{Target: "kind-worker2", Reason: "disappeared at 12:03:04 (after 7 exchanges)"}}
	if a.Lossy() {
		t.Fatal("lossy before any loss")
	}
	a.Merge(b)
	if a.Duplicates != 6 || len(a.Missed) != 1 {
		t.Fatalf("merged %d duplicates and %+v", a.Duplicates, a.Missed)
	}
	if !a.Lossy() {
		t.Error("a missed target does not make the capture lossy")
	}
	want := "missed kind-worker2: disappeared at 12:03:04 (after 7 exchanges)"
	if got := a.Explain(); len(got) != 1 || got[0] != want {
		t.Errorf("Explain() = %q, want [%q]", got, want)
	}
	var sum strings.Builder
	if err := a.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"captured 3 exchanges (6 duplicate copies dropped) from 1 server (40 packets",
		"note: " + want + "\n",
	} {
		if !strings.Contains(sum.String(), line) {
			t.Errorf("summary lacks %q:\n%s", line, sum.String())
		}
	}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Duplicates uint64         `json:"duplicates"`
		Missed     []MissedTarget `json:"missed"`
		Lossy      bool           `json:"lossy"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Duplicates != 6 || !reflect.DeepEqual(back.Missed, a.Missed) || !back.Lossy {
		t.Errorf("JSON %s", data)
	}

	// a capture that saw nothing still says why, beside the missed target
	c := Stats{Missed: b.Missed}
	if got := c.Explain(); len(got) != 2 || got[0] != want || !strings.HasPrefix(got[1], "no packets were captured") {
		t.Errorf("Explain() = %q", got)
	}
	// one copy: singular
	d := Stats{Exchanges: 1, Duplicates: 1, Filtered: 2}
	sum.Reset()
	if err := d.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "captured 1 exchange (2 left out by the host and path filters, 1 duplicate copy dropped)") {
		t.Errorf("summary:\n%s", sum.String())
	}
}
