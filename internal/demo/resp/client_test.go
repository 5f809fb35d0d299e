package resp

import (
	"bufio"
	"context"
	"errors"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/demo/redistest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		addr string
		db   int
	}{
		{"redis://localhost", "localhost:6379", 0},
		{"redis://127.0.0.1:7000", "127.0.0.1:7000", 0},
		{"redis://127.0.0.1:7000/", "127.0.0.1:7000", 0},
		{"redis://cache.internal:6380/3", "cache.internal:6380", 3},
		{"redis://[::1]:6379/15", "[::1]:6379", 15},
	} {
		addr, db, err := ParseURL(tc.url)
		if err != nil || addr != tc.addr || db != tc.db {
			t.Errorf("ParseURL(%q) = %q, %d, %v; want %q, %d", tc.url, addr, db, err, tc.addr, tc.db)
		}
	}
	for _, url := range []string{
		"", "localhost:6379", "http://localhost", "rediss://localhost", "redis://:secret@localhost",
		"redis://user:pw@localhost/1", "redis:///0", "redis://host:0", "redis://host:99999",
		"redis://host:x", "redis://host/x", "redis://host/-1", "redis://host/1/2", "redis://host?db=1",
		"redis://host/%zz",
	} {
		if addr, db, err := ParseURL(url); err == nil {
			t.Errorf("ParseURL(%q) = %q, %d; want an error", url, addr, db)
		}
	}
}

// fakeServer accepts connections on loopback and answers each command it
// reads with the next reply of script; it records the commands.
type fakeServer struct {
	ln    net.Listener
	mu    sync.Mutex
	cmds  [][]string
	conns int
}

// newFakeServer serves script: each command gets the next reply, an empty
// string drops the connection instead, and after the script the server
// stops answering (but keeps the connection open).
func newFakeServer(t *testing.T, script ...string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln}
	var next int
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Go(func() {
				defer conn.Close()
				go func() { <-done; conn.Close() }()
				r := bufio.NewReader(conn)
				for {
					cmd, err := readReply(r)
					if err != nil {
						return
					}
					var args []string
					for _, e := range cmd.Elems {
						args = append(args, e.Str)
					}
					s.mu.Lock()
					s.cmds = append(s.cmds, args)
					i := next
					next++
					s.mu.Unlock()
					if i >= len(script) {
						continue
					}
					if script[i] == "" {
						return
					}
					if _, err := conn.Write([]byte(script[i])); err != nil {
						return
					}
				}
			})
		}
	})
	return s
}

func (s *fakeServer) url(db int) string {
	return "redis://" + s.ln.Addr().String() + "/" + strconv.Itoa(db)
}

func (s *fakeServer) commands() ([][]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cmds), s.conns
}

func TestCommandsOnTheWire(t *testing.T) {
	s := newFakeServer(t,
		"+OK\r\n", "+PONG\r\n", // SELECT 2, PING from Dial
		"$3\r\nbar\r\n", "$-1\r\n", "+OK\r\n", ":2\r\n",
		":1\r\n", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$0\r\n\r\n", "*0\r\n",
		":2\r\n", ":1\r\n", "*2\r\n$1\r\nx\r\n$1\r\ny\r\n", ":7\r\n",
		"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
		":3\r\n",
	)
	ctx := context.Background()
	c, err := Dial(ctx, s.url(2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	v, ok, err := c.Get(ctx, "foo")
	check("Get foo", []any{v, ok, err}, []any{"bar", true, nil})
	v, ok, err = c.Get(ctx, "missing")
	check("Get missing", []any{v, ok, err}, []any{"", false, nil})
	check("Set", c.Set(ctx, "k", "v"), nil)
	n, err := c.Del(ctx, "k", "j")
	check("Del", []any{n, err}, []any{int64(2), nil})
	n, err = c.HSet(ctx, "h", "a", "1", "b", "")
	check("HSet", []any{n, err}, []any{int64(1), nil})
	m, err := c.HGetAll(ctx, "h")
	check("HGetAll", []any{m, err}, []any{map[string]string{"a": "1", "b": ""}, nil})
	m, err = c.HGetAll(ctx, "none")
	check("HGetAll none", []any{m, err}, []any{map[string]string{}, nil})
	n, err = c.SAdd(ctx, "s", "x", "y")
	check("SAdd", []any{n, err}, []any{int64(2), nil})
	n, err = c.SRem(ctx, "s", "z", "y")
	check("SRem", []any{n, err}, []any{int64(1), nil})
	list, err := c.SMembers(ctx, "s")
	check("SMembers", []any{list, err}, []any{[]string{"x", "y"}, nil})
	n, err = c.Incr(ctx, "seq")
	check("Incr", []any{n, err}, []any{int64(7), nil})
	_, err = c.Incr(ctx, "h")
	var rerr *Error
	if !errors.As(err, &rerr) || !strings.HasPrefix(rerr.Msg, "WRONGTYPE") {
		t.Errorf("Incr on a hash: %v, want a WRONGTYPE *Error", err)
	}
	// An error reply leaves the connection usable.
	n, err = c.Del(ctx, "a")
	check("Del after an error reply", []any{n, err}, []any{int64(3), nil})

	cmds, conns := s.commands()
	want := [][]string{
		{"SELECT", "2"}, {"PING"}, {"GET", "foo"}, {"GET", "missing"}, {"SET", "k", "v"},
		{"DEL", "k", "j"}, {"HSET", "h", "a", "1", "b", ""}, {"HGETALL", "h"}, {"HGETALL", "none"},
		{"SADD", "s", "x", "y"}, {"SREM", "s", "z", "y"}, {"SMEMBERS", "s"}, {"INCR", "seq"},
		{"INCR", "h"}, {"DEL", "a"},
	}
	check("commands sent", cmds, want)
	check("connections", conns, 1)
}

func TestUnexpectedReplies(t *testing.T) {
	s := newFakeServer(t,
		"+PONG\r\n",
		"+QUEUED\r\n",       // GET wants a bulk string
		":1\r\n",            // SET wants a simple string
		"$2\r\nno\r\n",      // DEL wants an integer
		"*1\r\n$1\r\na\r\n", // HGETALL wants pairs
		"*1\r\n:1\r\n",      // SMEMBERS wants bulk strings
		"+OK\r\n",           // SMEMBERS wants an array
		"$4\r\nPONG\r\n",    // PING wants +PONG
		"+PONG\r\n",         // and the connection still works
	)
	ctx := context.Background()
	c, err := Dial(ctx, s.url(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs := []error{}
	_, _, err = c.Get(ctx, "k")
	errs = append(errs, err, c.Set(ctx, "k", "v"))
	_, err = c.Del(ctx, "k")
	errs = append(errs, err)
	_, err = c.HGetAll(ctx, "h")
	errs = append(errs, err)
	_, err = c.SMembers(ctx, "s")
	errs = append(errs, err)
	_, err = c.SMembers(ctx, "s")
	errs = append(errs, err, c.Ping(ctx))
	for i, err := range errs {
		if err == nil {
			t.Errorf("unexpected reply %d: no error", i)
		}
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("PING after well-formed but unexpected replies: %v", err)
	}
	if _, err := c.HSet(ctx, "h", "odd"); err == nil {
		t.Error("HSET with an odd argument count succeeded")
	}
	if _, err := c.Do(ctx); err == nil {
		t.Error("an empty command succeeded")
	}
}

// TestBrokenConnection: a protocol error or a dropped connection fails
// that command only; the next one dials again, and nothing is resent.
func TestBrokenConnection(t *testing.T) {
	s := newFakeServer(t, "+PONG\r\n", "?garbage\r\n", "+PONG\r\n", "", ":5\r\n")
	ctx := context.Background()
	c, err := Dial(ctx, s.url(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(ctx); err == nil || !errors.Is(err, errProtocol) {
		t.Errorf("garbage reply: %v, want a protocol error", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("PING on a fresh connection: %v", err)
	}
	if _, err := c.Incr(ctx, "n"); err == nil {
		t.Error("INCR on a dropped connection succeeded")
	}
	if n, err := c.Incr(ctx, "n"); err != nil || n != 5 {
		t.Errorf("INCR after a reconnect = %d, %v; want 5", n, err)
	}
	cmds, conns := s.commands()
	if len(cmds) != 5 || conns != 3 {
		t.Errorf("%d commands on %d connections, want 5 on 3: %v", len(cmds), conns, cmds)
	}
}

func TestContext(t *testing.T) {
	// The server answers PING, then never again.
	s := newFakeServer(t, "+PONG\r\n")
	c, err := Dial(context.Background(), s.url(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = c.Get(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("GET past its deadline: %v after %v", err, time.Since(start))
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, _, err := c.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("GET cancelled: %v", err)
	}
	if err := c.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("PING with a cancelled context: %v", err)
	}
	// Nothing listens: Dial fails.
	addr := s.ln.Addr().String()
	s.ln.Close()
	if _, err := Dial(context.Background(), "redis://"+addr); err == nil {
		t.Error("Dial to a closed port succeeded")
	}
}

func TestSelectRefused(t *testing.T) {
	s := newFakeServer(t, "-ERR DB index is out of range\r\n")
	if _, err := Dial(context.Background(), s.url(99)); err == nil || !strings.Contains(err.Error(), "select database 99") {
		t.Errorf("Dial with a refused SELECT: %v", err)
	}
}

// TestRedis runs every command against a real redis-server.
func TestRedis(t *testing.T) {
	url := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("PING", c.Ping(ctx))
	must("SET", c.Set(ctx, "greeting", "hello\r\nworld \x00\xff"))
	v, ok, err := c.Get(ctx, "greeting")
	if err != nil || !ok || v != "hello\r\nworld \x00\xff" {
		t.Errorf("GET = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := c.Get(ctx, "nothing"); ok || err != nil {
		t.Errorf("GET of a missing key: %v, %v", ok, err)
	}
	for want := int64(1); want <= 3; want++ {
		if n, err := c.Incr(ctx, "seq"); n != want || err != nil {
			t.Errorf("INCR = %d, %v; want %d", n, err, want)
		}
	}
	if n, err := c.HSet(ctx, "todo:1", "title", "buy milk", "done", "0"); n != 2 || err != nil {
		t.Errorf("HSET = %d, %v", n, err)
	}
	if n, err := c.HSet(ctx, "todo:1", "done", "1", "tags", ""); n != 1 || err != nil {
		t.Errorf("HSET again = %d, %v", n, err)
	}
	m, err := c.HGetAll(ctx, "todo:1")
	if want := map[string]string{"title": "buy milk", "done": "1", "tags": ""}; err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("HGETALL = %v, %v; want %v", m, err, want)
	}
	if m, err := c.HGetAll(ctx, "todo:2"); err != nil || len(m) != 0 {
		t.Errorf("HGETALL of a missing key = %v, %v", m, err)
	}
	if n, err := c.SAdd(ctx, "ids", "a", "b", "c", "a"); n != 3 || err != nil {
		t.Errorf("SADD = %d, %v", n, err)
	}
	if n, err := c.SRem(ctx, "ids", "b", "z"); n != 1 || err != nil {
		t.Errorf("SREM = %d, %v", n, err)
	}
	members, err := c.SMembers(ctx, "ids")
	slices.Sort(members)
	if err != nil || !slices.Equal(members, []string{"a", "c"}) {
		t.Errorf("SMEMBERS = %v, %v", members, err)
	}
	if n, err := c.Del(ctx, "ids", "todo:1", "nothing"); n != 2 || err != nil {
		t.Errorf("DEL = %d, %v", n, err)
	}
	var rerr *Error
	if _, err := c.Incr(ctx, "greeting"); !errors.As(err, &rerr) {
		t.Errorf("INCR of a string: %v, want an error reply", err)
	}
	if _, err := c.Do(ctx, "NOSUCHCOMMAND"); !errors.As(err, &rerr) {
		t.Errorf("an unknown command: %v, want an error reply", err)
	}
	must("PING after error replies", c.Ping(ctx))

	// A value far larger than the reader's buffer.
	big := strings.Repeat("0123456789", 100_000)
	must("SET big", c.Set(ctx, "big", big))
	if v, _, err := c.Get(ctx, "big"); err != nil || v != big {
		t.Errorf("GET big: %d bytes, %v", len(v), err)
	}

	// Databases are separate: the key set in database 0 is not in 5.
	c5, err := Dial(ctx, strings.TrimSuffix(url, "/0")+"/5")
	if err != nil {
		t.Fatal(err)
	}
	defer c5.Close()
	if _, ok, err := c5.Get(ctx, "greeting"); ok || err != nil {
		t.Errorf("database 5 sees database 0's key: %v, %v", ok, err)
	}

	// The server closes the connection (CLIENT KILL from another client):
	// one command fails, the next dials again and selects database 5 anew.
	must("SET in database 5", c5.Set(ctx, "where", "five"))
	if _, err := c.Do(ctx, "CLIENT", "KILL", "TYPE", "normal"); err != nil {
		t.Fatal(err)
	}
	if err := c5.Ping(ctx); err == nil {
		t.Error("PING on a killed connection succeeded")
	}
	if v, _, err := c5.Get(ctx, "where"); err != nil || v != "five" {
		t.Errorf("GET after a reconnect = %q, %v; want five from database 5", v, err)
	}

	// Concurrent commands take turns on the one connection.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := c.Incr(ctx, "counter"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, _, err := c.Get(ctx, "counter"); v != "400" || err != nil {
		t.Errorf("counter after 8×50 concurrent INCRs = %q, %v", v, err)
	}
}
