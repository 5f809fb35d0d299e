package pcapfile_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/pcapfile"
	"github.com/specgate/specgate/internal/testenv"
)

// toolCount counts the packets in a capture file with the capture tools:
// capinfos or tshark (which read every pcapng), else tcpdump -r.
func toolCount(t *testing.T, path string) int {
	t.Helper()
	if p, err := exec.LookPath("capinfos"); err == nil {
		out, err := exec.Command(p, "-c", "-M", "-T", "-r", path).Output()
		if err != nil {
			t.Fatalf("capinfos %s: %v", path, err)
		}
		fields := strings.Fields(string(out))
		n, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil {
			t.Fatalf("capinfos %s: unexpected output %q", path, out)
		}
		return n
	}
	return tcpdumpCount(t, path)
}

// tcpdumpCount counts the lines tcpdump -r prints for path.
func tcpdumpCount(t *testing.T, path string) int {
	t.Helper()
	tcpdump := testenv.NeedCommand(t, "tcpdump")
	out, err := exec.Command(tcpdump, "-r", path, "-n").Output()
	if err != nil {
		t.Fatalf("tcpdump -r %s: %v", path, err)
	}
	return bytes.Count(out, []byte("\n"))
}

// readFile reads every packet of path, copying the data.
func readFile(t *testing.T, path string) (*pcapfile.Reader, []capture.Packet) {
	t.Helper()
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ps, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	return r, ps
}

// tcpPayloads decodes the packets with gopacket and returns the TCP
// payloads sent to port.
func tcpPayloads(t *testing.T, ps []capture.Packet, port int) [][]byte {
	t.Helper()
	var out [][]byte
	for i, p := range ps {
		pkt := gopacket.NewPacket(p.Data, p.LinkType, gopacket.Default)
		if el := pkt.ErrorLayer(); el != nil {
			t.Fatalf("packet %d (link type %d) does not decode: %v", i, p.LinkType, el.Error())
		}
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("packet %d (link type %d) has no TCP layer: %s", i, p.LinkType, pkt)
		}
		if int(tcp.DstPort) == port && len(tcp.Payload) > 0 {
			out = append(out, tcp.Payload)
		}
	}
	return out
}

// sniffer is a running tcpdump or dumpcap.
type sniffer struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

// startSniffer runs the command and waits until it says it listens.
func startSniffer(t *testing.T, ready string, name string, args ...string) *sniffer {
	t.Helper()
	s := &sniffer{cmd: exec.Command(name, args...)}
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		ok := false
		for sc.Scan() {
			s.stderr.WriteString(sc.Text() + "\n")
			if !ok && strings.Contains(sc.Text(), ready) {
				ok = true
				found <- true
			}
		}
		if !ok {
			found <- false
		}
	}()
	select {
	case ok := <-found:
		if !ok {
			s.cmd.Wait()
			t.Fatalf("%s %s exited before %q: %s", name, strings.Join(args, " "), ready, s.stderr.String())
		}
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		s.cmd.Wait()
		t.Fatalf("%s did not say %q within 20s", name, ready)
	}
	return s
}

// stop interrupts the sniffer and waits for it to write its file.
func (s *sniffer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v: %s", s.cmd.Path, err, s.stderr.String())
		}
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not stop on SIGINT", s.cmd.Path)
	}
}

// waitCapturing connects to addr until the capture file at path holds a
// packet.
func waitCapturing(t *testing.T, path, addr string) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
		}
		r, err := pcapfile.Open(path)
		if err != nil {
			continue
		}
		_, err = r.ReadPacket(context.Background())
		r.Close()
		if err == nil {
			return
		}
	}
	t.Fatalf("no packet in %s after 30s", path)
}

// waitStable waits until the file at path has kept its size for settle,
// or until limit passes.
func waitStable(path string, settle, limit time.Duration) {
	var size int64 = -1
	since := time.Now()
	for start := time.Now(); time.Since(start) < limit; time.Sleep(50 * time.Millisecond) {
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		if fi.Size() != size {
			size, since = fi.Size(), time.Now()
			continue
		}
		if time.Since(since) >= settle {
			return
		}
	}
}

// sendTraffic makes a few HTTP requests to addr and returns their request
// lines.
func sendTraffic(t *testing.T, addr, tag string) []string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var lines []string
	for i := range 4 {
		path := fmt.Sprintf("/%s/items/%d?q=%d", tag, i, i*i)
		var resp *http.Response
		var err error
		if i%2 == 0 {
			resp, err = client.Get("http://" + addr + path)
			lines = append(lines, "GET "+path+" HTTP/1.1")
		} else {
			body := strings.NewReader(`{"name":"item ` + strconv.Itoa(i) + `"}`)
			resp, err = client.Post("http://"+addr+path, "application/json", body)
			lines = append(lines, "POST "+path+" HTTP/1.1")
		}
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return lines
}

// TestLiveCaptures captures loopback HTTP traffic with tcpdump and dumpcap
// in their various link types and formats, and reads it back.
func TestLiveCaptures(t *testing.T) {
	testenv.NeedRoot(t)
	tcpdump := testenv.NeedCommand(t, "tcpdump")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"pad":%q}`, r.URL.Path, strings.Repeat("x", 3000))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	filter := "tcp port " + strconv.Itoa(port)

	tests := []struct {
		name   string
		tool   string
		args   []string
		format string
		links  []layers.LinkType // one of these for every packet
		nano   bool
	}{
		{"tcpdump-lo", "tcpdump", []string{"-i", "lo"}, "pcap", []layers.LinkType{layers.LinkTypeEthernet}, false},
		{"tcpdump-any", "tcpdump", []string{"-i", "any"}, "pcap", []layers.LinkType{layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2}, false},
		{"tcpdump-any-sll", "tcpdump", []string{"-i", "any", "-y", "LINUX_SLL"}, "pcap", []layers.LinkType{layers.LinkTypeLinuxSLL}, false},
		{"tcpdump-any-sll2", "tcpdump", []string{"-i", "any", "-y", "LINUX_SLL2"}, "pcap", []layers.LinkType{layers.LinkTypeLinuxSLL2}, false},
		{"tcpdump-nano", "tcpdump", []string{"-i", "lo", "--time-stamp-precision=nano"}, "pcap", []layers.LinkType{layers.LinkTypeEthernet}, true},
		{"dumpcap-lo", "dumpcap", []string{"-i", "lo", "-f", filter}, "pcapng", []layers.LinkType{layers.LinkTypeEthernet}, true},
		{"dumpcap-lo-and-any", "dumpcap", []string{"-i", "lo", "-f", filter, "-i", "any", "-f", filter}, "pcapng", []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ext := "." + tc.format
			path := filepath.Join(t.TempDir(), tc.name+ext)
			start := time.Now()
			var s *sniffer
			switch tc.tool {
			case "tcpdump":
				// Immediate mode hands each packet over at once; otherwise
				// libpcap holds them up to a second and SIGINT loses them.
				// A 16 MiB buffer: with the default, "any" drops packets.
				args := append([]string{"--immediate-mode", "-B", "16384", "-U", "-Z", "root", "-w", path}, tc.args...)
				s = startSniffer(t, "listening on", tcpdump, append(args, filter)...)
			case "dumpcap":
				dumpcap, err := exec.LookPath("dumpcap")
				if err != nil {
					t.Skip("dumpcap is not installed (Debian: wireshark-common)")
				}
				s = startSniffer(t, "Capturing on", dumpcap, append(append([]string{}, tc.args...), "-q", "-w", path)...)
			}
			// dumpcap says it captures a little before it does, and a
			// loaded machine widens the gap: knock until a packet is in.
			waitCapturing(t, path, addr)
			lines := sendTraffic(t, addr, tc.name)
			// Let the last packets reach the file: stop once it has not
			// grown for a while (dumpcap writes every 250 ms or so).
			settle := 500 * time.Millisecond
			if tc.tool == "dumpcap" {
				settle = 1500 * time.Millisecond
			}
			waitStable(path, settle, 10*time.Second)
			end := time.Now()
			s.stop(t)

			r, ps := readFile(t, path)
			if r.Format() != tc.format {
				t.Errorf("Format() = %q, want %q", r.Format(), tc.format)
			}
			want := toolCount(t, path)
			if tc.format == "pcap" {
				if n := tcpdumpCount(t, path); n != want {
					t.Fatalf("tcpdump -r counts %d packets, capinfos %d", n, want)
				}
			}
			if len(ps) != want || want < 10 {
				out, _ := exec.Command("tcpdump", "-r", path, "-n").CombinedOutput()
				t.Fatalf("read %d packets, the capture tools count %d; %s said: %s\n%s", len(ps), want, tc.tool, s.stderr.String(), out)
			}

			links := map[layers.LinkType]int{}
			ifaces := map[int]bool{}
			subMicro := 0
			for i, p := range ps {
				links[p.LinkType]++
				ifaces[p.Interface] = true
				ok := false
				for _, lt := range tc.links {
					ok = ok || p.LinkType == lt
				}
				if !ok {
					t.Fatalf("packet %d: link type %d, want one of %v", i, p.LinkType, tc.links)
				}
				if p.Timestamp.Before(start.Add(-time.Second)) || p.Timestamp.After(end.Add(time.Second)) {
					t.Fatalf("packet %d: timestamp %v outside the capture's %v..%v", i, p.Timestamp, start, end)
				}
				if p.Timestamp.Nanosecond()%1000 != 0 {
					subMicro++
				}
				if p.Length < len(p.Data) || len(p.Data) == 0 {
					t.Fatalf("packet %d: %d bytes captured of %d", i, len(p.Data), p.Length)
				}
			}
			if tc.nano != (subMicro > 0) {
				t.Errorf("%d of %d timestamps have nanoseconds; nanosecond file: %v", subMicro, len(ps), tc.nano)
			}
			if recvd, _, ok := r.InterfaceStats(); (tc.tool == "dumpcap") != ok || ok && recvd < uint64(len(ps)/len(ifaces)) {
				t.Errorf("InterfaceStats() = %d received, %v; %d packets read", recvd, ok, len(ps))
			}
			if tc.name == "dumpcap-lo-and-any" && (len(links) != 2 || len(ifaces) != 2) {
				t.Errorf("two interfaces: saw link types %v and interfaces %v", links, ifaces)
			}

			var sent bytes.Buffer
			for _, p := range tcpPayloads(t, ps, port) {
				sent.Write(p)
			}
			for _, l := range lines {
				if !bytes.Contains(sent.Bytes(), []byte(l+"\r\n")) {
					t.Errorf("request line %q not in the captured payloads", l)
				}
			}
		})
	}
}

// corpusDir is the shared corpus of real captures beside the repository.
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpora", "pcap")

// TestCorpus reads every capture of the shared corpus to the end, as is,
// as pcapng (converted by editcap) and gzip-compressed, and compares the
// packet counts with the capture tools'.
func TestCorpus(t *testing.T) {
	testenv.NeedDir(t, corpusDir)
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz", "*.pcapng.gz"} {
		m, _ := filepath.Glob(filepath.Join(corpusDir, pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no captures in %s", corpusDir)
	}
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Log("editcap is not installed (Debian: wireshark-common): not reading the captures as pcapng")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := toolCount(t, path)
			_, ps := readFile(t, path)
			if len(ps) != want {
				t.Errorf("read %d packets, the capture tools count %d", len(ps), want)
			}
			if want == 0 {
				t.Fatal("the capture tools count no packets")
			}

			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, zs, err := readBytes(t, gz(t, raw), path+".gz")
			if err != nil || len(zs) != len(ps) {
				t.Errorf("gzip copy: %d packets, err %v", len(zs), err)
			}

			if editcap == "" {
				return
			}
			ng := filepath.Join(t.TempDir(), "f.pcapng")
			if out, err := exec.Command(editcap, "-F", "pcapng", path, ng).CombinedOutput(); err != nil {
				t.Fatalf("editcap: %v: %s", err, out)
			}
			r, ns := readFile(t, ng)
			if r.Format() != "pcapng" || len(ns) != len(ps) {
				t.Fatalf("as pcapng: format %q, %d packets, want %d", r.Format(), len(ns), len(ps))
			}
			for i := range ps {
				if !bytes.Equal(ns[i].Data, ps[i].Data) || !ns[i].Timestamp.Equal(ps[i].Timestamp) ||
					ns[i].Length != ps[i].Length || ns[i].LinkType != ps[i].LinkType {
					t.Fatalf("as pcapng: packet %d differs", i)
				}
			}
		})
	}
}
