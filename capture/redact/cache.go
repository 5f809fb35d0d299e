package redact

// Redacting traffic repeats itself: a JSON body has the same few keys in
// every object of every array, one API has them in every body, and most
// header values (User-Agent, Accept, Content-Type, Server) are the same
// on every exchange. A memo remembers, for such short byte strings, what
// the rules made of them, so that looking one up replaces normalising and
// classifying a key, or scanning a value, again.
//
// Each call borrows a memo from its Redactor's pool (Exchange borrows one
// for the whole exchange), so memos need no lock, and across calls each
// one fills with what the traffic keeps repeating. What a memo holds
// depends only on the bytes and on the Redactor's options, which never
// change, so a hit gives exactly what the rules would.

const (
	// memoLen is the longest string a memo holds; longer ones are
	// worked out every time.
	memoLen   = 45
	memoBits  = 6
	memoSlots = 1 << memoBits
	// memoProbes is how many slots, from the one a string hashes to, a
	// lookup tries (open addressing with linear probing).
	memoProbes = 4
)

// Tags tell apart the entries of one table.
const (
	tagKey    uint8 = iota // a raw JSON key; the byte is its keyClass
	tagText                // a header value in which ruleText redacts nothing
	tagShapes              // a header value in which ruleShapes redacts nothing
)

// memo is what a call borrows: a table of JSON keys and one of header
// values, apart so that values, which come and go, never push keys out.
type memo struct {
	keys table
	// keySeen holds the jsonBytes bits of each key in keys, and keyNext
	// the slot (plus one; zero for none) of the key that came after it the
	// last time it was read: objects in an array repeat their keys in the
	// same order, so the next key is found by comparing bytes where it is
	// expected, without reading it as a string first.
	keySeen [memoSlots]mode
	keyNext [memoSlots]uint8
	values  table
}

// table maps (tag, short string) to a byte.
type table struct {
	slots [memoSlots]memoSlot
}

// memoSlot is one entry; n == 0 marks a free slot.
type memoSlot struct {
	n, tag, val uint8
	b           [memoLen]byte
}

// memoHash hashes a tag and a non-empty string by its length and three of
// its bytes (first, middle and last), enough to tell apart the keys of
// one API and the header values of one client.
func memoHash[T text](tag uint8, k T) uint32 {
	x := uint32(len(k))<<24 ^ uint32(k[0])<<16 ^ uint32(k[len(k)/2])<<8 ^ uint32(k[len(k)-1]) ^ uint32(tag)<<29
	return x * 0x9E3779B1 // Fibonacci hashing: the top bits pick the slot
}

// memoFind returns the slot holding (tag, k), or -1.
func memoFind[T text](t *table, tag uint8, k T) int {
	if len(k) == 0 || len(k) > memoLen {
		return -1
	}
	home := memoHash(tag, k) >> (32 - memoBits)
	for p := range uint32(memoProbes) {
		i := (home + p) % memoSlots
		if s := &t.slots[i]; int(s.n) == len(k) && s.tag == tag && string(s.b[:len(k)]) == string(k) {
			return int(i)
		}
	}
	return -1
}

// memoAdd stores val for (tag, k) in the first free slot it probes, or in
// the one k hashes to when none is free, and returns the slot; a string
// a table cannot hold is not stored, and gives -1.
func memoAdd[T text](t *table, tag uint8, k T, val uint8) int {
	if len(k) == 0 || len(k) > memoLen {
		return -1
	}
	home := memoHash(tag, k) >> (32 - memoBits)
	at := home
	for p := range uint32(memoProbes) {
		if i := (home + p) % memoSlots; t.slots[i].n == 0 {
			at = i
			break
		}
	}
	s := &t.slots[at]
	s.n, s.tag, s.val = uint8(len(k)), tag, val
	copy(s.b[:], k)
	return int(at)
}

// memoGet returns the byte stored for (tag, k).
func memoGet[T text](t *table, tag uint8, k T) (val uint8, ok bool) {
	if i := memoFind(t, tag, k); i >= 0 {
		return t.slots[i].val, true
	}
	return 0, false
}

// memoPut stores val for (tag, k).
func memoPut[T text](t *table, tag uint8, k T, val uint8) { memoAdd(t, tag, k, val) }

// keySlot returns the slot of the raw key k (without escapes), whose
// jsonBytes bits are seen, adding it with its class when it is not there;
// -1 when k is too long to hold.
func (m *memo) keySlot(r *Redactor, k []byte, seen mode) int {
	if i := memoFind(&m.keys, tagKey, k); i >= 0 {
		return i
	}
	i := memoAdd(&m.keys, tagKey, k, uint8(keyClassOf(r, k)))
	if i >= 0 {
		m.keySeen[i], m.keyNext[i] = seen, 0
	}
	return i
}

// nextKey returns the slot of the key that followed the key in slot
// prev the last time, when the bytes of s at i are that key and its
// closing quote; -1 otherwise.
func (m *memo) nextKey(prev int, s []byte, i int) int {
	n := int(m.keyNext[prev]) - 1
	if n < 0 {
		return -1
	}
	e := &m.keys.slots[n]
	if e.n == 0 || e.tag != tagKey || i+int(e.n) >= len(s) || s[i+int(e.n)] != '"' ||
		string(s[i:i+int(e.n)]) != string(e.b[:e.n]) {
		return -1
	}
	return n
}

// getMemo borrows a memo from r's pool.
func (r *Redactor) getMemo() *memo {
	if m, ok := r.memos.Get().(*memo); ok {
		return m
	}
	return new(memo)
}

// putMemo returns a memo to r's pool.
func (r *Redactor) putMemo(m *memo) { r.memos.Put(m) }
