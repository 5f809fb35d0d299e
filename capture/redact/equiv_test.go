package redact

// The scanner skips most bytes with table look-ups, finds lower-case
// token prefixes from the separator after them, skips JSON strings whose
// bytes anchor no rule, jumps between the b's of prose, and caches key
// classes. Each shortcut must change nothing: these tests hold every one
// of them against a plain implementation that tries every rule at every
// byte, on text built to hit the rules, on their edges and on fuzzed
// input.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
)

// slowNextSecret is nextSecret without any shortcut: at every byte at or
// after from it tries the rules that byte can start, in the order the
// rules are specified, and returns the first match.
func slowNextSecret[T text](r *Redactor, s T, from int, m mode) (int, int) {
	var rc runCache
	for i := from; i < len(s); i++ {
		c := s[i]
		boundary := i == 0 || !is(s[i-1], cAlnum)
		switch {
		case c >= '0' && c <= '9':
			if i > 0 && is(s[i-1], cDigit) {
				continue
			}
			if e := cardAt(s, i); e > 0 {
				return i, e
			}
		case c == 'e':
			if e := jwtAt(&rc, s, i); e > 0 {
				return i, e
			}
		case c == '-':
			if e := pemAt(s, i); e > 0 {
				return i, e
			}
		case c == ':':
			if hasAt(s, i, "://") {
				if a, b := userinfoAt(s, i+3); a >= 0 {
					return a, b
				}
			} else if m&mKeyColon != 0 {
				if a, b := keyedAt(r, s, i, true, m&mQuoted != 0); a >= 0 {
					return a, b
				}
			}
		case c == '=':
			if m&mKeyEq != 0 {
				if a, b := keyedAt(r, s, i, false, m&mQuoted != 0); a >= 0 {
					return a, b
				}
			}
		case c == '>':
			if m&mXML != 0 {
				if a, b := xmlAt(r, s, i); a >= 0 {
					return a, b
				}
			}
		case c == 'B' || c == 'b':
			if m&mWords != 0 && boundary {
				if a, b := slowWordCred(s, i); a >= 0 {
					return a, b
				}
			}
		default:
			if boundary {
				if a, b := tokenAt(&rc, s, i); a >= 0 {
					return a, b
				}
			}
		}
	}
	return -1, -1
}

// slowWordCred is wordCredAt without its quick rejection of a second
// byte other than 'e' or 'a'.
func slowWordCred[T text](s T, i int) (int, int) {
	if !hasFoldAt(s, i, "bearer ") && !hasFoldAt(s, i, "basic ") {
		return -1, -1
	}
	return wordCredAt(s, i)
}

// slowClassify classifies a normalised key by trying every word at every
// position.
func slowClassify(r *Redactor, k []byte) keyClass {
	if len(k) == 0 {
		return keyPlain
	}
	if _, ok := r.extraKeys[string(k)]; ok {
		return keySecret
	}
	if exactKey(k) {
		return keySecret
	}
	found := false
	for i := range k {
		for _, w := range containedWords {
			if has(k, i, w) {
				found = true
			}
		}
	}
	if !found || bytes.Contains(k, []byte("tokeniz")) || bytes.Contains(k, []byte("secretar")) {
		return keyPlain
	}
	for _, s := range descriptorSuffixes {
		if bytes.HasSuffix(k, []byte(s)) {
			return keyPlain
		}
	}
	if bytes.Contains(k, []byte("tokens")) {
		return keyCounted
	}
	return keySecret
}

// slowSensitiveHeader tries every header word at every position.
func slowSensitiveHeader(norm []byte) bool {
	for _, w := range headerWords {
		if bytes.Contains(norm, []byte(w)) {
			return true
		}
	}
	return false
}

// rulePieces are fragments that start, end or almost match a rule.
var rulePieces = []string{
	"ghp_", "gho_", "ghx_", "github_pat_", "glpat-", "glagent-", "gldt-", "glx-", "xoxb-", "xoxq-", "xapp-",
	"sk_live_", "sk_test_", "sk-ant-", "sk-proj-", "sk-", "s-", "shpat_", "rk_live_", "rk_", "whsec_", "SG.", "SK",
	"npm_", "hooks.slack.com/services/", "hooks.slack.com/x/", "hf_", "pypi-AgE", "pypi-", "AKIA", "ASIA", "AIza",
	"eyJ", "eyJhbGciOiJIUzI1NiJ9", "ey", "J", ".", "..", "-----BEGIN RSA PRIVATE KEY-----\n", "-----END RSA PRIVATE KEY-----",
	"--", "://", "u:p@", "password=", "pwd=", "token: ", "\"secret\": ", "'api_key' = ", "<password>", "</password>",
	"<x:token>", "Bearer ", "bearer ", "BEARER ", "Basic ", "basic ", "bAsic ", "dXNlcjpwYXNz", "4111 1111 1111 1111",
	"4111-1111-1111-1111", "4111111111111111", "378282246310005", "41", "411", "-", "_", " ", "=", "==", ":", "::",
	">", "<", "\"", "'", "`", "\\", "{", "}", "[", "]", ",", ";", "&", "?", "#", "%", "+", "/", "@", "\n", "\t",
	"é", "\x00", "\xff", "abc", "ABC", "0123456789", "e", "y", "b", "B", "A", "S", "max_tokens", "pin", "user[pin]",
	"charset", "2025-03-01T09:30:00Z", "localhost:8080", "=>",
}

// genText returns text made of rule pieces and random runs.
func genText(rng *rand.Rand, pieces int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.: "
	var b strings.Builder
	for range rng.IntN(pieces + 1) {
		if rng.IntN(3) == 0 {
			for range rng.IntN(48) {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
			continue
		}
		b.WriteString(rulePieces[rng.IntN(len(rulePieces))])
	}
	return b.String()
}

var allModes = []mode{modeText, modeCode, modeQuery, modePath, modeBinary}

// checkNextSecret compares nextSecret with slowNextSecret on s from
// every offset and in every mode.
func checkNextSecret(t *testing.T, r *Redactor, s string) {
	t.Helper()
	for _, m := range allModes {
		for from := 0; from <= len(s); from++ {
			a, b := nextSecret(r, s, from, m)
			wa, wb := slowNextSecret(r, s, from, m)
			if a != wa || b != wb {
				t.Fatalf("nextSecret(%q, from %d, mode %#x) = %d, %d; trying every rule at every byte gives %d, %d",
					s, from, m, a, b, wa, wb)
			}
			if ba, bb := nextSecret(r, []byte(s), from, m); ba != a || bb != b {
				t.Fatalf("nextSecret on bytes of %q differs from on the string", s)
			}
		}
	}
}

func TestNextSecretMatchesSlowScan(t *testing.T) {
	r := New(Options{ExtraKeys: []string{"k1", "tenant-key"}})
	for _, s := range rulePieces {
		checkNextSecret(t, r, s)
		checkNextSecret(t, r, "x "+s+" y")
	}
	rng := rand.New(rand.NewPCG(7, 11))
	found := 0
	for range 3000 {
		s := genText(rng, 8)
		checkNextSecret(t, r, s)
		if a, _ := nextSecret(r, s, 0, modeText); a >= 0 {
			found++
		}
	}
	if found < 300 {
		t.Errorf("only %d of 3000 texts hold a secret; the generator no longer exercises the rules", found)
	}
}

func FuzzNextSecret(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 9))
	for range 64 {
		f.Add(genText(rng, 6))
	}
	r := New(Options{ExtraKeys: []string{"k1"}})
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 512 {
			s = s[:512] // every offset is tried: keep each input quick
		}
		checkNextSecret(t, r, s)
	})
}

func TestClassifyMatchesSlowClassify(t *testing.T) {
	r := New(Options{ExtraKeys: []string{"k1", "tenant-key"}})
	var keys []string
	keys = append(keys, containedWords[:]...)
	keys = append(keys, descriptorSuffixes[:]...)
	keys = append(keys, "pwd", "pin", "cvv2", "session", "auth", "author", "shipping", "max_tokens", "tokenizer",
		"secretary", "charset", "id", "x1", "2024-03-01t09", "k1", "tenantkey", "é", "")
	rng := rand.New(rand.NewPCG(3, 5))
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			switch rng.IntN(3) {
			case 0:
				b.WriteString(containedWords[rng.IntN(len(containedWords))])
			case 1:
				b.WriteString(descriptorSuffixes[rng.IntN(len(descriptorSuffixes))])
			default:
				for range rng.IntN(6) {
					b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[rng.IntN(36)])
				}
			}
		}
		keys = append(keys, b.String())
	}
	for _, k := range keys {
		if got, want := r.classify([]byte(k)), slowClassify(r, []byte(k)); got != want {
			t.Errorf("classify(%q) = %d, trying every word everywhere gives %d", k, got, want)
		}
	}
}

func TestSensitiveHeaderMatchesSlow(t *testing.T) {
	names := []string{"xapikey", "authorization", "xauthtoken", "cookie", "setcookie", "useragent", "accept",
		"xcsrftoken", "ocpapimsubscriptionkey", "xhubsignature256", "xjwtassertion", "xprivatekeyid", "date", "x"}
	for _, w := range headerWords {
		names = append(names, w, "x"+w, w+"x", w[:len(w)-1])
	}
	for _, n := range names {
		if got, want := sensitiveHeader([]byte(n)), slowSensitiveHeader([]byte(n)); got != want {
			t.Errorf("sensitiveHeader(%q) = %v, want %v", n, got, want)
		}
	}
}

// TestCommonHeaders checks that every name the header fast path knows is
// one that nameRule redacts as text, and that the fast path steps aside
// when Options.ExtraHeaders names one of them.
func TestCommonHeaders(t *testing.T) {
	common := []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Age", "Cache-Control", "Connection",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Type", "Date", "Etag", "ETag", "Expires",
		"If-Modified-Since", "If-None-Match", "Keep-Alive", "Last-Modified", "Origin", "Pragma", "Server",
		"Transfer-Encoding", "User-Agent", "Vary", "Via", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-Id",
		"X-Request-ID",
	}
	for _, n := range common {
		for _, name := range []string{n, strings.ToLower(n)} {
			if common, _ := commonHeader(name); !common {
				t.Errorf("commonHeader(%q) = false", name)
			}
			if rule := nameRule(name); rule != ruleText {
				t.Errorf("%q is on the fast path but nameRule gives rule %d", name, rule)
			}
		}
	}
	for _, name := range []string{"Authorization", "Cookie", "Set-Cookie", "Location", "Host", "X-Api-Key", "X-Auth-Token"} {
		if common, _ := commonHeader(name); common {
			t.Errorf("commonHeader(%q) = true for a header with its own rule", name)
		}
	}
	r := New(Options{ExtraHeaders: []string{"user-agent"}})
	if got := r.Header(capture.Header{{Name: "User-Agent", Value: "curl/8.5.0"}})[0].Value; got != Marker {
		t.Errorf("User-Agent named in ExtraHeaders gives %q, want %q", got, Marker)
	}
}

// TestJSONStringPrefilter checks the claims the JSON scanner relies on to
// skip strings: content without escapes whose bytes anchor no rule of a
// mode holds no secret in it, and content whose only anchors are 'b' and
// 'B' is redacted by words exactly as by scrub.
func TestJSONStringPrefilter(t *testing.T) {
	r := New(Options{})
	rng := rand.New(rand.NewPCG(13, 17))
	prose := []string{"buy", "milk", "before", "Bob", "basic", "basic dXNlcjpwYXNz", "Basic ZnJlZDpodW50ZXIy", "bearer",
		"bearer abcdefgh", "basics", "abasic dXNlcjpwYXNz", "by", " ", "\u00e9t\u00e9", "bEarer xyz", "BASIC ZnJlZDpodW50ZXIy",
		"basic dXNlcjpw", "basic dXNlcjp", "Basic  dXNlcjpw"}
	words, skipped := 0, 0
	for range 20000 {
		var content string
		if rng.IntN(2) == 0 {
			var b strings.Builder
			for k := range rng.IntN(12) {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(prose[rng.IntN(len(prose))])
			}
			content = b.String()
		} else {
			content = genText(rng, 4)
		}
		doc := []byte(`"` + content + `"`)
		js := jsonScan{r: r, s: doc}
		q, ok := js.str()
		if !ok || q.esc {
			continue // not a plain JSON string
		}
		for _, m := range []mode{modeText, modeBinary} {
			switch q.seen & m {
			case 0:
				skipped++
				if a, b := slowNextSecret(r, doc[q.a:q.b], 0, m); a >= 0 {
					t.Fatalf("%q is skipped in mode %#x but holds a secret at %d:%d", content, m, a, b)
				}
			case mWords:
				words++
				viaWords := jsonScan{r: r, s: doc, sp: splicer[[]byte]{src: doc}}
				viaWords.words(q.a, q.b, q.seen&strUpperB != 0)
				viaScrub := splicer[[]byte]{src: doc}
				scrub(r, &viaScrub, q.a, q.b, m)
				if got, want := viaWords.sp.result(), viaScrub.result(); !bytes.Equal(got, want) || viaWords.sp.n != viaScrub.n {
					t.Fatalf("words on %q gives %q (%d), scrub gives %q (%d)", content, got, viaWords.sp.n, want, viaScrub.n)
				}
			}
		}
	}
	if words < 1000 || skipped < 1000 {
		t.Errorf("only %d strings took the prose path and %d were skipped; the test no longer exercises them", words, skipped)
	}
}

// TestMemo checks that memoised key classes are the classes, however the
// keys collide in the memo and however often they are evicted, and that
// a memo tells its tags apart.
func TestMemo(t *testing.T) {
	r := New(Options{ExtraKeys: []string{"id"}})
	var m memo
	rng := rand.New(rand.NewPCG(19, 23))
	var keys []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("k%d", i), fmt.Sprintf("password%d", i), fmt.Sprintf("%dtoken", i))
	}
	keys = append(keys, "id", "ID", "password", "max_tokens", "a", strings.Repeat("x", memoLen), strings.Repeat("x", memoLen+1)+"token")
	for range 50000 {
		k := keys[rng.IntN(len(keys))]
		i := m.keySlot(r, []byte(k), 0)
		if i < 0 {
			if len(k) <= memoLen {
				t.Fatalf("key %q of %d bytes is not memoised", k, len(k))
			}
			continue
		}
		if got, want := keyClass(m.keys.slots[i].val), keyClassOf(r, []byte(k)); got != want {
			t.Fatalf("memoised class of %q = %d, want %d", k, got, want)
		}
	}
	var fresh table
	memoPut(&fresh, tagText, "application/json", 0)
	if _, ok := memoGet(&fresh, tagText, "application/json"); !ok {
		t.Errorf("a stored value is not found")
	}
	if _, ok := memoGet(&fresh, tagShapes, "application/json"); ok {
		t.Errorf("a value stored under one tag is found under another")
	}
	if _, ok := memoGet(&fresh, tagText, "application/jsom"); ok {
		t.Errorf("a value differing in its last byte is found")
	}
}

// TestKeyPrediction runs documents whose keys repeat, change order, and
// differ from the expected key only after its end, through one Redactor
// whose memos have learnt other orders, and checks each against a fresh
// Redactor and against what must be redacted.
func TestKeyPrediction(t *testing.T) {
	shared := New(Options{})
	docs := []string{
		`[{"a":1,"pass":"x","id":2},{"a":1,"pass":"x","id":2}]`,
		`[{"a":1,"password":"hunter2","id":2},{"a":1,"pass":"x","id":2},{"a":1,"password":"hunter3","id":2}]`,
		`[{"a":1,"pass":"x"},{"a":1,"pass\u0077ord":"hunter4"},{"a":1,"pass":"x"}]`,
		`[{"id":1,"token":"t1"},{"id":1,"tok":"x"},{"id":1,"token":"t2"},{"id":1,"tokens":"t3"}]`,
		`[{"a":{"b":{"secret":"s1"}},"c":1},{"a":{"b":{"secret_name":"n"}},"c":1},{"a":{"b":{"secret":"s2"}},"c":1}]`,
		`{"a":1,"pass"` + strings.Repeat(" ", 3) + `:"x"}`,
		`[{"a":1,"pass":"x"},{"a":1,"pass`,
	}
	for round := range 3 {
		for _, d := range docs {
			got := shared.Body("application/json", []byte(d))
			want := New(Options{}).Body("application/json", []byte(d))
			if !bytes.Equal(got, want) {
				t.Errorf("round %d: %s\nwith a warm memo: %s\nwith a fresh one: %s", round, d, got, want)
			}
			for _, secret := range []string{"hunter", "t1", "t2", "s1", "s2"} {
				if bytes.Contains(got, []byte(`"`+secret)) {
					t.Errorf("round %d: %q survives in %s", round, secret, got)
				}
			}
		}
	}
}
