package redact

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/rand/v2"
	"strings"
	"testing"
)

// Test secrets are generated with valid shapes, never copied from anywhere.

const (
	upperChars  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerChars  = "abcdefghijklmnopqrstuvwxyz"
	digitChars  = "0123456789"
	alnumChars  = upperChars + lowerChars + digitChars
	b64urlChars = alnumChars + "-_"
	hexChars    = "0123456789abcdef"
)

type gen struct{ rng *rand.Rand }

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// str returns n random bytes of alphabet, with at least one digit, one
// upper- and one lower-case letter when the alphabet has them (real
// random tokens of these lengths virtually always do).
func (g *gen) str(alphabet string, n int) string {
	for {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[g.rng.IntN(len(alphabet))]
		}
		s := string(b)
		if n < 8 || !strings.ContainsAny(alphabet, digitChars) || strings.ContainsAny(s, digitChars) &&
			(!strings.ContainsAny(alphabet, upperChars) || strings.ContainsAny(s, upperChars)) &&
			(!strings.ContainsAny(alphabet, lowerChars) || strings.ContainsAny(s, lowerChars)) {
			return s
		}
	}
}

// luhnCheck computes the check digit for payload by the doubling table.
func luhnCheck(payload string) byte {
	doubled := [10]int{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}
	sum := 0
	for i := 0; i < len(payload); i++ {
		d := int(payload[len(payload)-1-i] - '0')
		if i%2 == 0 {
			d = doubled[d]
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// card returns a number of n digits starting with prefix, with a valid
// Luhn check digit.
func (g *gen) card(prefix string, n int) string {
	p := prefix + g.str(digitChars, n-1-len(prefix))
	return p + string(luhnCheck(p))
}

// group splits digits into groups of the given sizes joined by sep.
func group(digits, sep string, sizes ...int) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, digits[:n])
		digits = digits[n:]
	}
	return strings.Join(parts, sep)
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwt returns a signed-looking JWT with a random subject and signature.
func (g *gen) jwt() string {
	hdr := b64url([]byte(`{"alg":"RS256","typ":"JWT","kid":"` + g.str(alnumChars, 8) + `"}`))
	claims, _ := json.Marshal(map[string]any{"sub": g.str(alnumChars, 12), "iat": 1700000000 + g.rng.IntN(1e6), "scope": "read write"})
	sig := make([]byte, 64)
	for i := range sig {
		sig[i] = byte(g.rng.UintN(256))
	}
	return hdr + "." + b64url(claims) + "." + b64url(sig)
}

// ecKeyPEM returns a freshly generated EC private key in PEM.
func ecKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// pkcs8KeyPEM returns a freshly generated Ed25519 key in PKCS #8 PEM.
func pkcs8KeyPEM(t testing.TB) string {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// jsonQuote returns s as a JSON string literal.
func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
