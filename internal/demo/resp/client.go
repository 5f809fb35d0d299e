// Package resp is a minimal Redis client: RESP2 over one TCP connection,
// for a redis://host:port/db URL; it takes commands and gives typed replies.
//
// It is written here rather than taken from a Redis library so that the demo
// system builds with nothing but Go and `go mod tidy` stays clean: specgate
// itself never talks to Redis, and a client module would be required by the
// whole module for the demo's sake alone. It covers what the demo needs (no
// AUTH, no TLS, no pipelining, no pub/sub): GET, SET, DEL, HSET, HGETALL,
// SADD, SREM, SMEMBERS, INCR, PING, and Do for anything else.
package resp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client is a connection to one Redis server and database. It is safe for
// concurrent use: commands take turns on the one connection. A connection
// broken by an I/O error, a protocol error or a cancelled context is closed,
// and the next command dials again; no command is ever sent twice.
type Client struct {
	addr string
	db   int

	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	buf  []byte // the command being written, reused
}

// ParseURL splits a redis://host[:port][/db] URL into the server address
// (port 6379 by default) and the database number (0 by default). URLs with
// credentials or the TLS scheme rediss are refused: this client sends no
// AUTH and speaks no TLS.
func ParseURL(rawURL string) (addr string, db int, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", 0, fmt.Errorf("parse redis url: %w", err)
	}
	if u.Scheme != "redis" {
		return "", 0, fmt.Errorf("redis url %q: scheme %q, want redis (no TLS)", rawURL, u.Scheme)
	}
	if u.User != nil {
		return "", 0, fmt.Errorf("redis url %q: credentials given, but this client sends no AUTH", rawURL)
	}
	if u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", 0, fmt.Errorf("redis url %q: want redis://host:port/db", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "", 0, fmt.Errorf("redis url %q: bad port %q", rawURL, port)
	}
	if path := strings.TrimPrefix(u.Path, "/"); path != "" {
		n, err := strconv.ParseUint(path, 10, 16)
		if err != nil {
			return "", 0, fmt.Errorf("redis url %q: database %q is not a number", rawURL, path)
		}
		db = int(n)
	}
	return net.JoinHostPort(u.Hostname(), port), db, nil
}

// Dial connects to the server rawURL names (see ParseURL), selects its
// database and checks the connection with PING.
func Dial(ctx context.Context, rawURL string) (*Client, error) {
	addr, db, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	c := &Client{addr: addr, db: db}
	if err := c.Ping(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the connection. A command after Close dials again.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.r = nil, nil
	return err
}

// Do sends one command and returns its reply. An error reply comes back
// as an *Error; a Nil reply is not an error.
func (c *Client) Do(ctx context.Context, args ...string) (Reply, error) {
	if len(args) == 0 {
		return Reply{}, errors.New("resp: empty command")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		if err := c.connect(ctx); err != nil {
			return Reply{}, err
		}
	}
	r, err := c.roundTrip(ctx, args)
	if err != nil {
		c.conn.Close()
		c.conn, c.r = nil, nil
		return Reply{}, fmt.Errorf("redis %s %s: %w", c.addr, strings.ToUpper(args[0]), err)
	}
	if r.Type == ErrorReply {
		return r, &Error{Msg: r.Str}
	}
	return r, nil
}

// connect dials the server and selects the database. c.mu is held.
func (c *Client) connect(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("redis: dial %s: %w", c.addr, err)
	}
	c.conn, c.r = conn, bufio.NewReader(conn)
	if c.db == 0 {
		return nil
	}
	r, err := c.roundTrip(ctx, []string{"SELECT", strconv.Itoa(c.db)})
	if err == nil && r.Type == ErrorReply {
		err = &Error{Msg: r.Str}
	}
	if err != nil {
		conn.Close()
		c.conn, c.r = nil, nil
		return fmt.Errorf("redis %s: select database %d: %w", c.addr, c.db, err)
	}
	return nil
}

// roundTrip writes one command and reads its reply, giving up when ctx
// ends. c.mu is held and c.conn is open.
func (c *Client) roundTrip(ctx context.Context, args []string) (Reply, error) {
	conn := c.conn
	// No deadline but the context's own, which the wake-up below enforces
	// (and reports as the context's error).
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return Reply{}, err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		// Wake the blocked read or write; the connection is dropped after.
		_ = conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			// Let the wake-up finish before the next command sets its
			// own deadline.
			<-fired
		}
	}()
	c.buf = appendCommand(c.buf[:0], args)
	if cap(c.buf) > 64<<10 {
		defer func() { c.buf = nil }()
	}
	if _, err := conn.Write(c.buf); err != nil {
		return Reply{}, ctxErr(ctx, err)
	}
	r, err := readReply(c.r)
	return r, ctxErr(ctx, err)
}

// ctxErr prefers the context's error to the timeout it caused.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Ping checks the connection.
func (c *Client) Ping(ctx context.Context) error {
	r, err := c.Do(ctx, "PING")
	if err != nil {
		return err
	}
	if r.Type != SimpleString || r.Str != "PONG" {
		return fmt.Errorf("redis PING: unexpected reply %s", describe(r))
	}
	return nil
}

// Get returns the string value of key; ok is false when key does not exist.
func (c *Client) Get(ctx context.Context, key string) (value string, ok bool, err error) {
	r, err := c.Do(ctx, "GET", key)
	if err != nil || r.Type == Nil {
		return "", false, err
	}
	if r.Type != BulkString {
		return "", false, fmt.Errorf("redis GET: unexpected reply %s", describe(r))
	}
	return r.Str, true, nil
}

// Set sets key to value.
func (c *Client) Set(ctx context.Context, key, value string) error {
	r, err := c.Do(ctx, "SET", key, value)
	if err != nil {
		return err
	}
	if r.Type != SimpleString {
		return fmt.Errorf("redis SET: unexpected reply %s", describe(r))
	}
	return nil
}

// Del deletes keys and returns how many existed.
func (c *Client) Del(ctx context.Context, keys ...string) (int64, error) {
	return c.integer(ctx, "DEL", keys)
}

// HSet sets fields of the hash at key, given as field, value pairs, and
// returns how many fields are new.
func (c *Client) HSet(ctx context.Context, key string, fieldValues ...string) (int64, error) {
	if len(fieldValues) == 0 || len(fieldValues)%2 != 0 {
		return 0, fmt.Errorf("redis HSET %s: %d arguments, want field, value pairs", key, len(fieldValues))
	}
	return c.integer(ctx, "HSET", append([]string{key}, fieldValues...))
}

// HGetAll returns every field of the hash at key: empty when key does not
// exist.
func (c *Client) HGetAll(ctx context.Context, key string) (map[string]string, error) {
	list, err := c.strings(ctx, "HGETALL", key)
	if err != nil {
		return nil, err
	}
	if len(list)%2 != 0 {
		return nil, fmt.Errorf("redis HGETALL: odd number of elements (%d)", len(list))
	}
	m := make(map[string]string, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		m[list[i]] = list[i+1]
	}
	return m, nil
}

// SAdd adds members to the set at key and returns how many are new.
func (c *Client) SAdd(ctx context.Context, key string, members ...string) (int64, error) {
	return c.integer(ctx, "SADD", append([]string{key}, members...))
}

// SRem removes members from the set at key and returns how many were in it.
func (c *Client) SRem(ctx context.Context, key string, members ...string) (int64, error) {
	return c.integer(ctx, "SREM", append([]string{key}, members...))
}

// SMembers returns the members of the set at key, in no particular order.
func (c *Client) SMembers(ctx context.Context, key string) ([]string, error) {
	return c.strings(ctx, "SMEMBERS", key)
}

// Incr increments the integer at key (0 when missing) and returns the result.
func (c *Client) Incr(ctx context.Context, key string) (int64, error) {
	return c.integer(ctx, "INCR", []string{key})
}

func (c *Client) integer(ctx context.Context, cmd string, args []string) (int64, error) {
	r, err := c.Do(ctx, append([]string{cmd}, args...)...)
	if err != nil {
		return 0, err
	}
	if r.Type != Integer {
		return 0, fmt.Errorf("redis %s: unexpected reply %s", cmd, describe(r))
	}
	return r.Int, nil
}

func (c *Client) strings(ctx context.Context, cmd, key string) ([]string, error) {
	r, err := c.Do(ctx, cmd, key)
	if err != nil {
		return nil, err
	}
	if r.Type != Array {
		return nil, fmt.Errorf("redis %s: unexpected reply %s", cmd, describe(r))
	}
	out := make([]string, len(r.Elems))
	for i, e := range r.Elems {
		if e.Type != BulkString {
			return nil, fmt.Errorf("redis %s: element %d is %s, want a bulk string", cmd, i, describe(e))
		}
		out[i] = e.Str
	}
	return out, nil
}

// describe names a reply for an error message without quoting long values.
func describe(r Reply) string {
	switch r.Type {
	case SimpleString, BulkString, ErrorReply:
		s := r.Str
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return fmt.Sprintf("%c%q", r.Type, s)
	case Integer:
		return ":" + strconv.FormatInt(r.Int, 10)
	case Array:
		return fmt.Sprintf("an array of %d", len(r.Elems))
	case Nil:
		return "nil"
	}
	return "an unknown reply"
}
