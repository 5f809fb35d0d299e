package source_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/har"
	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/internal/pcapgen"
)

var t0 = time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC)

// exch builds an exchange with the parts a Dedup looks at.
func exch(wire capture.WireID, method, target string, status int, reqSize int64, at time.Time) *capture.Exchange {
	return &capture.Exchange{
		Request:  capture.Request{Method: method, Target: target, WireSize: reqSize, Body: bytes.Repeat([]byte("b"), int(max(reqSize, 0)))},
		Response: capture.Response{Status: status},
		Timing:   capture.Timing{RequestStart: at, ResponseEnd: at.Add(time.Millisecond)},
		Wire:     wire,
	}
}

func TestDedupKey(t *testing.T) {
	w := capture.WireID{Request: 100, Response: 7}
	base := exch(w, "POST", "/todos", 201, 42, t0)
	for _, c := range []struct {
		name string
		x    *capture.Exchange
		dup  bool
	}{
		{"same exchange, other addresses and time", func() *capture.Exchange {
			x := exch(w, "POST", "/todos", 201, 42, t0.Add(40*time.Microsecond))
			x.Client = netip.MustParseAddrPort("10.0.0.1:5000")
			x.Server = netip.MustParseAddrPort("10.96.0.10:80")
			x.ConnID = "node-b/3"
			return x
		}(), true},
		{"body size unknown, same body length", func() *capture.Exchange {
			x := exch(w, "POST", "/todos", 201, 42, t0)
			x.Request.WireSize = -1
			return x
		}(), true},
		{"other request sequence number", exch(capture.WireID{Request: 101, Response: 7}, "POST", "/todos", 201, 42, t0), false},
		{"other response sequence number", exch(capture.WireID{Request: 100, Response: 8}, "POST", "/todos", 201, 42, t0), false},
		{"other method", exch(w, "PUT", "/todos", 201, 42, t0), false},
		{"other target", exch(w, "POST", "/todos/1", 201, 42, t0), false},
		{"other status", exch(w, "POST", "/todos", 200, 42, t0), false},
		{"other request size", exch(w, "POST", "/todos", 201, 43, t0), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := source.NewDedup(0, 0)
			if d.Seen(base) {
				t.Fatal("the first exchange is a copy")
			}
			if got := d.Seen(c.x); got != c.dup {
				t.Errorf("Seen = %v, want %v", got, c.dup)
			}
		})
	}

	t.Run("zero wire", func(t *testing.T) {
		d := source.NewDedup(0, 0)
		for i := range 3 {
			if d.Seen(exch(capture.WireID{}, "GET", "/", 200, 0, t0)) {
				t.Errorf("copy %d of an exchange without wire was dropped", i)
			}
		}
		if d.Len() != 0 {
			t.Errorf("%d keys kept for exchanges without wire", d.Len())
		}
	})
}

// TestDedupBounds checks the documented bounds: keys older than the
// window behind the newest exchange are forgotten, at most maxKeys are
// kept (oldest first), and with the defaults memory stays under 8 MiB.
func TestDedupBounds(t *testing.T) {
	w := func(i int) capture.WireID { return capture.WireID{Request: uint32(i), Response: uint32(i) * 7} }

	t.Run("window", func(t *testing.T) {
		d := source.NewDedup(time.Minute, 0)
		d.Seen(exch(w(1), "GET", "/a", 200, 0, t0))
		d.Seen(exch(w(2), "GET", "/b", 200, 0, t0.Add(59*time.Second)))
		if !d.Seen(exch(w(1), "GET", "/a", 200, 0, t0.Add(59*time.Second))) {
			t.Error("forgotten within the window")
		}
		d.Seen(exch(w(3), "GET", "/c", 200, 0, t0.Add(61*time.Second)))
		if d.Seen(exch(w(1), "GET", "/a", 200, 0, t0)) {
			t.Error("remembered past the window")
		}
		if !d.Seen(exch(w(2), "GET", "/b", 200, 0, t0)) {
			t.Error("a key within the window was forgotten")
		}
	})

	t.Run("no time bound", func(t *testing.T) {
		d := source.NewDedup(-1, 0)
		d.Seen(exch(w(1), "GET", "/a", 200, 0, t0))
		d.Seen(exch(w(2), "GET", "/b", 200, 0, t0.Add(24*time.Hour)))
		if !d.Seen(exch(w(1), "GET", "/a", 200, 0, t0)) {
			t.Error("forgotten without a time bound")
		}
	})

	t.Run("count", func(t *testing.T) {
		d := source.NewDedup(0, 3)
		for i := 1; i <= 4; i++ {
			d.Seen(exch(w(i), "GET", "/", 200, 0, t0))
		}
		if d.Len() != 3 {
			t.Errorf("%d keys, want 3", d.Len())
		}
		if !d.Seen(exch(w(4), "GET", "/", 200, 0, t0)) || !d.Seen(exch(w(2), "GET", "/", 200, 0, t0)) {
			t.Error("a recent key was forgotten")
		}
		if d.Seen(exch(w(1), "GET", "/", 200, 0, t0)) {
			t.Error("the oldest key was kept past the bound")
		}
	})

	t.Run("memory", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d := source.NewDedup(-1, 0)
		x := exch(capture.WireID{}, "GET", "/todos?limit=10&offset=20", 200, 0, t0)
		for i := range 4 * source.DefaultDedupKeys {
			x.Wire = w(i + 1)
			x.Timing.RequestStart = t0.Add(time.Duration(i) * time.Microsecond)
			d.Seen(x)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if d.Len() != source.DefaultDedupKeys {
			t.Errorf("%d keys, want %d", d.Len(), source.DefaultDedupKeys)
		}
		used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("%d keys in %.1f MiB", d.Len(), float64(used)/(1<<20))
		if used > 6<<20 {
			t.Errorf("%d keys hold %.1f MiB, want at most 6", d.Len(), float64(used)/(1<<20))
		}
		runtime.KeepAlive(d)
	})
}

// TestPipelineConcurrentProducers puts the copies of the same exchanges
// from several goroutines at once, each in its own order (one capture per
// network namespace): every exchange is delivered exactly once, whatever
// the interleaving, and the copies are counted.
func TestPipelineConcurrentProducers(t *testing.T) {
	const n, producers = 2000, 4
	for round := range 3 {
		stats := capture.NewStats()
		delivered := make(map[capture.WireID]int)
		pipe := source.NewPipeline(source.Options{}, stats, func(e *capture.Exchange) error {
			delivered[e.Wire]++
			return nil
		})
		var wg sync.WaitGroup
		own := make([]*capture.Stats, producers)
		for p := range producers {
			own[p] = capture.NewStats()
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(p)))
				for _, i := range rng.Perm(n) {
					x := exch(capture.WireID{Request: uint32(i), Response: uint32(n + i)}, "GET", fmt.Sprintf("/items/%d", i), 200, 0, t0.Add(time.Duration(i)*time.Millisecond))
					x.Server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(p), 1}), 80)
					if err := pipe.Put(own[p], x); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		for _, s := range own {
			stats.Merge(s)
		}
		if err := pipe.Close(); err != nil {
			t.Fatal(err)
		}
		if len(delivered) != n {
			t.Errorf("round %d: %d exchanges delivered, want %d", round, len(delivered), n)
		}
		for w, k := range delivered {
			if k != 1 {
				t.Errorf("round %d: %+v delivered %d times", round, w, k)
			}
		}
		if stats.Exchanges != n || stats.Duplicates != (producers-1)*n {
			t.Errorf("round %d: stats count %d exchanges and %d duplicates, want %d and %d", round, stats.Exchanges, stats.Duplicates, n, (producers-1)*n)
		}
	}
}

// rewrite re-encodes a raw IPv4 or IPv6 TCP packet with f applied to its
// layers, checksums recomputed.
func rewrite(t testing.TB, data []byte, f func(src, dst *netip.AddrPort)) []byte {
	t.Helper()
	pk := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
	if data[0]>>4 == 6 {
		pk = gopacket.NewPacket(data, layers.LayerTypeIPv6, gopacket.Default)
	}
	tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil {
		t.Fatalf("not TCP: %v", pk)
	}
	var nl gopacket.SerializableLayer
	var srcIP, dstIP *[]byte
	switch ip := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		nl, srcIP, dstIP = ip, (*[]byte)(&ip.SrcIP), (*[]byte)(&ip.DstIP)
		_ = tcp.SetNetworkLayerForChecksum(ip)
	case *layers.IPv6:
		nl, srcIP, dstIP = ip, (*[]byte)(&ip.SrcIP), (*[]byte)(&ip.DstIP)
		_ = tcp.SetNetworkLayerForChecksum(ip)
	}
	sa, _ := netip.AddrFromSlice(*srcIP)
	da, _ := netip.AddrFromSlice(*dstIP)
	src, dst := netip.AddrPortFrom(sa, uint16(tcp.SrcPort)), netip.AddrPortFrom(da, uint16(tcp.DstPort))
	f(&src, &dst)
	*srcIP, *dstIP = src.Addr().AsSlice(), dst.Addr().AsSlice()
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port())
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, nl, tcp, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// TestReadFileDropsCopies reads a capture in which every packet appears
// three times, as a node's "any" capture sees a connection to a Service:
// on the pod's veth and the bridge with the same addresses, and after the
// DNAT to the backend pod with others. Each exchange comes out once; the
// same-address copy is absorbed by reassembly (no duplicate, no loss),
// the DNAT copy is counted as a duplicate.
func TestReadFileDropsCopies(t *testing.T) {
	conns := pcapgen.Mix(500, 9)
	var gen bytes.Buffer
	w, err := pcapgen.NewWriter(&gen, pcapgen.Options{Seed: 5, LinkType: layers.LinkTypeRaw})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInterleaved(conns); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapfile.NewReader(bytes.NewReader(gen.Bytes()), "gen.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "node.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := pcapgo.NewWriter(f)
	if err := pw.WriteFileHeader(262144, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	backends := map[netip.Addr]netip.AddrPort{
		netip.MustParseAddr("203.0.113.10"):   netip.MustParseAddrPort("10.244.2.9:8080"),
		netip.MustParseAddr("2001:db8:5::10"): netip.MustParseAddrPort("[fd00:244::9]:8080"),
	}
	packets := 0
	for {
		p, err := r.ReadPacket(context.Background())
		if err != nil {
			break
		}
		natted := rewrite(t, p.Data, func(src, dst *netip.AddrPort) {
			if b, ok := backends[dst.Addr()]; ok && dst.Port() == 8080 {
				*dst = b
			}
			if b, ok := backends[src.Addr()]; ok && src.Port() == 8080 {
				*src = b
			}
		})
		for i, data := range [][]byte{p.Data, p.Data, natted} {
			ci := gopacket.CaptureInfo{Timestamp: p.Timestamp.Add(time.Duration(i) * 5 * time.Microsecond), CaptureLength: len(data), Length: len(data), InterfaceIndex: i}
			if err := pw.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
		packets++
	}
	r.Close()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	stats := capture.NewStats()
	seen := make(map[string]int)
	err = source.ReadFile(context.Background(), path, source.Options{}, stats, func(e *capture.Exchange) error {
		seen[e.Request.Header.Get("X-Request-Id")]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Packets != uint64(3*packets) {
		t.Fatalf("%d packets read, wrote %d", stats.Packets, 3*packets)
	}
	if len(seen) != 500 || stats.Exchanges != 500 {
		t.Errorf("%d distinct exchanges delivered, %d counted, want 500", len(seen), stats.Exchanges)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s delivered %d times", id, k)
		}
	}
	if stats.Duplicates != 500 {
		t.Errorf("%d duplicates, want 500 (one DNAT copy each)", stats.Duplicates)
	}
	if tot := stats.Total(); tot.LostBytes+tot.Truncated+tot.Incomplete+tot.Unanswered+tot.OrphanResponses != 0 || stats.Lossy() {
		t.Errorf("copies were counted as losses: %+v", tot)
	}
}

// TestReadHARDropsCopies reads NDJSON shards of two nodes that both saw
// some exchanges: the entries that carry the same _wire are delivered
// once, entries without _wire never count as copies.
func TestReadHARDropsCopies(t *testing.T) {
	var xs []*capture.Exchange
	for i := range 30 {
		x := exch(capture.WireID{Request: uint32(1000 + i), Response: uint32(9000 + i)}, "GET", fmt.Sprintf("/items/%d", i), 200, 0, t0.Add(time.Duration(i)*time.Second))
		x.Request.Proto, x.Response.Proto = "HTTP/1.1", "HTTP/1.1"
		x.Server = netip.MustParseAddrPort("10.96.0.10:80")
		if i >= 20 {
			x.Wire = capture.WireID{}
		}
		xs = append(xs, x)
	}
	var buf bytes.Buffer
	hw := har.NewWriter(&buf, har.FormatNDJSON, har.Creator{Name: "specgate", Version: "test"})
	write := func(x *capture.Exchange) {
		if err := hw.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range xs {
		write(x)
	}
	// the second node saw exchanges 10 to 29 after the DNAT
	for _, x := range xs[10:] {
		c := *x
		c.Server = netip.MustParseAddrPort("10.244.1.5:8080")
		write(&c)
	}
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shards.ndjson")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	stats := capture.NewStats()
	seen := make(map[string]int)
	err := source.ReadFile(context.Background(), path, source.Options{}, stats, func(e *capture.Exchange) error {
		seen[e.Request.Target]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Duplicates != 10 || stats.Exchanges != 40 {
		t.Errorf("%d duplicates and %d exchanges, want 10 and 40", stats.Duplicates, stats.Exchanges)
	}
	for i := range 30 {
		want := 1
		if i >= 20 {
			want = 2 // no wire: never a copy
		}
		if got := seen[fmt.Sprintf("/items/%d", i)]; got != want {
			t.Errorf("/items/%d delivered %d times, want %d", i, got, want)
		}
	}
}

// TestDedupModel runs random streams of exchanges (a small set of wires,
// so that keys repeat, times that mostly advance, with jumps back) through
// a Dedup and through a plain model of its rules: a map of keys and the
// order they came in, the oldest forgotten first by time and by count.
// The two must agree on every exchange, through every growth of the ring
// and every removal from its index.
func TestDedupModel(t *testing.T) {
	type key struct {
		w capture.WireID
		m string
	}
	type entry struct {
		k  key
		at time.Time
	}
	for _, c := range []struct {
		window  time.Duration
		maxKeys int
		wires   int
	}{
		{time.Second, 5, 20},
		{time.Second, 64, 300},
		{time.Minute, 1000, 3000},
		{-1, 100, 150},
		{-1, 7, 8},
		{200 * time.Millisecond, 500, 2000},
	} {
		t.Run(fmt.Sprintf("window=%v/keys=%d/wires=%d", c.window, c.maxKeys, c.wires), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.maxKeys), uint64(c.wires)))
			d := source.NewDedup(c.window, c.maxKeys)
			kept := map[key]bool{}
			var order []entry
			var newest time.Time
			now := t0
			methods := []string{"GET", "POST"}
			for i := range 30000 {
				now = now.Add(time.Duration(rng.IntN(3000)) * time.Microsecond)
				at := now
				if rng.IntN(20) == 0 {
					at = now.Add(-time.Duration(rng.IntN(2000)) * time.Millisecond) // flushed late
				}
				n := rng.IntN(c.wires) + 1
				k := key{capture.WireID{Request: uint32(n), Response: uint32(n * 13)}, methods[rng.IntN(2)]}
				// the model
				if at.After(newest) {
					newest = at
				}
				if c.window >= 0 {
					for len(order) > 0 && order[0].at.Before(newest.Add(-c.window)) {
						delete(kept, order[0].k)
						order = order[1:]
					}
				}
				want := kept[k]
				if !want {
					if len(order) >= c.maxKeys {
						delete(kept, order[0].k)
						order = order[1:]
					}
					kept[k] = true
					order = append(order, entry{k, at})
				}
				if got := d.Seen(exch(k.w, k.m, "/x", 200, 0, at)); got != want {
					t.Fatalf("exchange %d (%+v at %v): Seen = %v, the model says %v", i, k, at.Sub(t0), got, want)
				}
				if d.Len() != len(order) {
					t.Fatalf("exchange %d: %d keys, the model has %d", i, d.Len(), len(order))
				}
			}
		})
	}
}
