// Package secrettest takes a seed and gives fake secrets of real shapes (tokens, keys, cards)
// planted in HTTP exchanges, with the means to tell whether any of them survived redaction.
//
// Every value is generated, never copied from anywhere: vendor tokens
// have their vendor's prefix and alphabet, JSON Web Tokens decode to
// JSON, PEM private keys parse, card numbers pass the Luhn check. The
// same seed always gives the same values, keys included, so that a leak
// found once can be reproduced.
package secrettest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
)

// Alphabets the generated strings are drawn from.
const (
	Upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Lower  = "abcdefghijklmnopqrstuvwxyz"
	Digits = "0123456789"
	Alnum  = Upper + Lower + Digits
	B64URL = Alnum + "-_"
	Hex    = "0123456789abcdef"
	// Base32 is the RFC 4648 alphabet of AWS access key ids.
	Base32 = Upper + "234567"
)

// Gen generates secrets from a seed. It is not safe for concurrent use.
type Gen struct{ rng *rand.Rand }

// New returns a generator seeded with seed.
func New(seed uint64) *Gen {
	return &Gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Str returns n random bytes of alphabet. When n is 8 or more it has at
// least one digit, one upper- and one lower-case letter wherever the
// alphabet has them, as real random tokens of such lengths virtually
// always do.
func (g *Gen) Str(alphabet string, n int) string {
	n = max(n, 0)
	if alphabet == "" {
		return ""
	}
	b := make([]byte, n)
	for {
		for i := range b {
			b[i] = alphabet[g.rng.IntN(len(alphabet))]
		}
		s := string(b)
		if n < 8 || !strings.ContainsAny(alphabet, Digits) || strings.ContainsAny(s, Digits) &&
			(!strings.ContainsAny(alphabet, Upper) || strings.ContainsAny(s, Upper)) &&
			(!strings.ContainsAny(alphabet, Lower) || strings.ContainsAny(s, Lower)) {
			return s
		}
	}
}

// Bytes returns n random bytes.
func (g *Gen) Bytes(n int) []byte {
	b := make([]byte, max(n, 0))
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return b
}

// LuhnDigit returns the check digit that makes payload+digit pass the
// Luhn check. payload must be decimal digits.
func LuhnDigit(payload string) byte {
	doubled := [10]int{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}
	sum := 0
	for i := 0; i < len(payload); i++ {
		d := int(payload[len(payload)-1-i]-'0') % 10
		if i%2 == 0 {
			d = doubled[d]
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// Card returns a card number of n digits that starts with prefix (the
// issuer's range: "4" Visa, "2221" to "2720" and "51" to "55" Mastercard,
// "34" and "37" American Express, "6011" Discover) and ends with a valid
// Luhn check digit.
func (g *Gen) Card(prefix string, n int) string {
	p := prefix + g.Str(Digits, n-1-len(prefix))
	return p + string(LuhnDigit(p))
}

// NotLuhn returns a 16-digit number starting with 4, shaped like a Visa
// card number, whose check digit is wrong: a decoy that is no card.
func (g *Gen) NotLuhn() string {
	c := g.Card("4", 16)
	last := (c[15]-'0'+1)%10 + '0'
	return c[:15] + string(last)
}

// Group splits digits into groups of the given sizes joined by sep, as
// card numbers are printed ("4111 1111 1111 1111"). Digits beyond the
// groups are dropped; groups beyond the digits are left out.
func Group(digits, sep string, sizes ...int) string {
	var parts []string
	for _, n := range sizes {
		if n > len(digits) {
			n = len(digits)
		}
		if n <= 0 {
			continue
		}
		parts = append(parts, digits[:n])
		digits = digits[n:]
	}
	return strings.Join(parts, sep)
}

// JWT returns a JSON Web Token of the shape identity providers issue: an
// RS256 header with a key id, claims with a random subject, and 64 random
// signature bytes, each part base64url-encoded.
func (g *Gen) JWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	hdr := enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"` + g.Str(Alnum, 8) + `"}`))
	claims, err := json.Marshal(map[string]any{"sub": g.Str(Alnum, 12), "iat": 1700000000 + g.rng.IntN(1e6), "scope": "read write"})
	if err != nil { // a map of strings and ints always marshals
		claims = []byte(`{}`)
	}
	return hdr + "." + enc(claims) + "." + enc(g.Bytes(64))
}

// UUID returns a random version 4 UUID: an identifier, not a secret.
func (g *Gen) UUID() string {
	b := g.Bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// ULID returns a ULID for the time ms (Unix milliseconds): 48 bits of
// time and 80 random bits in Crockford base32. An identifier, not a
// secret.
func (g *Gen) ULID(ms int64) string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [26]byte
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	for i := 10; i < 26; i++ {
		b[i] = crockford[g.rng.IntN(32)]
	}
	return string(b[:])
}

// ECKeyPEM returns a P-256 private key in SEC 1 PEM ("EC PRIVATE KEY").
func (g *Gen) ECKeyPEM() string {
	for {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), g.Bytes(32))
		if err != nil {
			continue // zero or not below the group order: draw again
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil { // only for curves x509 does not know, never P-256
			return ""
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	}
}

// Ed25519KeyPEM returns an Ed25519 private key in PKCS #8 PEM
// ("PRIVATE KEY").
func (g *Gen) Ed25519KeyPEM() string {
	k := ed25519.NewKeyFromSeed(g.Bytes(ed25519.SeedSize))
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil { // never for an Ed25519 key
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// RSAKeyPEM returns a 2048-bit RSA private key in PKCS #1 PEM
// ("RSA PRIVATE KEY"), its primes drawn from the seed.
func (g *Gen) RSAKeyPEM() string {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for {
		p, q := g.prime(1024), g.prime(1024)
		if p.Cmp(q) == 0 {
			continue
		}
		pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm, qm)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue // e divides p-1 or q-1
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if k.Validate() != nil {
			continue
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	}
}

// prime returns a random prime of exactly bits bits with its top two bits
// set, so that the product of two has twice as many bits.
func (g *Gen) prime(bits int) *big.Int {
	b := g.Bytes(bits / 8)
	b[0] |= 0xc0
	b[len(b)-1] |= 1
	n := new(big.Int).SetBytes(b)
	two := big.NewInt(2)
	for !n.ProbablyPrime(20) {
		n.Add(n, two)
	}
	return n
}
