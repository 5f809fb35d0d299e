package har

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
)

// TestPlatformMembers checks the members that carry what identifies an
// exchange across copies (_wire) and the platform's names (_service,
// _caller): written when set, absent when not, read back in both formats,
// and a "_wire" of another shape ignored without losing the entry.
func TestPlatformMembers(t *testing.T) {
	x := &capture.Exchange{
		Request:  capture.Request{Method: "GET", Target: "/todos", Host: "todo", Proto: "HTTP/1.1", WireSize: 0},
		Response: capture.Response{Proto: "HTTP/1.1", Status: 200, Reason: "OK", WireSize: 2, Body: []byte("[]")},
		Service:  "default/todo-service",
		Caller:   "default/web",
		Wire:     capture.WireID{Request: 0, Response: 1<<32 - 1},
	}
	plain := *x
	plain.Service, plain.Caller, plain.Wire = "", "", capture.WireID{}

	for _, f := range []Format{FormatNDJSON, FormatHAR} {
		t.Run(f.String(), func(t *testing.T) {
			data := writeAll(t, f, []*capture.Exchange{x, &plain})
			// the members as any JSON reader sees them
			var entries []map[string]any
			if f == FormatNDJSON {
				for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Fatal(err)
					}
					entries = append(entries, m)
				}
			} else {
				var doc struct {
					Log struct{ Entries []map[string]any } `json:"log"`
				}
				if err := json.Unmarshal(data, &doc); err != nil {
					t.Fatal(err)
				}
				entries = doc.Log.Entries
			}
			if len(entries) != 2 {
				t.Fatalf("%d entries, want 2", len(entries))
			}
			e := entries[0]
			if e["_service"] != "default/todo-service" || e["_caller"] != "default/web" {
				t.Errorf("_service %v, _caller %v", e["_service"], e["_caller"])
			}
			if w, ok := e["_wire"].([]any); !ok || len(w) != 2 || w[0] != float64(0) || w[1] != float64(1<<32-1) {
				t.Errorf("_wire = %v, want [0, 4294967295]", e["_wire"])
			}
			for _, k := range []string{"_service", "_caller", "_wire"} {
				if _, ok := entries[1][k]; ok {
					t.Errorf("%s written for an exchange without it", k)
				}
			}
			got, _ := readAll(t, "m."+f.String(), data)
			if len(got) != 2 {
				t.Fatalf("read %d exchanges", len(got))
			}
			for i, want := range []*capture.Exchange{x, &plain} {
				if got[i].Service != want.Service || got[i].Caller != want.Caller || got[i].Wire != want.Wire {
					t.Errorf("entry %d read back as %q %q %+v, want %q %q %+v", i,
						got[i].Service, got[i].Caller, got[i].Wire, want.Service, want.Caller, want.Wire)
				}
			}
		})
	}

	t.Run("lenient", func(t *testing.T) {
		line := writeAll(t, FormatNDJSON, []*capture.Exchange{x})
		const written = `"_wire":[0,4294967295]`
		if !bytes.Contains(line, []byte(written)) {
			t.Fatalf("%s not in %s", written, line)
		}
		for _, c := range []struct {
			member string
			want   capture.WireID
		}{
			{`"_wire":[ 7 , 8 ]`, capture.WireID{Request: 7, Response: 8}},
			{`"_wire":"x"`, capture.WireID{}},
			{`"_wire":null`, capture.WireID{}},
			{`"_wire":[1]`, capture.WireID{}},
			{`"_wire":[1,2,3]`, capture.WireID{}},
			{`"_wire":[-1,2]`, capture.WireID{}},
			{`"_wire":[1.5,2]`, capture.WireID{}},
			{`"_wire":[4294967296,0]`, capture.WireID{}},
			{`"_wire":{"a":[1,2]}`, capture.WireID{}},
		} {
			in := bytes.Replace(line, []byte(written), []byte(c.member), 1)
			got, r := readAll(t, "l.ndjson", in)
			if len(got) != 1 {
				t.Errorf("%s: %d exchanges, skipped %+v", c.member, len(got), r.Skipped())
				continue
			}
			if got[0].Wire != c.want {
				t.Errorf("%s: wire %+v, want %+v", c.member, got[0].Wire, c.want)
			}
		}
	})
}
