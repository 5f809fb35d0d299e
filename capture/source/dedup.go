package source

import (
	"encoding/binary"
	"hash/maphash"
	"time"

	"github.com/specgate/specgate/capture"
)

// Defaults of NewDedup.
const (
	// DefaultDedupWindow is how long, in capture time, a delivered
	// exchange's key is remembered. Copies of one exchange are captured
	// within milliseconds of each other; the window leaves room for a
	// capture that falls behind, or flushes a connection late, by as much.
	DefaultDedupWindow = time.Minute
	// DefaultDedupKeys bounds the keys remembered at once: with the
	// defaults a Dedup holds at most about 5 MiB.
	DefaultDedupKeys = 1 << 16
)

// Dedup recognises copies of exchanges already seen: the same exchange
// captured on several interfaces, in several network namespaces, or on
// both sides of a NAT, which rewrites addresses and ports but never TCP
// sequence numbers. Two exchanges are copies when their Wire, method,
// target, status and request body size are equal. An exchange with a
// zero Wire (a HAR entry from elsewhere) is never a copy.
//
// Memory is bounded: a key is kept until it is older, in capture time
// (the request's start), than the window behind the newest exchange seen,
// and at most maxKeys keys are kept (the oldest go first), each in at most
// about 80 bytes. Exchanges should come roughly in capture-time order: a merge
// of shards from several nodes should interleave them by time, or use a
// window below zero (no time bound; the key bound still holds).
//
// A Dedup is not safe for concurrent use.
type Dedup struct {
	window  time.Duration
	maxKeys int
	h       maphash.Hash
	keys    map[dedupKey]struct{}
	// ring holds the keys in the order they were added: n of them from
	// head on, wrapping around; it grows up to maxKeys entries.
	ring   []dedupEntry
	head   int
	n      int
	newest int64 // the latest capture time seen, Unix nanoseconds; 0: none
}

// dedupKey is what two copies share: Wire, and a hash of the method,
// target, status and request body size.
type dedupKey struct {
	wire capture.WireID
	sum  uint64
}

type dedupEntry struct {
	key dedupKey
	at  int64 // capture time, Unix nanoseconds
}

// NewDedup returns a Dedup that remembers keys for window of capture time
// (0: DefaultDedupWindow; below zero: no time bound) and at most maxKeys
// of them (0 or less: DefaultDedupKeys).
func NewDedup(window time.Duration, maxKeys int) *Dedup {
	if window == 0 {
		window = DefaultDedupWindow
	}
	if maxKeys <= 0 {
		maxKeys = DefaultDedupKeys
	}
	d := &Dedup{window: window, maxKeys: maxKeys, keys: make(map[dedupKey]struct{})}
	d.h.SetSeed(maphash.MakeSeed())
	return d
}

// Seen reports whether e is a copy of an exchange Seen before (and still
// remembered); if it is not, e's key is remembered from now on.
func (d *Dedup) Seen(e *capture.Exchange) bool {
	if e.Wire.IsZero() {
		return false
	}
	k := dedupKey{wire: e.Wire, sum: d.sum(e)}
	t := e.Timing.RequestStart
	if t.IsZero() {
		t = e.Timing.ResponseEnd
	}
	var at int64
	if !t.IsZero() {
		at = t.UnixNano()
		d.newest = max(d.newest, at)
	}
	d.expire()
	if _, ok := d.keys[k]; ok {
		return true
	}
	if at == 0 {
		at = d.newest
	}
	if len(d.keys) >= d.maxKeys {
		d.drop()
	}
	d.keys[k] = struct{}{}
	d.push(dedupEntry{key: k, at: at})
	return false
}

// push adds e after the newest entry, growing the ring when it is full
// (never beyond maxKeys: Seen drops the oldest key first).
func (d *Dedup) push(e dedupEntry) {
	if d.n == len(d.ring) {
		ring := make([]dedupEntry, min(max(2*len(d.ring), 64), d.maxKeys))
		for i := range d.n {
			ring[i] = d.ring[(d.head+i)%len(d.ring)]
		}
		d.ring, d.head = ring, 0
	}
	d.ring[(d.head+d.n)%len(d.ring)] = e
	d.n++
}

// Len returns the number of keys remembered.
func (d *Dedup) Len() int { return len(d.keys) }

// sum hashes the parts of e's key other than Wire.
func (d *Dedup) sum(e *capture.Exchange) uint64 {
	size := e.Request.WireSize
	if size < 0 {
		size = int64(len(e.Request.Body))
	}
	var num [16]byte
	binary.LittleEndian.PutUint64(num[:8], uint64(size))
	binary.LittleEndian.PutUint64(num[8:], uint64(e.Response.Status))
	h := &d.h
	h.Reset()
	h.WriteString(e.Request.Method)
	h.WriteByte(0)
	h.WriteString(e.Request.Target)
	h.WriteByte(0)
	h.Write(num[:])
	return h.Sum64()
}

// expire forgets the keys older than the window behind the newest time.
func (d *Dedup) expire() {
	if d.window < 0 || d.newest == 0 {
		return
	}
	limit := d.newest - int64(d.window)
	for d.n > 0 && d.ring[d.head].at < limit {
		d.drop()
	}
}

// drop forgets the oldest key.
func (d *Dedup) drop() {
	if d.n == 0 {
		return
	}
	delete(d.keys, d.ring[d.head].key)
	d.ring[d.head] = dedupEntry{}
	d.head = (d.head + 1) % len(d.ring)
	d.n--
}
