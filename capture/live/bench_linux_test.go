package live

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/testenv"
)

// BenchmarkLoopback captures b.N UDP datagrams sent to 127.0.0.1 while
// they are sent, reporting the packets captured per second and the
// kernel's drop count.
func BenchmarkLoopback(b *testing.B) {
	testenv.NeedRoot(b)
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	port := uint16(sink.LocalAddr().(*net.UDPAddr).Port)
	src, err := Open(b.Context(), Config{Interfaces: []string{"lo"}, Filter: portFilter(b, layers.IPProtocolUDP, port), PollInterval: 20 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	tx, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()

	payload := make([]byte, 200)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range b.N {
			if _, err := tx.Write(payload); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	got, idle := 0, 0
	for got < b.N {
		_, err := src.ReadPacket(b.Context())
		if errors.Is(err, capture.ErrTimeout) {
			select {
			case <-done:
				idle++
			default:
			}
			if idle >= 3 {
				break
			}
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		got++
	}
	elapsed := time.Since(start)
	b.StopTimer()
	<-done
	_, drops, err := src.KernelStats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(got)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(drops), "drops")
	b.ReportMetric(float64(got)/float64(b.N), "captured/sent")
}
