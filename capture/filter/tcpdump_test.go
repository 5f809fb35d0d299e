package filter

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/specgate/specgate/internal/testenv"
)

// tcpdumpExprs cover every primitive and qualifier; random ones are added.
var tcpdumpExprs = []string{
	"tcp", "udp", "icmp", "icmp6", "sctp", "ip", "ip6", "not ip6",
	"host 10.0.0.1", "src host 10.0.0.2", "dst host 2001:db8::1", "src and dst host ::1",
	"host ::ffff:10.0.0.1", "ip6 host fe80::1",
	"net 10", "src net 10.0.0.0/24", "dst net 192.168.0.0 mask 255.255.0.0", "net 2001:db8::/32",
	"net fe80::/10 or net 10.0.0.0/31", "net ::/0",
	"port 80", "src port 443", "dst port 8080", "tcp port 80", "udp port 53", "sctp port 5432",
	"portrange 80-443", "tcp dst portrange 8000-8100", "src and dst portrange 0-1024",
	"port 80 or 443 or 53", "host 10.0.0.1 or 10.0.0.2 and not 192.168.1.10",
	"tcp and not port 80", "not (udp or port 22) and ip6",
	"port http", "port https or domain", "udp port ntp", "port postgresql",
}

// TestAgainstTcpdump writes generated packets to a raw-IP pcap file,
// filters it with tcpdump (libpcap's own compiler) and compares the packets
// it keeps with those that Match and the compiled program accept.
//
// tcpdump runs with -O: libpcap 1.10's optimiser drops a needed load in
// some IPv6 "src and dst host" filters (in "udp or src and dst host
// 10.0.1.7 and 2001:db8::1" it never reads the first word of the
// destination), and the comparison is with what the filter means.
func TestAgainstTcpdump(t *testing.T) {
	tcpdump := testenv.NeedCommand(t, "tcpdump")
	const snaplen = 65535
	r := rand.New(rand.NewPCG(21, 21))
	pkts := genPackets(t, r, 400)

	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	writeRawPcap(t, in, pkts)

	exprs := append([]string(nil), tcpdumpExprs...)
	for range 15 {
		exprs = append(exprs, genExpr(r, 3))
	}
	base := time.Unix(1700000000, 0)
	var matched int
	for _, s := range exprs {
		e, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		kept, err := runTcpdump(tcpdump, in, s)
		if err != nil {
			if strings.Contains(err.Error(), "unknown port") {
				// A services file other than netbase's: names differ.
				t.Logf("tcpdump does not know a port name in %q here: %v", s, err)
				continue
			}
			t.Fatalf("tcpdump %q: %v", s, err)
		}
		got := make(map[int]bool)
		for _, ts := range kept {
			got[int(ts.Sub(base)/time.Second)] = true
		}
		vm, _ := vmFor(t, e, snaplen)
		for i := range pkts {
			// tcpdump applies the filter to whatever the file holds; a
			// packet that is not IP is a Meta of version 0 to Match. The
			// compiled program also drops everything that is not IP.
			want := got[i]
			if m := e.Match(&pkts[i].meta); m != want {
				t.Errorf("%q (canonical %q) on packet %d (%+v): tcpdump keeps it: %v, Match: %v",
					s, e, i, pkts[i].meta, want, m)
			}
			if v := runVM(t, vm, pkts[i].data, snaplen); v != (want && pkts[i].ip) {
				t.Errorf("%q on packet %d (%+v): tcpdump keeps it: %v, compiled program: %v", s, i, pkts[i].meta, want, v)
			}
			if want {
				matched++
			}
		}
	}
	t.Logf("%d expressions × %d packets, %d kept", len(exprs), len(pkts), matched)
	if matched == 0 {
		t.Error("tcpdump kept no packet at all: the comparison proves nothing")
	}
}

// writeRawPcap writes the packets to a pcap file of link type RAW, packet
// i stamped i seconds after a fixed time.
func writeRawPcap(t *testing.T, path string, pkts []testPacket) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 0), CaptureLength: len(p.data), Length: len(p.data)}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// runTcpdump filters the file and returns the timestamps of the packets
// tcpdump kept.
func runTcpdump(tcpdump, in, expr string) ([]time.Time, error) {
	cmd := exec.Command(tcpdump, "-O", "-n", "-r", in, "-w", "-", expr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// libpcap's optimiser refuses a filter it proves always false.
		if strings.Contains(stderr.String(), "expression rejects all packets") {
			return nil, nil
		}
		return nil, errors.New(strings.TrimSpace(stderr.String()) + ": " + err.Error())
	}
	rd, err := pcapgo.NewReader(&stdout)
	if err != nil {
		return nil, err
	}
	var kept []time.Time
	for {
		_, ci, err := rd.ReadPacketData()
		if err == io.EOF {
			return kept, nil
		}
		if err != nil {
			return nil, err
		}
		kept = append(kept, ci.Timestamp)
	}
}
