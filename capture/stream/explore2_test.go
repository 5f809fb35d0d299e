package stream_test

import (
	"testing"

	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

func TestExploreMid(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	clean, _ := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1}), stream.Options{})
	ref := byRequestID(canons(clean))
	got, st := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1, StartMidConnection: true}), stream.Options{})
	eq, bad := 0, 0
	for _, c := range canons(got) {
		w, ok := ref[requestID(c.ReqHeader)]
		if ok && w.Seq == c.Seq+1 {
			w.Seq = c.Seq
			if w == c {
				eq++
				continue
			}
		}
		bad++
		t.Logf("%s: %s", c.short(), c.diff(w))
	}
	pip := 0
	for _, c := range conns {
		if c.Pipelined {
			pip++
		}
	}
	t.Logf("%d conns (%d pipelined), %d got, %d eq, %d bad; %+v", len(conns), pip, len(got), eq, bad, st.Total())
}
