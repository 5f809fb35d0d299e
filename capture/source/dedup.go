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
// and at most maxKeys keys are kept (the oldest go first), each in about
// 40 bytes. Exchanges should come roughly in capture-time order: a merge
// of shards from several nodes should interleave them by time, or use a
// window below zero (no time bound; the key bound still holds).
//
// The keys live in a ring, oldest first, indexed by an open-addressing
// table of ring positions rather than a map: every exchange of a capture
// passes through Seen, which then costs one probe of a small array where
// a map of the same keys (and a ring beside it for their age) took three
// scattered lookups.
//
// A Dedup is not safe for concurrent use.
type Dedup struct {
	window  time.Duration
	maxKeys int
	h       maphash.Hash
	// ring holds the keys in the order they were added: n of them from
	// head on, wrapping around; it grows up to maxKeys entries.
	ring []dedupEntry
	head int
	n    int
	// index holds, for each key in ring, its position plus one, at the
	// first free slot from the key's hash on (linear probing); 0 is a free
	// slot. Its length is a power of two, at least twice the ring's.
	index  []uint32
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
	maxKeys = min(maxKeys, 1<<30) // positions fit the index's uint32
	d := &Dedup{window: window, maxKeys: maxKeys}
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
	if d.find(k) >= 0 {
		return true
	}
	if at == 0 {
		at = d.newest
	}
	if d.n >= d.maxKeys {
		d.drop()
	}
	d.push(dedupEntry{key: k, at: at})
	return false
}

// slot returns where k's probe sequence starts in the index.
func (d *Dedup) slot(k dedupKey) int {
	// sum is a seeded hash already; Wire is mixed in by a multiply whose
	// high bits depend on all of its bits.
	h := k.sum ^ (uint64(k.wire.Request)<<32|uint64(k.wire.Response))*0x9e3779b97f4a7c15
	return int((h * 0xff51afd7ed558ccd) >> 32 & uint64(len(d.index)-1))
}

// find returns k's position in ring, or -1.
func (d *Dedup) find(k dedupKey) int {
	if len(d.index) == 0 {
		return -1
	}
	mask := len(d.index) - 1
	for i := d.slot(k); ; i = (i + 1) & mask {
		p := d.index[i]
		if p == 0 {
			return -1
		}
		if d.ring[p-1].key == k {
			return int(p - 1)
		}
	}
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
		d.reindex()
	}
	pos := (d.head + d.n) % len(d.ring)
	d.ring[pos] = e
	d.n++
	mask := len(d.index) - 1
	i := d.slot(e.key)
	for d.index[i] != 0 {
		i = (i + 1) & mask
	}
	d.index[i] = uint32(pos + 1)
}

// reindex rebuilds the index for the ring's current size and positions.
func (d *Dedup) reindex() {
	size := 16
	for size < 2*len(d.ring) {
		size <<= 1
	}
	d.index = make([]uint32, size)
	mask := size - 1
	for j := range d.n {
		pos := (d.head + j) % len(d.ring)
		i := d.slot(d.ring[pos].key)
		for d.index[i] != 0 {
			i = (i + 1) & mask
		}
		d.index[i] = uint32(pos + 1)
	}
}

// Len returns the number of keys remembered.
func (d *Dedup) Len() int { return d.n }

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

// drop forgets the oldest key: its index slot is emptied and the entries
// after it in its probe run move back, so that no lookup stops early.
func (d *Dedup) drop() {
	if d.n == 0 {
		return
	}
	mask := len(d.index) - 1
	want := uint32(d.head + 1)
	i := d.slot(d.ring[d.head].key)
	for d.index[i] != want {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; d.index[j] != 0; j = (j + 1) & mask {
		// the entry at j may move to the hole at i unless its probe run
		// starts after i (cyclically, within (i, j])
		home := d.slot(d.ring[d.index[j]-1].key)
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			d.index[i] = d.index[j]
			i = j
		}
	}
	d.index[i] = 0
	d.ring[d.head] = dedupEntry{}
	d.head = (d.head + 1) % len(d.ring)
	d.n--
}
