package stream_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/stream"
	"github.com/specgate/specgate/internal/pcapgen"
)

// mixSize is the number of exchanges in the traffic the fault tests use:
// enough for every fault to hit requests and responses, headers and
// bodies, many times.
const mixSize = 1500

// TestFaultsKeepExchanges checks that reordering, duplicate segments and
// overlapping retransmissions, alone and together, change nothing in the
// exchanges: each run gives what net/http reads from the generated wire
// bytes, and exactly what the fault-free capture gives.
func TestFaultsKeepExchanges(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	want := oracle(t, conns)
	clean, cleanStats := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1}), stream.Options{})
	ref := canons(clean)
	t.Run("none", func(t *testing.T) {
		checkOracle(t, ref, want)
		tot := cleanStats.Total()
		if tot.LostBytes != 0 || tot.Unanswered != 0 || tot.OrphanResponses != 0 || tot.Undecodable != 0 {
			t.Errorf("fault-free capture counts losses: %+v", tot)
		}
	})

	cases := []struct {
		name string
		o    pcapgen.Options
	}{
		{"reorder", pcapgen.Options{Reorder: 0.3}},
		{"reorder-all", pcapgen.Options{Reorder: 1}},
		{"duplicate", pcapgen.Options{Duplicate: 0.3}},
		{"overlap", pcapgen.Options{Overlap: 0.3}},
		{"overlap-all", pcapgen.Options{Overlap: 1}},
		{"small-mss-overlap", pcapgen.Options{MSS: 300, Overlap: 0.5}},
		{"all", pcapgen.Options{Reorder: 0.2, Duplicate: 0.2, Overlap: 0.2}},
	}
	for _, tc := range cases {
		for _, seed := range []int64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/seed%d", tc.name, seed), func(t *testing.T) {
				o := tc.o
				o.Seed = seed
				got, stats := run(t, genPcap(t, conns, o), stream.Options{})
				compareCanons(t, tc.name, canons(got), ref)
				tot := stats.Total()
				if tot.LostBytes != 0 || tot.Unanswered != 0 || tot.OrphanResponses != 0 || tot.Undecodable != 0 || tot.Incomplete != 0 || tot.Truncated != 0 {
					t.Errorf("counts losses though no byte was lost: %+v", tot)
				}
				if tot.RequestBytes != cleanStats.Total().RequestBytes || tot.ResponseBytes != cleanStats.Total().ResponseBytes {
					t.Errorf("stream bytes %d/%d, fault-free %d/%d", tot.RequestBytes, tot.ResponseBytes, cleanStats.Total().RequestBytes, cleanStats.Total().ResponseBytes)
				}
			})
		}
	}
}

// TestDropIsFlaggedOrCounted drops segments from the capture (the peers
// still got them) and checks that nothing comes out silently wrong: every
// exchange emitted is the fault-free one (only its Seq may be lower, when
// exchanges before it were lost) or carries Truncated or Incomplete, and
// what went missing is accounted for. Connections are also run one by one
// so that each one's counters can be checked against what it lost.
func TestDropIsFlaggedOrCounted(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	clean, _ := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1}), stream.Options{})
	ref := byRequestID(canons(clean))
	perConn := make(map[string]int) // exchanges of each connection
	for _, c := range ref {
		perConn[c.Client]++
	}

	var reqHit, respHit int
	var wrong, uncounted []string
	for _, drop := range []float64{0.01, 0.05, 0.2} {
		var exact, flagged, missing, total int
		for _, seed := range []int64{1, 2} {
			name := fmt.Sprintf("drop%v/seed%d", drop, seed)
			file := genPcap(t, conns, pcapgen.Options{Seed: seed, Drop: drop})
			whole, wholeStats := run(t, file, stream.Options{})
			sum := capture.NewStats()
			var fromConns int
			for ci, ps := range byConn(t, readPackets(t, file), conns) {
				got, stats := runPackets(ps, stream.Options{})
				sum.Merge(stats)
				fromConns += len(got)
				st := stats.Total()
				client := conns[ci].Client.String()
				want := perConn[client]
				total += want
				for i, e := range got {
					c := canonOf(e)
					if c.Seq != i {
						t.Errorf("%s: connection %s: exchange %d has Seq %d", name, client, i, c.Seq)
					}
					w, ok := ref[requestID(c.ReqHeader)]
					if ok && c.Seq > w.Seq {
						t.Errorf("%s: %s: Seq %d, fault-free %d", name, c.short(), c.Seq, w.Seq)
					}
					w.Seq = c.Seq
					switch {
					case ok && w == c:
						exact++
					case c.flagged():
						flagged++
						reqHit += b2i(c.ReqTrunc || c.ReqInc)
						respHit += b2i(c.RespTrunc || c.RespInc)
					default:
						wrong = append(wrong, fmt.Sprintf("%s: silently wrong: %s; differs from the fault-free exchange in %.300s", name, c.short(), c.diff(w)))
					}
				}
				missing += want - len(got)
				// Lost bytes make the capture lossy, which the gate reports
				// as inconclusive.
				if !stats.Lossy() && (len(got) != want || st.Truncated+st.Unanswered+st.OrphanResponses > 0) {
					uncounted = append(uncounted, fmt.Sprintf("%s: connection %s: %d of %d exchanges and %+v, but the capture does not count as lossy", name, client, len(got), want, st))
				}
				if len(got)+int(st.Unanswered) > want {
					t.Errorf("%s: connection %s: %d exchanges emitted and %d requests unanswered, but %d requests were sent", name, client, len(got), st.Unanswered, want)
				}
				if st.Exchanges != uint64(len(got)) || st.Connections != 1 {
					t.Errorf("%s: connection %s: counters %+v disagree with %d exchanges emitted", name, client, st, len(got))
				}
			}
			// Connections do not affect each other.
			if len(whole) != fromConns || !reflect.DeepEqual(wholeStats.Total(), sum.Total()) {
				t.Errorf("%s: the whole capture gives %d exchanges and %+v; its connections one by one %d and %+v",
					name, len(whole), wholeStats.Total(), fromConns, sum.Total())
			}
		}
		t.Logf("drop %v: %d exchanges sent, %d came out exact, %d flagged, %d missing", drop, total, exact, flagged, missing)
		if drop <= 0.01 && exact < total/2 {
			t.Errorf("drop %v: only %d of %d exchanges survived intact", drop, exact, total)
		}
	}
	t.Logf("%d silently wrong; %d connections lost bytes without counting them", len(wrong), len(uncounted))
	if reqHit == 0 || respHit == 0 {
		t.Errorf("drops flagged %d requests and %d responses: the faults did not reach both directions", reqHit, respHit)
	}
	t.Run("uncounted", func(t *testing.T) {
		stream.KnownDefect(t, stream.DefectUncounted, uncounted, 1)
	})
	t.Run("silently-wrong", func(t *testing.T) {
		stream.KnownDefect(t, stream.DefectAfterGap, wrong, 16)
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestStartMidConnection starts every connection's capture after its
// handshake and first request, as a capture started on a busy host does:
// every later exchange must come out whole (numbered from 0 on what was
// seen), and the response whose request was missed must be counted.
func TestStartMidConnection(t *testing.T) {
	conns := pcapgen.Mix(mixSize, 11)
	clean, _ := run(t, genPcap(t, conns, pcapgen.Options{Seed: 1}), stream.Options{})
	ref := byRequestID(canons(clean))
	pipelined := make(map[string]bool)
	for _, c := range conns {
		pipelined[c.Client.String()] = c.Pipelined
	}
	for _, tc := range []struct {
		name string
		o    pcapgen.Options
	}{
		{"clean", pcapgen.Options{Seed: 1, StartMidConnection: true}},
		{"faults", pcapgen.Options{Seed: 2, StartMidConnection: true, Reorder: 0.2, Duplicate: 0.2, Overlap: 0.2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := genPcap(t, conns, tc.o)
			var wrong []string
			for ci, ps := range byConn(t, readPackets(t, file), conns) {
				c := conns[ci]
				got, stats := runPackets(ps, stream.Options{})
				seen := make(map[string]bool)
				for _, e := range got {
					g := canonOf(e)
					id := requestID(g.ReqHeader)
					seen[id] = true
					w, ok := ref[id]
					if !ok || w.Seq != g.Seq+1 {
						wrong = append(wrong, fmt.Sprintf("%s (pipelined %v): %s: not the fault-free exchange one place later", c.Client, c.Pipelined, g.short()))
						continue
					}
					w.Seq = g.Seq
					if w != g {
						wrong = append(wrong, fmt.Sprintf("%s (pipelined %v): %s: differs in %.300s", c.Client, c.Pipelined, g.short(), g.diff(w)))
					}
				}
				if c.Pipelined {
					continue // see the known defect below
				}
				if len(got) != len(c.Exchanges)-1 {
					t.Errorf("%s: %d exchanges, want every one after the first (%d)", c.Client, len(got), len(c.Exchanges)-1)
				}
				st := stats.Total()
				if st.Unanswered != 0 || st.Connections != 1 {
					t.Errorf("%s: %+v", c.Client, st)
				}
				// The first response is counted as an orphan; when
				// reordering put its head after the capture's start, its
				// bytes are counted instead (lost, or undecodable when no
				// message start followed).
				if tc.o.Reorder == 0 && st.OrphanResponses != 1 ||
					st.OrphanResponses+st.LostBytes+st.UndecodableBytes == 0 {
					t.Errorf("%s: the first response, whose request was not captured, is not counted: %+v", c.Client, st)
				}
			}
			var keep []string
			for _, w := range wrong {
				if strings.Contains(w, "(pipelined false)") {
					t.Error(w)
				} else {
					keep = append(keep, w)
				}
			}
			if len(keep) > 0 || !t.Failed() {
				stream.KnownDefect(t, stream.DefectMidPipelined, keep, 24)
			}
		})
	}
}
