package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/specgate/specgate/internal/pcapgen"
	"github.com/specgate/specgate/internal/testenv"
)

// TestMain makes the test binary double as the specgate command and as the
// small programs the end-to-end tests need (an HTTP client).
func TestMain(m *testing.M) {
	if os.Getenv("SPECGATE_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if os.Getenv("SPECGATE_TEST_MAIN") == "httpclient" {
		os.Exit(httpClientMain(os.Args[1:]))
	}
	if os.Getenv("SPECGATE_TEST_MAIN") == "server" {
		os.Exit(serverMain(os.Args[1:]))
	}
	testscript.Main(m, map[string]func(){
		"specgate":   func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"httpclient": func() { os.Exit(httpClientMain(os.Args[1:])) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   filepath.Join("..", "..", "testdata", "script"),
		Setup: scriptSetup,
		// [root] holds when running as root; in CI it must, so asking for
		// it there as root-less is an error rather than a skip.
		Condition: func(cond string) (bool, error) {
			if cond != "root" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if os.Geteuid() != 0 && testenv.InCI() {
				return false, errors.New("CI=true but this script needs root (live capture needs CAP_NET_RAW)")
			}
			return os.Geteuid() == 0, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"serve":    cmdServe,
		},
	})
}

// cmdExitCode runs a command and checks its exit code:
// exitcode CODE PROGRAM [ARG...]. Its output is the script's stdout/stderr.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE PROGRAM [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	var ee *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("run %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdServe starts an HTTP server on loopback for the rest of the script
// and sets $SERVER (host:port) and $PORT. Its routes:
// /items/N answers JSON, /slow/MS answers after MS milliseconds.
func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: testHandler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ts.Setenv("SERVER", ap.String())
	ts.Setenv("PORT", strconv.Itoa(int(ap.Port())))
}

func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{n}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"name":"item %s","tags":["a","b"]}`, r.PathValue("n"), r.PathValue("n"))
	})
	mux.HandleFunc("GET /slow/{ms}", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.PathValue("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"slept":true}`)
	})
	return mux
}

// serverMain serves testHandler on the address in args[0] and prints
// "ready" once it listens; it runs until killed.
func serverMain(args []string) int {
	ln, err := net.Listen("tcp", args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 1
	}
	fmt.Println("ready")
	return exitOnErr(http.Serve(ln, testHandler()))
}

func exitOnErr(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// httpClientMain is a small HTTP client for the scripts:
// httpclient [-n N] [-exit CODE] [-auth TOKEN] URL
// It GETs URL/items/i for i in 0..N-1 on one keep-alive connection and
// exits with CODE.
func httpClientMain(args []string) int {
	n, code, auth := 1, 0, ""
	var base string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-n":
			i++
			n, _ = strconv.Atoi(args[i])
		case "-exit":
			i++
			code, _ = strconv.Atoi(args[i])
		case "-auth":
			i++
			auth = args[i]
		default:
			base = args[i]
		}
	}
	c := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", fmt.Sprintf("%s/items/%d", strings.TrimSuffix(base, "/"), i), nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "httpclient:", err)
			return 99
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return code
}

// scriptSetup writes the capture files the scripts read: a valid pcap of
// three exchanges, the same cut short, and files that are not captures.
func scriptSetup(env *testscript.Env) error {
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Options{Seed: 1})
	if err != nil {
		return err
	}
	conn := pcapgen.Conn{
		Client: netip.MustParseAddrPort("10.1.0.2:41000"),
		Server: netip.MustParseAddrPort("10.1.0.1:8080"),
	}
	for i := 0; i < 3; i++ {
		body := fmt.Sprintf(`{"id":%d,"title":"item %d"}`, i, i)
		conn.Exchanges = append(conn.Exchanges, pcapgen.Exchange{
			Request:  []byte(fmt.Sprintf("GET /todos/%d HTTP/1.1\r\nHost: todo.test:8080\r\nAuthorization: Bearer s3cr3t-t0ken-%d\r\n\r\n", i, i)),
			Response: []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)),
		})
	}
	if err := w.WriteConn(conn); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	good := buf.Bytes()
	unreadable, err := unreadablePcap()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"good.pcap":       good,
		"unreadable.pcap": unreadable,
		"truncated.pcap":  good[:len(good)-37],
		"badmagic.pcap":   []byte("this is not a capture file, just some text\n"),
		"empty.pcap":      {},
	}
	// The traffic recorded with tcpdump from internal/apiserver.
	recorded, err := filepath.Glob(filepath.Join("..", "..", "infer", "testdata", "traffic", "*.pcap"))
	if err != nil || len(recorded) == 0 {
		return fmt.Errorf("no recorded traffic in infer/testdata/traffic (%v)", err)
	}
	for _, p := range recorded {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files["traffic/"+filepath.Base(p)] = data
	}
	if err := os.Mkdir(filepath.Join(env.WorkDir, "traffic"), 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(env.WorkDir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// unreadablePcap captures what specgate cannot read: two TLS connections
// to 10.0.0.7:8443 whose ClientHello (made by crypto/tls) names
// api.internal, and one HTTP/2 prior-knowledge connection.
func unreadablePcap() ([]byte, error) {
	hello, err := clientHello("api.internal")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.Options{Seed: 2})
	if err != nil {
		return nil, err
	}
	tlsServer := netip.MustParseAddrPort("10.0.0.7:8443")
	for i, port := range []uint16{40001, 40002} {
		c := pcapgen.Conn{
			Client:    netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port),
			Server:    tlsServer,
			Exchanges: []pcapgen.Exchange{{Request: hello, Response: []byte{0x16, 0x03, 0x03, 0x00, 0x01, byte(i)}}},
		}
		if err := w.WriteConn(c); err != nil {
			return nil, err
		}
	}
	h2 := pcapgen.Conn{
		Client:    netip.MustParseAddrPort("10.0.0.2:40003"),
		Server:    netip.MustParseAddrPort("10.0.0.8:8080"),
		Exchanges: []pcapgen.Exchange{{Request: []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"), Response: []byte("\x00\x00\x00\x04\x01\x00\x00\x00\x00")}},
	}
	if err := w.WriteConn(h2); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// clientHello returns the first TLS record a crypto/tls client sends.
func clientHello(serverName string) ([]byte, error) {
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		defer c.Close()
		_ = tls.Client(c, &tls.Config{ServerName: serverName}).Handshake()
	}()
	if err := s.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return nil, err
	}
	head := make([]byte, 5)
	if _, err := io.ReadFull(s, head); err != nil {
		return nil, err
	}
	body := make([]byte, int(head[3])<<8|int(head[4]))
	if _, err := io.ReadFull(s, body); err != nil {
		return nil, err
	}
	return append(head, body...), nil
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func portOf(addr string) int {
	ap := netip.MustParseAddrPort(addr)
	return int(ap.Port())
}
