package redact

// Key names are compared in a normal form: ASCII letters lowercased, and
// the separators '-', '_', '.', ' ', '[' and ']' dropped, so "Client-Secret",
// "client_secret", "clientSecret" and "user[client.secret]" all meet.

// keyClass says what to do with the value stored under a key.
type keyClass uint8

const (
	// keyPlain: scan the value for secret shapes only.
	keyPlain keyClass = iota
	// keyCounted: a plural that usually counts things ("max_tokens",
	// "prompt_tokens_details"): strings under it are redacted, numbers kept.
	keyCounted
	// keySecret: the whole value is a secret.
	keySecret
)

// maxKey bounds the normalised length of a key that is classified; longer
// keys are classified by their first maxKey bytes.
const maxKey = 96

// normKey writes the normal form of k into buf and returns it, along with
// the offset in it where k's last segment (after '.' or '[') begins.
func normKey[T text](buf *[maxKey]byte, k T) (norm []byte, last int) {
	n := 0
	for i := 0; i < len(k) && n < maxKey; i++ {
		c := k[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '.' || c == '[':
			last = n
			continue
		case c == '-' || c == '_' || c == ' ' || c == ']':
			continue
		}
		buf[n] = c
		n++
	}
	return buf[:n], last
}

// exactKey reports whether k is one of the normalised keys that are
// secret only as a whole word: inside longer keys they mean something
// else ("pin" in "shipping", "auth" in "author", "sig" in "design").
func exactKey(k []byte) bool {
	switch string(k) {
	case "pwd", "passcode", "pin", "sig", "ssn", "cvv", "cvv2", "cvc", "cvc2", "csc",
		"auth", "session", "sid", "sessid", "otp", "totp", "mfacode",
		"card", "cardno", "cardnum", "ccnum", "ccno", "ccn",
		"codeverifier", "oauthverifier", "samlresponse", "jwt", "bearer", "hmac":
		return true
	}
	return false
}

// containedWords are secret wherever they appear in a normalised key.
var containedWords = [...]string{
	"apikey", "accesskey", "accountkey", "authkey", "authcode", "authorization", "apisecret",
	"credential", "cookie", "cardnumber", "ccnumber", "creditcard", "cvv",
	"licensekey", "debitcard", "encryptionkey", "jwt", "masterkey",
	"password", "passwd", "passphrase", "privatekey", "privkey",
	"secret", "signature", "signingkey", "sessionid", "sessionkey", "subscriptionkey",
	"sharedkey", "securitycode",
	"token",
}

// wordPairs holds a bit for every pair of lower-case letters that starts
// a contained word (bit b of entry a for the letters 'a'+a, 'a'+b). Few
// positions of a key start such a pair, so most are passed over without
// comparing a word.
var wordPairs = func() (t [26]uint32) {
	for _, w := range containedWords {
		t[w[0]-'a'] |= 1 << (w[1] - 'a')
	}
	return t
}()

// wordsFrom lists the contained words by their first letter.
var wordsFrom = func() (t [26][]string) {
	for _, w := range containedWords {
		t[w[0]-'a'] = append(t[w[0]-'a'], w)
	}
	return t
}()

// containedAt reports whether one of the contained words starts at k[i].
func containedAt(k []byte, i int) bool {
	if i+1 >= len(k) {
		return false
	}
	a, b := k[i]-'a', k[i+1]-'a'
	if a >= 26 || b >= 26 || wordPairs[a]&(1<<b) == 0 {
		return false
	}
	for _, w := range wordsFrom[a] {
		if w[1] == k[i+1] && has(k, i, w) {
			return true
		}
	}
	return false
}

// descriptorSuffixes end keys that describe a secret without holding it
// ("token_type", "password_min_length", "token_endpoint", "secret_name").
var descriptorSuffixes = [...]string{
	"type", "types", "count", "length", "len", "limit", "expiry", "expires", "expiresat",
	"expiresin", "expiration", "ttl", "timeout", "lifetime", "url", "uri", "endpoint",
	"method", "methods", "algorithm", "algorithms", "alg", "version", "format", "scheme",
	"policy", "required", "enabled", "usage", "supported", "location", "name", "path",
	"domain", "prefix", "status", "state", "provider", "mode", "kind", "label", "description",
	"createdat", "updatedat", "changedat", "issuedat", "rotatedat", "lastused", "lastusedat",
}

// has reports whether k holds p at offset i.
func has(k []byte, i int, p string) bool {
	if len(k)-i < len(p) {
		return false
	}
	for j := 0; j < len(p); j++ {
		if k[i+j] != p[j] {
			return false
		}
	}
	return true
}

func hasSuffix(k []byte, p string) bool {
	return len(k) >= len(p) && has(k, len(k)-len(p), p)
}

// classify says how sensitive the value under the normalised key k is.
func (r *Redactor) classify(k []byte) keyClass {
	if len(k) == 0 {
		return keyPlain
	}
	if _, ok := r.extraKeys[string(k)]; ok {
		return keySecret
	}
	if !hasWord(k) {
		return keyPlain // "id", "2024-03-01t09", "x1"
	}
	if exactKey(k) {
		return keySecret
	}
	found := false
	for i := range k {
		if containedAt(k, i) {
			found = true
			break
		}
	}
	if !found || indexAt(k, 0, "tokeniz") >= 0 || indexAt(k, 0, "secretar") >= 0 {
		return keyPlain // "tokenizer", "secretary"
	}
	for _, s := range descriptorSuffixes {
		if hasSuffix(k, s) {
			return keyPlain
		}
	}
	if indexAt(k, 0, "tokens") >= 0 { // "max_tokens", "prompt_tokens_details"
		return keyCounted
	}
	return keySecret
}

// minWord is the length of the shortest sensitive word ("pin", "jwt").
const minWord = 3

// hasWord reports whether k holds a run of at least minWord letters, as
// every exact key and every contained word does; a key without one is
// plain unless Options.ExtraKeys names it.
func hasWord(k []byte) bool {
	n := 0
	for _, c := range k {
		if c < 'a' || c > 'z' {
			n = 0
			continue
		}
		if n++; n == minWord {
			return true
		}
	}
	return false
}

// classifyKey normalises k and classifies it, along with its last segment
// ("user[pin]" is classified as "userpin" and as "pin").
func (r *Redactor) classifyKey(k []byte, last int) keyClass {
	c := r.classify(k)
	if last > 0 && c != keySecret {
		if l := r.classify(k[last:]); l > c {
			c = l
		}
	}
	return c
}

// keyClassOf normalises and classifies a raw key.
func keyClassOf[T text](r *Redactor, k T) keyClass {
	var buf [maxKey]byte
	n, last := normKey(&buf, k)
	return r.classifyKey(n, last)
}

// headerWords mark a header whose whole value is a credential when its
// name, lowercased with '-' and '_' dropped, contains one of them.
var headerWords = [...]string{
	"apikey", "token", "secret", "session", "password", "passwd", "credential",
	"signature", "auth", "csrf", "xsrf", "cookie", "privatekey", "accesskey",
	"subscriptionkey", "jwt",
}
