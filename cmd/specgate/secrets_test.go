package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/pcapgen"
	"github.com/specgate/specgate/internal/secrettest"
	"github.com/specgate/specgate/internal/testenv"
)

// This file holds the acceptance test of redaction end to end: secrets of
// over fifty kinds are planted in HTTP traffic (headers, cookies, query
// strings, URLs, JSON, form, multipart, XML, text, gzip-compressed and
// binary bodies), specgate captures that traffic from a pcap file and
// live, and no byte of any secret may appear in anything it writes: the
// HAR or NDJSON output, the --stats-json file, or the summary on stderr.

// redactedMarker is what specgate writes in place of a secret.
const redactedMarker = "REDACTED"

// shortSecret is the length under which a secret (a card's CVV) is too
// short to be looked for anywhere in an output without meeting it by
// chance (in a timestamp, a size); such secrets are checked in their
// place and next to their name instead.
const shortSecret = 8

// output is one thing specgate wrote.
type output struct {
	name string
	data []byte
}

// secretRun is what one capture wrote, and which exchanges it should hold.
type secretRun struct {
	outputs []output
	// file is the HAR or NDJSON output among outputs.
	file string
	want []secrettest.Exchange
}

// wireExchange returns the exact bytes a client and a server send for e.
func wireExchange(t *testing.T, e secrettest.Exchange, host string) (req, resp []byte) {
	t.Helper()
	var q bytes.Buffer
	fmt.Fprintf(&q, "%s %s HTTP/1.1\r\nHost: %s\r\n", e.Method, e.Target, host)
	for _, f := range e.Header {
		fmt.Fprintf(&q, "%s: %s\r\n", f.Name, f.Value)
	}
	if len(e.Body) > 0 || e.Method == "POST" {
		fmt.Fprintf(&q, "Content-Length: %d\r\n", len(e.Body))
	}
	q.WriteString("\r\n")
	q.Write(e.Body)

	body := e.RespBody
	var p bytes.Buffer
	fmt.Fprintf(&p, "HTTP/1.1 %d %s\r\n", e.Status, http.StatusText(e.Status))
	for _, f := range e.RespHeader {
		fmt.Fprintf(&p, "%s: %s\r\n", f.Name, f.Value)
	}
	if e.Gzip {
		body = gzipBytes(t, body)
		p.WriteString("Content-Encoding: gzip\r\n")
	}
	fmt.Fprintf(&p, "Content-Length: %d\r\n\r\n", len(body))
	p.Write(body)
	return q.Bytes(), p.Bytes()
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// writeSecretPcap writes the exchanges as the packets of two interleaved
// keep-alive connections: the compressed and binary responses on one, the
// rest on the other.
func writeSecretPcap(t *testing.T, path string, built []secrettest.Exchange) {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddrPort("10.9.0.1:8443")
	conns := []pcapgen.Conn{
		{Client: netip.MustParseAddrPort("10.9.0.2:50100"), Server: server},
		{Client: netip.MustParseAddrPort("10.9.0.3:50200"), Server: server},
	}
	for _, e := range built {
		req, resp := wireExchange(t, e, "api.example.com")
		c := &conns[0]
		if e.Gzip || e.Path() == "/blob" {
			c = &conns[1]
		}
		c.Exchanges = append(c.Exchanges, pcapgen.Exchange{Request: req, Response: resp, Delay: time.Millisecond})
	}
	if err := w.WriteInterleaved(conns); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// keepDir returns a temporary directory, or a directory under
// $SPECGATE_TEST_KEEP when set, to keep the outputs for a look after the
// test.
func keepDir(t *testing.T, name string) string {
	keep := os.Getenv("SPECGATE_TEST_KEEP")
	if keep == "" {
		return t.TempDir()
	}
	dir := filepath.Join(keep, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runSpecgate runs the specgate command to completion and returns what it
// wrote on stderr.
func runSpecgate(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := specgateCommand(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("specgate %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	if stdout.Len() > 0 {
		t.Errorf("specgate %s wrote to stdout: %q", strings.Join(args, " "), stdout.Bytes())
	}
	return stderr.Bytes()
}

func readFile(t *testing.T, path string) output {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return output{name: filepath.Base(path), data: b}
}

// longSecrets returns the secrets long enough to look for anywhere.
func longSecrets(secrets []secrettest.Secret) []secrettest.Secret {
	var out []secrettest.Secret
	for _, s := range secrets {
		if len(s.Value) >= shortSecret {
			out = append(out, s)
		}
	}
	return out
}

// shortContexts returns how a short secret reads next to its name in a
// HAR: as a JSON string, and as name=value in a query, form or cookie.
func shortContexts(s secrettest.Secret) []string {
	return []string{`"` + s.Value + `"`, s.Name + "=" + s.Value, s.Name + "%3D" + s.Value}
}

// decodedText returns every field of the exchanges read back from a HAR
// or NDJSON file, with bodies decoded (base64 bodies back to bytes).
func decodedText(es []*capture.Exchange) []byte {
	var b bytes.Buffer
	for _, e := range es {
		for _, s := range []string{e.Request.Method, e.Request.Target, e.Request.Host, e.Response.Reason, e.ConnID} {
			b.WriteString(s + "\n")
		}
		for _, h := range []capture.Header{e.Request.Header, e.Request.Trailer, e.Response.Header, e.Response.Trailer} {
			for _, f := range h {
				b.WriteString(f.Name + ": " + f.Value + "\n")
			}
		}
		b.Write(e.Request.Body)
		b.WriteByte('\n')
		b.Write(e.Response.Body)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// byPath indexes captured exchanges by the path of their target.
func byPath(t *testing.T, file string, es []*capture.Exchange) map[string]*capture.Exchange {
	t.Helper()
	m := map[string]*capture.Exchange{}
	for _, e := range es {
		p := secrettest.PathOf(e.Request.Target)
		if m[p] != nil {
			t.Errorf("%s: two exchanges at %s", file, p)
		}
		m[p] = e
	}
	return m
}

// checkNoSecrets checks that no secret is in any output, and that the
// capture still holds every exchange with its names and plain values.
func checkNoSecrets(t *testing.T, run secretRun, secrets []secrettest.Secret) {
	t.Helper()
	long := longSecrets(secrets)
	for _, o := range run.outputs {
		if len(o.data) == 0 && !strings.HasPrefix(o.name, "stderr") {
			t.Errorf("%s is empty", o.name)
		}
		for _, l := range secrettest.NewIndex(o.data).Leaks(long) {
			t.Errorf("%s: %v leaked: %q (%s)", o.name, l.Secret, l.Piece, l.Spelling)
		}
		for _, s := range secrets {
			if len(s.Value) >= shortSecret {
				continue
			}
			for _, c := range shortContexts(s) {
				if bytes.Contains(o.data, []byte(c)) {
					t.Errorf("%s: %v leaked: %q", o.name, s, c)
				}
			}
		}
	}

	es := readExchanges(t, run.file)
	if len(es) != len(run.want) {
		t.Errorf("%s: %d exchanges, want %d", run.file, len(es), len(run.want))
	}
	for _, l := range secrettest.NewIndex(decodedText(es)).Leaks(long) {
		t.Errorf("%s, decoded: %v leaked: %q (%s)", filepath.Base(run.file), l.Secret, l.Piece, l.Spelling)
	}
	got := byPath(t, run.file, es)
	raw := run.outputs[0].data
	for _, w := range run.want {
		e := got[w.Path()]
		if e == nil {
			t.Errorf("%s: no exchange %v", run.file, w)
			continue
		}
		if e.Request.Method != w.Method || e.Response.Status != w.Status {
			t.Errorf("%s: %v captured as %s -> %d", run.file, w, e.Request.Method, e.Response.Status)
		}
		for _, s := range w.Secrets {
			if err := s.Redacted(e, redactedMarker); err != nil {
				t.Errorf("%s: %v", filepath.Base(run.file), err)
			}
			// The name it was planted under is written as it was.
			if name := lastKey(s.Name); name != "" && !bytes.Contains(raw, []byte(name)) {
				t.Errorf("%s: the name %q of %v is not written", run.file, name, s)
			}
		}
		for _, k := range w.Keep {
			if err := k.Kept(e); err != nil {
				t.Errorf("%s: %v: %v", filepath.Base(run.file), w, err)
			}
		}
		for _, f := range w.Header {
			if !e.Request.Header.Has(f.Name) {
				t.Errorf("%s: %v lost request header %s", run.file, w, f.Name)
			}
		}
		for _, f := range w.RespHeader {
			if !e.Response.Header.Has(f.Name) {
				t.Errorf("%s: %v lost response header %s", run.file, w, f.Name)
			}
		}
		if w.Gzip && e.Response.Decoded != "gzip" {
			t.Errorf("%s: %v: response not marked as decoded from gzip (%q)", run.file, w, e.Response.Decoded)
		}
	}
}

// lastKey returns the last key of a JSON key path ("c" of "a.b[1].c"),
// or the name itself for other places.
func lastKey(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, "[")
	return name
}

// checkStats checks the --stats-json file: every exchange counted, and
// secrets counted as redacted.
func checkStats(t *testing.T, o output, exchanges, minRedacted int) {
	t.Helper()
	var st struct {
		Exchanges int `json:"exchanges"`
		Redacted  int `json:"redacted"`
	}
	if err := json.Unmarshal(o.data, &st); err != nil {
		t.Fatalf("%s: %v", o.name, err)
	}
	if st.Exchanges != exchanges || st.Redacted < minRedacted {
		t.Errorf("%s: %d exchanges and %d values redacted, want %d and at least %d", o.name, st.Exchanges, st.Redacted, exchanges, minRedacted)
	}
}

// checkAllThere checks the other way round, on a capture written with
// --no-redact: every secret is in the output, where it was planted, so
// that the checks above do see a secret that is written.
func checkAllThere(t *testing.T, run secretRun, secrets []secrettest.Secret) {
	t.Helper()
	raw := run.outputs[0].data
	found := map[string]bool{}
	for _, l := range secrettest.NewIndex(raw).Leaks(longSecrets(secrets)) {
		found[l.Secret.Value] = true
	}
	for _, s := range secrets {
		if len(s.Value) < shortSecret {
			for _, c := range shortContexts(s) {
				found[s.Value] = found[s.Value] || bytes.Contains(raw, []byte(c))
			}
		}
		if !found[s.Value] {
			t.Errorf("--no-redact: %v is not in %s: the leak check would not see it", s, run.outputs[0].name)
		}
	}
	got := byPath(t, run.file, readExchanges(t, run.file))
	for _, w := range run.want {
		for _, s := range w.Secrets {
			if err := s.Kept(got[w.Path()]); err != nil {
				t.Errorf("--no-redact: %v", err)
			}
		}
	}
}

// TestSecretsNotWrittenFromCaptureFile reads a pcap of exchanges full of
// secrets and checks every byte specgate writes, as HAR and as NDJSON.
func TestSecretsNotWrittenFromCaptureFile(t *testing.T) {
	secrets := secrettest.New(1).Plant()
	if k := secrettest.Kinds(secrets); k < 20 {
		t.Fatalf("%d kinds of secrets, want at least 20", k)
	}
	built := secrettest.Build(secrets)
	dir := keepDir(t, "file")
	out := func(n string) string { return filepath.Join(dir, n) }
	writeSecretPcap(t, out("secrets.pcap"), built)

	for _, ext := range []string{"har", "ndjson"} {
		file := out("out." + ext)
		stats := out(ext + "-stats.json")
		stderr := runSpecgate(t, "capture", "-r", out("secrets.pcap"), "-w", file, "--stats-json", stats)
		st := readFile(t, stats)
		run := secretRun{outputs: []output{readFile(t, file), st, {"stderr of -w " + ext, stderr}}, file: file, want: built}
		checkNoSecrets(t, run, secrets)
		checkStats(t, st, len(built), secrettest.Kinds(secrets))
		if want := fmt.Sprintf("captured %d exchanges", len(built)); !bytes.Contains(stderr, []byte(want)) || !bytes.Contains(stderr, []byte("redacted")) {
			t.Errorf("summary lacks %q or the redaction count:\n%s", want, stderr)
		}
	}

	// The same checks fail on a capture written with --no-redact.
	file := out("plain.har")
	stderr := runSpecgate(t, "capture", "-r", out("secrets.pcap"), "-w", file, "--no-redact")
	checkAllThere(t, secretRun{outputs: []output{readFile(t, file)}, file: file, want: built}, secrets)
	if !bytes.Contains(stderr, []byte("--no-redact")) {
		t.Errorf("no warning about --no-redact:\n%s", stderr)
	}
}

// secretServer serves the built exchanges' responses by path, and
// POST /echo, which sends the request body back and sets each request
// cookie again.
func secretServer(t *testing.T, built []secrettest.Exchange) (string, int) {
	t.Helper()
	byPath := map[string]secrettest.Exchange{}
	for _, e := range built {
		byPath[e.Path()] = e
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/echo" {
			for _, c := range r.Cookies() {
				w.Header().Add("Set-Cookie", c.Name+"="+c.Value+"; Path=/; HttpOnly")
			}
			w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
			w.Write(body)
			return
		}
		e, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		for _, f := range e.RespHeader {
			w.Header().Add(f.Name, f.Value)
		}
		if e.Gzip {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(e.Status)
			zw := gzip.NewWriter(w)
			zw.Write(e.RespBody)
			zw.Close()
			return
		}
		w.WriteHeader(e.Status)
		w.Write(e.RespBody)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
}

// sendSecrets sends every built exchange to addr with net/http (an
// absolute-form target, which net/http does not send with its password,
// goes over a socket of its own), then the login request again to /echo.
func sendSecrets(t *testing.T, addr string, built []secrettest.Exchange) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	send := func(e secrettest.Exchange) {
		req, err := http.NewRequest(e.Method, "http://"+addr+e.RequestURI(), bytes.NewReader(e.Body))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range e.Header {
			req.Header[f.Name] = append(req.Header[f.Name], f.Value)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%v: %v", e, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != e.Status {
			t.Fatalf("%v: status %d", e, resp.StatusCode)
		}
	}
	for _, e := range built {
		if e.RequestURI() == e.Target {
			send(e)
			continue
		}
		conn, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := wireExchange(t, e, addr)
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%v: %v", e, err)
		}
		io.Copy(io.Discard, resp.Body)
		conn.Close()
		if resp.StatusCode != e.Status {
			t.Fatalf("%v: status %d", e, resp.StatusCode)
		}
	}
	send(echoExchange(built[0]))
}

// echoExchange is the login exchange sent again to /echo, and the
// secrets that come back: the JSON body in the response as well, and
// each cookie in a Set-Cookie.
func echoExchange(login secrettest.Exchange) secrettest.Exchange {
	e := secrettest.Exchange{Method: login.Method, Target: "/echo", Header: login.Header, Body: login.Body, Status: 200}
	for _, s := range login.Secrets {
		switch s.Place {
		case secrettest.RequestHeader, secrettest.Cookie:
			e.Secrets = append(e.Secrets, s)
		case secrettest.RequestJSON:
			back := s
			back.Place = secrettest.ResponseJSON
			e.Secrets = append(e.Secrets, s, back)
		}
		if s.Place == secrettest.Cookie {
			back := s
			back.Place, back.Suffix = secrettest.SetCookie, "; Path=/; HttpOnly"
			e.Secrets = append(e.Secrets, back)
		}
	}
	return e
}

// TestSecretsNotWrittenLive captures, live on loopback, a real client and
// server exchanging secrets (the server echoes some back in JSON and
// Set-Cookie), and checks every byte specgate writes.
func TestSecretsNotWrittenLive(t *testing.T) {
	testenv.NeedRoot(t)
	secrets := secrettest.New(2).Plant()
	built := secrettest.Build(secrets)
	addr, port := secretServer(t, built)
	want := append(append([]secrettest.Exchange(nil), built...), echoExchange(built[0]))
	dir := keepDir(t, "live")
	out := func(n string) string { return filepath.Join(dir, n) }
	flt := "tcp port " + strconv.Itoa(port)

	procs := []*proc{
		start(t, "specgate -w har", specgateCommand("capture", "-i", "lo", "-f", flt, "-w", out("live.har"), "--stats-json", out("har-stats.json")), "capturing on", out("live.har"), syscall.SIGTERM),
		start(t, "specgate -w ndjson", specgateCommand("capture", "-i", "lo", "-f", flt, "-w", out("live.ndjson"), "--stats-json", out("ndjson-stats.json")), "capturing on", out("live.ndjson"), syscall.SIGINT),
		start(t, "specgate --no-redact", specgateCommand("capture", "-i", "lo", "-f", flt, "-w", out("plain.har"), "--no-redact"), "capturing on", out("plain.har"), syscall.SIGTERM),
	}
	sendSecrets(t, addr, built)
	time.Sleep(300 * time.Millisecond)
	for _, p := range procs {
		p.finish(t)
	}

	for i, ext := range []string{"har", "ndjson"} {
		st := readFile(t, out(ext+"-stats.json"))
		stderr := []byte(procs[i].stderr.String())
		run := secretRun{outputs: []output{readFile(t, procs[i].out), st, {"stderr of -w " + ext, stderr}}, file: procs[i].out, want: want}
		checkNoSecrets(t, run, secrets)
		checkStats(t, st, len(want), secrettest.Kinds(secrets))
	}
	checkAllThere(t, secretRun{outputs: []output{readFile(t, out("plain.har"))}, file: out("plain.har"), want: want}, secrets)
}

// TestSecretsNotInInferredDocuments: documents inferred from traffic full
// of secrets hold none of them, whether inferred from the capture file,
// from specgate's redacted output, or from a HAR written with --no-redact.
func TestSecretsNotInInferredDocuments(t *testing.T) {
	secrets := secrettest.New(2).Plant()
	built := secrettest.Build(secrets)
	dir := keepDir(t, "infer")
	out := func(n string) string { return filepath.Join(dir, n) }
	writeSecretPcap(t, out("secrets.pcap"), built)
	runSpecgate(t, "capture", "-r", out("secrets.pcap"), "-w", out("redacted.ndjson"), "-q")
	runSpecgate(t, "capture", "-r", out("secrets.pcap"), "-w", out("plain.har"), "--no-redact", "-q")

	long := longSecrets(secrets)
	for _, in := range []string{"secrets.pcap", "redacted.ndjson", "plain.har"} {
		specs := out("specs-" + strings.ReplaceAll(in, ".", "-"))
		runSpecgate(t, "infer", out(in), "-o", specs+"/", "-q")
		files, err := filepath.Glob(filepath.Join(specs, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("infer %s wrote no documents (%v)", in, err)
		}
		for _, f := range files {
			o := readFile(t, f)
			for _, l := range secrettest.NewIndex(o.data).Leaks(long) {
				t.Errorf("infer %s: %s: %v leaked: %q (%s)", in, filepath.Base(f), l.Secret, l.Piece, l.Spelling)
			}
			for _, s := range secrets {
				if len(s.Value) >= shortSecret {
					continue
				}
				for _, c := range shortContexts(s) {
					if bytes.Contains(o.data, []byte(c)) {
						t.Errorf("infer %s: %s: %v leaked: %q", in, filepath.Base(f), s, c)
					}
				}
			}
		}
	}
}
