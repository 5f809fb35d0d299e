package redact

// A JSON body repeats the same few keys in every object of every array,
// and one API repeats them in every body; looking a key up costs less
// than normalising and classifying it again. Each goroutine borrows a
// keyCache from its Redactor's pool for the length of one body, so the
// cache needs no lock and holds, across bodies, the keys of the traffic
// that goroutine redacts.

const (
	// cacheKeyLen is the longest raw key the cache holds; longer keys
	// are classified every time.
	cacheKeyLen = 22
	cacheBits   = 6
	cacheSlots  = 1 << cacheBits
	// cacheProbes is how many slots, from the one a key hashes to, a
	// lookup tries (open addressing with linear probing).
	cacheProbes = 4
)

// keyCache maps raw keys to their classes.
type keyCache struct {
	slots [cacheSlots]cacheSlot
}

// cacheSlot holds one raw key and its class; n == 0 marks a free slot.
type cacheSlot struct {
	n     uint8
	class keyClass
	key   [cacheKeyLen]byte
}

// cacheHash hashes a non-empty key by its length and three of its bytes
// (first, middle and last), enough to tell apart the keys of one API.
func cacheHash(k []byte) uint32 {
	x := uint32(len(k))<<24 ^ uint32(k[0])<<16 ^ uint32(k[len(k)/2])<<8 ^ uint32(k[len(k)-1])
	return x * 0x9E3779B1 // Fibonacci hashing: the top bits pick the slot
}

// class returns the class of the raw key k (without escapes), from the
// cache when it is there.
func (c *keyCache) class(r *Redactor, k []byte) keyClass {
	if len(k) == 0 || len(k) > cacheKeyLen {
		return keyClassOf(r, k)
	}
	home := cacheHash(k) >> (32 - cacheBits)
	free := -1
	for p := range uint32(cacheProbes) {
		i := (home + p) % cacheSlots
		s := &c.slots[i]
		if s.n == 0 {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if int(s.n) == len(k) && string(s.key[:s.n]) == string(k) {
			return s.class
		}
	}
	cl := keyClassOf(r, k)
	if free < 0 {
		free = int(home) // every probed slot is taken: replace the first
	}
	s := &c.slots[free]
	s.n, s.class = uint8(len(k)), cl
	copy(s.key[:], k)
	return cl
}

// getCache borrows a key cache from r's pool.
func (r *Redactor) getCache() *keyCache {
	if c, ok := r.caches.Get().(*keyCache); ok {
		return c
	}
	return new(keyCache)
}

// putCache returns a key cache to r's pool.
func (r *Redactor) putCache(c *keyCache) { r.caches.Put(c) }
