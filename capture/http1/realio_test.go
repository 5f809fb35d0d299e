package http1

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// recorder keeps what a client connection wrote and read, in order: the
// byte streams of both directions as a capture would see them.
type recorder struct {
	mu  sync.Mutex
	evs []ev
}

func (r *recorder) add(d Dir, b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.evs); n > 0 && r.evs[n-1].d == d {
		r.evs[n-1].b = append(r.evs[n-1].b, b...)
		return
	}
	r.evs = append(r.evs, ev{kind: evData, d: d, b: append([]byte(nil), b...)})
}

func (r *recorder) events() []ev {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ev{syn(DirAB)}, r.evs...)
}

// recConn records a client's traffic: writes are recorded before they are
// sent, so a request is always recorded before its response.
type recConn struct {
	net.Conn
	r *recorder
}

func (c recConn) Write(b []byte) (int, error) {
	c.r.add(DirAB, b)
	return c.Conn.Write(b)
}

func (c recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.r.add(DirBA, b[:n])
	return n, err
}

// clientHello returns the first flight of a real crypto/tls client.
func clientHello(t testing.TB, serverName string) []byte {
	t.Helper()
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	go func() {
		tc := tls.Client(cc, &tls.Config{ServerName: serverName})
		tc.Handshake() // fails once the pipe closes
	}()
	buf := make([]byte, 64<<10)
	sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	// the hello is written in one Write; read the record header and the rest
	n, err := io.ReadAtLeast(sc, buf, 5)
	if err != nil {
		t.Fatalf("read client hello: %v", err)
	}
	size := 5 + int(buf[3])<<8 | int(buf[4])
	if n < size {
		m, err := io.ReadAtLeast(sc, buf[n:], size-n)
		if err != nil {
			t.Fatalf("read client hello: %v", err)
		}
		n += m
	}
	return append([]byte(nil), buf[:n]...)
}

// h2PriorKnowledge records a real HTTP/2 exchange without TLS between
// net/http's client and server.
func h2PriorKnowledge(t testing.TB) []ev {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"proto":"` + r.Proto + `"}`))
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	rec := &recorder{}
	tr := &http.Transport{
		Protocols: new(http.Protocols),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return recConn{c, rec}, nil
		},
	}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(srv.URL + "/h2")
	if err != nil {
		t.Fatalf("h2 get: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("got %s (%s), want HTTP/2", resp.Proto, body)
	}
	return rec.events()
}
