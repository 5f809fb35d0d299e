package session_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/session"
	"github.com/specgate/specgate/internal/pcapgen"
)

// TestAnnotateReachesTheOutput reads a capture file with an Annotate hook
// and checks that the names it sets, and every exchange's wire, are in the
// file written, for each exchange once.
func TestAnnotateReachesTheOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapgen.NewWriter(f, pcapgen.Options{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterleaved(pcapgen.Mix(100, 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.ndjson")
	calls := 0
	res, err := session.Run(context.Background(), session.Config{
		Reads: []string{in}, Output: out,
		Annotate: func(e *capture.Exchange) {
			calls++
			e.Service, e.Caller = "default/todo-service", "client:"+e.Client.Addr().String()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Exchanges != 100 || calls != 100 {
		t.Fatalf("%d exchanges, Annotate called %d times, want 100", res.Stats.Exchanges, calls)
	}
	exs, _, err := har.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	wires := make(map[capture.WireID]bool)
	for _, x := range exs {
		if x.Service != "default/todo-service" || x.Caller != "client:"+x.Client.Addr().String() {
			t.Errorf("read back service %q caller %q (client %s)", x.Service, x.Caller, x.Client)
		}
		if x.Wire.IsZero() || wires[x.Wire] {
			t.Errorf("wire %+v zero or repeated", x.Wire)
		}
		wires[x.Wire] = true
	}
	if len(wires) != 100 {
		t.Errorf("%d exchanges in the output, want 100", len(wires))
	}
}

// TestTargetsAndReadsExclude checks that files and namespaces are not
// captured in one session.
func TestTargetsAndReadsExclude(t *testing.T) {
	_, err := session.Run(context.Background(), session.Config{
		Reads: []string{"x.pcap"}, Output: filepath.Join(t.TempDir(), "o.har"),
		Targets: []session.Target{{Name: "n", Netns: "/proc/1/ns/net"}},
	})
	var ue *session.UsageError
	if !errors.As(err, &ue) {
		t.Errorf("error %v, want a usage error", err)
	}
}
