package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/secrettest"
)

func TestHeader(t *testing.T) {
	g := secrettest.New(21)
	aws := "AKIA" + g.Str(secrettest.Base32, 16)
	ghp := "ghp_" + g.Str(secrettest.Alnum, 36)
	basic := base64.StdEncoding.EncodeToString([]byte("bob:" + g.Str(secrettest.Alnum, 12)))
	tests := []struct {
		name, value, want string
	}{
		{"Authorization", "Bearer " + g.JWT(), "Bearer " + Marker},
		{"authorization", "bearer abc", "bearer " + Marker},
		{"Authorization", "Basic " + basic, "Basic " + Marker},
		{"Authorization", `Digest username="bob", realm="api", nonce="dcd98b", uri="/x", response="6629fae4"`, "Digest " + Marker},
		{"Authorization", "AWS4-HMAC-SHA256 Credential=" + aws + "/20240301/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f7", "AWS4-HMAC-SHA256 " + Marker},
		{"Authorization", "token " + ghp, "token " + Marker},
		{"Authorization", g.Str(secrettest.Alnum, 32), Marker},
		{"Authorization", ghp + " trailing", Marker},
		{"Authorization", "Negotiate", "Negotiate"},
		{"Proxy-Authorization", "Basic " + basic, "Basic " + Marker},
		{"Cookie", "sid=abc; theme=dark", "sid=" + Marker + "; theme=" + Marker},
		{"Cookie", "a=; b=2;c=3", "a=; b=" + Marker + ";c=" + Marker},
		{"Cookie", "loneval", Marker},
		{"Set-Cookie", "sid=abc; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly", "sid=" + Marker + "; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly"},
		{"Set-Cookie", "sid=; Max-Age=0", "sid=; Max-Age=0"},
		{"set-cookie", "a=1; expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/, b=2; HttpOnly\nc=3", "a=" + Marker + "; expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/, b=" + Marker + "; HttpOnly\nc=" + Marker},
		{":authority", "api.example.com", "api.example.com"},
		{"Host", "token-service.internal:8080", "token-service.internal:8080"},
		{":path", "/x?token=abc", "/x?token=" + Marker},
		{"X-Api-Key", "k-123", Marker},
		{"Api-Key", "k-123", Marker},
		{"X-Auth-Token", "abc", Marker},
		{"X-Amz-Security-Token", "FwoGZXIvYXdzE", Marker},
		{"X-Session-Id", "42", Marker},
		{"X-CSRF-Token", "abc", Marker},
		{"X-XSRF-TOKEN", "abc", Marker},
		{"Ocp-Apim-Subscription-Key", "abc", Marker},
		{"X-Hub-Signature-256", "sha256=abc", Marker},
		{"X_Client_Secret", "abc", Marker},
		{"X-Api-Key", Marker, Marker},
		{"WWW-Authenticate", `Bearer realm="api", error="invalid_token"`, `Bearer realm="api", error="invalid_token"`},
		{"Access-Control-Allow-Credentials", "true", "true"},
		{"Access-Control-Allow-Headers", "Authorization, X-Api-Key", "Authorization, X-Api-Key"},
		{"Content-Type", "application/json; charset=utf-8", "application/json; charset=utf-8"},
		{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.0.0", "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.0.0"},
		{"X-Debug", "token=abc123; user=bob", "token=" + Marker + "; user=bob"},
		{"X-Forwarded-Key", aws, Marker},
		{"Location", "https://app.example.com/cb#access_token=abc&token_type=bearer", "https://app.example.com/cb#access_token=" + Marker + "&token_type=bearer"},
		{"Referer", "https://bob:pw@example.com/?page=2", "https://bob:" + Marker + "@example.com/?page=2"},
		{"X-Tenant", "acme", Marker},
		{"X-Plain", "", ""},
	}
	r := New(Options{ExtraHeaders: []string{"x-TENANT"}})
	for _, tt := range tests {
		in := capture.Header{{Name: "X-Before", Value: "1"}, {Name: tt.name, Value: tt.value}}
		out := r.Header(in)
		if got := out[1].Value; got != tt.want {
			t.Errorf("%s: %q -> %q, want %q", tt.name, tt.value, got, tt.want)
		}
		if out[1].Name != tt.name || out[0] != in[0] {
			t.Errorf("%s: names or other fields changed: %v", tt.name, out)
		}
		if in[1].Value != tt.value {
			t.Errorf("%s: input modified", tt.name)
		}
		if tt.want == tt.value && &out[0] != &in[0] {
			t.Errorf("%s: unchanged header was copied", tt.name)
		}
	}
}

func TestTarget(t *testing.T) {
	g := secrettest.New(22)
	jwt := g.JWT()
	aws := "AKIA" + g.Str(secrettest.Base32, 16)
	tests := []struct{ in, want string }{
		{"/p?access_token=abc&page=2", "/p?access_token=" + Marker + "&page=2"},
		{"/p?page=2&token=", "/p?page=2&token="},
		{"/p?a=1&&b&api_key=k#frag", "/p?a=1&&b&api_key=" + Marker + "#frag"},
		{"/p?q=" + jwt + "&x=1", "/p?q=" + Marker + "&x=1"},
		{"/p?redirect=https%3A%2F%2Fx%2Fcb%3Faccess_token%3Dabc&x=1", "/p?redirect=" + Marker + "&x=1"},
		{"/p?q=Bearer%20abc123def456", "/p?q=" + Marker},
		{"/p?q=caf%C3%A9+au+lait", "/p?q=caf%C3%A9+au+lait"},
		{"/cb?code=abc&state=xyz", "/cb?code=" + Marker + "&state=xyz"},
		{"/lookup?code=US&lang=en", "/lookup?code=US&lang=en"},
		{"http://u:p@h/x", "http://u:" + Marker + "@h/x"},
		{"http://u@h/x", "http://u@h/x"},
		{"https://h:8443/x?y=1", "https://h:8443/x?y=1"},
		{"/users/4111111111111111/orders", "/users/" + Marker + "/orders"},
		{"/path;jsessionid=ABC123?x=1", "/path;jsessionid=" + Marker + "?x=1"},
		{"/p?user%5Bpassword%5D=x&user%5Bname%5D=bob", "/p?user%5Bpassword%5D=" + Marker + "&user%5Bname%5D=bob"},
		{"/p?user[pin]=1234", "/p?user[pin]=" + Marker},
		{"/blob?sv=2022-11-02&se=2024-03-01&sig=abcDEF%2B1%3D", "/blob?sv=2022-11-02&se=2024-03-01&sig=" + Marker},
		{"/s3?X-Amz-Credential=" + aws + "%2F20240301%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=fe5f80f7&X-Amz-Expires=300", "/s3?X-Amz-Credential=" + Marker + "&X-Amz-Signature=" + Marker + "&X-Amz-Expires=300"},
		{"/keys/" + aws, "/keys/" + Marker},
		{"/p?max_tokens=100", "/p?max_tokens=100"},
		{"/p?tokens=abc", "/p?tokens=" + Marker},
		{"*", "*"},
		{"example.com:443", "example.com:443"},
		{"", ""},
	}
	r := New(Options{})
	for _, tt := range tests {
		if got := r.Target(tt.in); got != tt.want {
			t.Errorf("Target(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	g := secrettest.New(23)
	upperSK := "SK" + strings.ToUpper(g.Str(secrettest.Hex, 32)) // Twilio SIDs are lower-case hex
	tests := []struct{ in, want string }{
		{"password=hunter2 user=bob", "password=" + Marker + " user=bob"},
		{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLE", "aws_secret_access_key = " + Marker},
		{`export API_KEY="abc def"`, `export API_KEY="` + Marker + `"`},
		{"Authorization: Digest username=\"a\", response=\"b\"\nnext", "Authorization: Digest " + Marker + "\nnext"},
		{"curl -H 'Authorization: Bearer abc' https://x", "curl -H 'Authorization: Bearer " + Marker + "' https://x"},
		{"sent bearer abcd1234efgh to upstream", "sent bearer " + Marker + " to upstream"},
		{"the bearer instrument", "the bearer instrument"},
		{"<ns:Password>s3cret</ns:Password>", "<ns:Password>" + Marker + "</ns:Password>"},
		{"<apiKey><![CDATA[k-123]]></apiKey>", "<apiKey><![CDATA[" + Marker + "]]></apiKey>"},
		{"<token/> <author>Ann</author>", "<token/> <author>Ann</author>"},
		{"jdbc:postgresql://db/app?user=app&password=pw", "jdbc:postgresql://db/app?user=app&password=" + Marker},
		{"redis://:pw@cache:6379/0", "redis://:" + Marker + "@cache:6379/0"},
		{"amqp://guest:guest@rabbit/", "amqp://guest:" + Marker + "@rabbit/"},
		{`{"user":"a","pin": 1234,"n":1`, `{"user":"a","pin": ` + Marker + `,"n":1`},
		{"token_type=bearer expires_in=3600 max_tokens=12", "token_type=bearer expires_in=3600 max_tokens=12"},
		{"dial tcp token-service.internal:8080: refused", "dial tcp token-service.internal:8080: refused"},
		{`pin: 1234, "pin":5678`, `pin: ` + Marker + `, "pin":` + Marker},
		{"x == password", "x == password"},
		{"card 4111-1111-1111-1111, exp 12/29", "card " + Marker + ", exp 12/29"},
		{"amex 3782 822463 10005.", "amex " + Marker + "."},
		{"diners 3056 930902 5904", "diners " + Marker},
		{"id 40201885-2601-4429-9cfc-0305e82c3301 ok", "id 40201885-2601-4429-9cfc-0305e82c3301 ok"}, // a UUID whose first groups pass Luhn
		{"card 4111-1111-1111-1111-", "card " + Marker + "-"},
		{"not a card 4111111111111112 nor 9111111111111111", "not a card 4111111111111112 nor 9111111111111111"},
		{"ratio 0.4111111111111111 and id 41111111111111110", "ratio 0.4111111111111111 and id 41111111111111110"},
		{"phone +1 415 555 2671, ts 1709296496789", "phone +1 415 555 2671, ts 1709296496789"},
		{"hooks.slack.com/services/T000/B000/XXXXXXXXXXXX ok", "hooks.slack.com/services/" + Marker + " ok"},
		{"sk-" + g.Str(secrettest.Alnum, 48), Marker},
		{"sk-this-is-a-long-product-slug-for-skiing", "sk-this-is-a-long-product-slug-for-skiing"},
		{"global-configuration-settings-v2", "global-configuration-settings-v2"},
		{"eyJub3QiOiJhIGp3dCJ9.eyJ4IjoxfQ.c2ln", "eyJub3QiOiJhIGp3dCJ9.eyJ4IjoxfQ.c2ln"},
		{"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"},
		{"key: -----BEGIN RSA PRIVATE KEY-----\nMIIE\n(truncated", "key: " + Marker},
		{"password=" + Marker, "password=" + Marker},
		{`{"authorization": "Bearer abc", "n":`, `{"authorization": "Bearer ` + Marker + `", "n":`},
		{"jwe " + base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + "." + g.Str(secrettest.B64URL, 40) + "." + g.Str(secrettest.B64URL, 16) + "." + g.Str(secrettest.B64URL, 30) + "." + g.Str(secrettest.B64URL, 22) + " end", "jwe " + Marker + " end"},
		{"hf " + "hf_" + g.Str(secrettest.Upper+secrettest.Lower, 34), "hf " + Marker},
		{"shop shpat_" + g.Str(secrettest.Hex, 32), "shop " + Marker},
		{"slack xapp-1-A0" + g.Str(secrettest.Digits+secrettest.Upper, 10) + "-" + g.Str(secrettest.Hex, 20), "slack " + Marker},
		{"pypi pypi-AgE" + g.Str(secrettest.B64URL, 60), "pypi " + Marker},
		{upperSK, upperSK},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("bob:"+g.Str(secrettest.Alnum, 10))), "Basic " + Marker},
		{"Basic auth is described in RFC 7617", "Basic auth is described in RFC 7617"},
	}
	r := New(Options{})
	for _, tt := range tests {
		got := r.Text(tt.in)
		if got != tt.want {
			t.Errorf("Text(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
		if again := r.Text(got); again != got {
			t.Errorf("Text is not idempotent on %q: %q", got, again)
		}
	}
}

func TestBody(t *testing.T) {
	g := secrettest.New(24)
	aws := "AKIA" + g.Str(secrettest.Base32, 16)
	pw := g.Str(secrettest.Alnum, 16)
	tests := []struct {
		name, ct, in, want string
	}{
		{"truncated JSON falls back to text", "application/json", `{"user":"a","password":"` + pw + `","not`, `{"user":"a","password":"` + Marker + `","not`},
		{"NDJSON", "application/x-ndjson", `{"password":"` + pw + `"}` + "\n" + `{"n":1,"secret":"x"}` + "\n", `{"password":"REDACTED"}` + "\n" + `{"n":1,"secret":"REDACTED"}` + "\n"},
		{"JSON sniffed without a type", "", ` [{"api_key":"` + pw + `"}]`, ` [{"api_key":"REDACTED"}]`},
		{"JSON sniffed in text/plain", "text/plain", `{"token":"abc","note":"token: keep"}`, `{"token":"REDACTED","note":"token: REDACTED"}`},
		{"top-level JWT string", "application/json", `"` + g.JWT() + `"`, `"REDACTED"`},
		{"sensitive literals kept", "application/json", `{"password":null,"pin":true,"cvv":[false,123]}`, `{"password":null,"pin":true,"cvv":[false,"REDACTED"]}`},
		{"counted numbers kept", "application/json", `{"max_tokens":5,"tokens":[3,"abc"],"input_tokens":"12"}`, `{"max_tokens":5,"tokens":[3,"REDACTED"],"input_tokens":"12"}`},
		{"name/value pairs", "application/json", `{"env":[{"name":"DB_PASSWORD","value":"x1"},{"name":"LOG_LEVEL","value":"debug"}],"headers":[{"name":"Authorization","value":"Bearer abc"}]}`,
			`{"env":[{"name":"DB_PASSWORD","value":"REDACTED"},{"name":"LOG_LEVEL","value":"debug"}],"headers":[{"name":"Authorization","value":"REDACTED"}]}`},
		{"descriptors of secrets kept", "application/json", `{"token_endpoint":"https://id/x","secretary":"Ann","password_policy":{"min_length":12},"authorization_status":"ok"}`, `{"token_endpoint":"https://id/x","secretary":"Ann","password_policy":{"min_length":12},"authorization_status":"ok"}`},
		{"secret-shaped key", "application/json", `{"` + aws + `":{"n":1}}`, `{"REDACTED":{"n":1}}`},
		{"form", "application/x-www-form-urlencoded", "user=bob&password=p%40ss+word&client_secret=&n=" + aws, "user=bob&password=REDACTED&client_secret=&n=REDACTED"},
		{"form with charset", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "passwd=x", "passwd=REDACTED"},
		{"xml", "application/soap+xml", `<Envelope><Body><Login><Username>bob</Username><Password>` + pw + `</Password></Login></Body></Envelope>`, `<Envelope><Body><Login><Username>bob</Username><Password>REDACTED</Password></Login></Body></Envelope>`},
		{"binary shapes only", "image/png", "\x89PNG\r\n\x1a\n\x00" + aws + "\x00password=x\x00", "\x89PNG\r\n\x1a\n\x00" + Marker + "\x00password=x\x00"},
		{"unknown binary", "", "\x00\x01" + aws + "\xff", "\x00\x01" + Marker + "\xff"},
		{"unknown text", "", "password: " + pw, "password: " + Marker},
		{"script", "application/javascript", `f.cookies=function(a,b){};var tokens = s.split(" ");cfg={password:!0,apiKey:"k-1",secret: 'x'}`, `f.cookies=function(a,b){};var tokens = s.split(" ");cfg={password:!0,apiKey:"REDACTED",secret: 'REDACTED'}`},
		{"html", "text/html", `<input type="password" name="password" value=""><script>const token = "abc";</script>`, `<input type="password" name="password" value=""><script>const token = "REDACTED";</script>`},
		{"compressed left alone", "application/octet-stream", "\x1f\x8b\x08\x00password=x", "\x1f\x8b\x08\x00password=x"},
		{"multipart", "multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n" + pw + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"secret\":\"s\",\"n\":1}\r\n--XyZ--\r\n",
			"--XyZ\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\nREDACTED\r\n--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"secret\":\"REDACTED\",\"n\":1}\r\n--XyZ--\r\n"},
		{"truncated multipart", "multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + pw, "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nREDACTED"},
		{"multipart with bare newlines", "multipart/form-data; boundary=q", "--q\nContent-Disposition: form-data; name=\"otp\"\n\n123456\n--q\nContent-Disposition: form-data; name=\"n\"\n\n7\n--q--\n", "--q\nContent-Disposition: form-data; name=\"otp\"\n\nREDACTED\n--q\nContent-Disposition: form-data; name=\"n\"\n\n7\n--q--\n"},
		{"multipart without its boundary", "multipart/form-data; boundary=Nope", "password=" + pw, "password=REDACTED"},
	}
	for _, tt := range tests {
		r := New(Options{})
		in := []byte(tt.in)
		got := r.Body(tt.ct, in)
		if string(got) != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
		if string(in) != tt.in {
			t.Errorf("%s: input modified", tt.name)
		}
		if want := uint64(strings.Count(tt.want, Marker)); (r.Count() == 0) != (want == 0) {
			t.Errorf("%s: Count() = %d, want %d", tt.name, r.Count(), want)
		}
	}
}

func TestOptions(t *testing.T) {
	r := New(Options{ExtraHeaders: []string{" X-Tenant-Secretless "}, ExtraKeys: []string{"tenant-key", "", "Order.PIN"}})
	if got := r.Header(capture.Header{{Name: "x-tenant-secretless", Value: "acme"}})[0].Value; got != Marker {
		t.Errorf("extra header kept %q", got)
	}
	for in, want := range map[string]string{
		"/p?tenant_key=1&tenantKey=2&TENANT.KEY=3&tenant=4": "/p?tenant_key=REDACTED&tenantKey=REDACTED&TENANT.KEY=REDACTED&tenant=4",
		"/p?order_pin=1": "/p?order_pin=REDACTED",
	} {
		if got := r.Target(in); got != want {
			t.Errorf("Target(%q) = %q, want %q", in, got, want)
		}
	}
	if got := string(r.Body("application/json", []byte(`{"tenantKey":"k"}`))); got != `{"tenantKey":"REDACTED"}` {
		t.Errorf("extra JSON key kept: %s", got)
	}
	if got := New(Options{}).Target("/p?tenant_key=1"); got != "/p?tenant_key=1" {
		t.Errorf("extra key leaked into another Redactor: %q", got)
	}
}

// TestConcurrent redacts the same traffic from many goroutines and checks
// that every result matches a sequential run (go test -race checks the
// rest).
func TestConcurrent(t *testing.T) {
	g := secrettest.New(25)
	body := []byte(`{"password":"` + g.Str(secrettest.Alnum, 16) + `","msg":"see ` + g.JWT() + `","n":1}`)
	target := "/x?access_token=" + g.Str(secrettest.Alnum, 20) + "&page=2"
	hdr := capture.Header{{Name: "Authorization", Value: "Bearer " + g.Str(secrettest.Alnum, 30)}, {Name: "Cookie", Value: "a=1; b=2"}}
	seq := New(Options{})
	wantBody, wantTarget, wantHdr := seq.Body("application/json", body), seq.Target(target), seq.Header(hdr)
	perRound := seq.Count()

	r := New(Options{})
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				b, tg, h := r.Body("application/json", body), r.Target(target), r.Header(hdr)
				if !bytes.Equal(b, wantBody) || tg != wantTarget || fmt.Sprint(h) != fmt.Sprint(wantHdr) {
					errs <- fmt.Sprintf("round %d differs: %s %s %v", i, b, tg, h)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got, want := r.Count(), perRound*workers*rounds; got != want {
		t.Errorf("Count() = %d, want %d", got, want)
	}
}

// TestExchangeEncodedBody checks that a body whose content coding was not
// removed is scanned as opaque bytes, and that Exchange tolerates nil.
func TestExchangeEncodedBody(t *testing.T) {
	r := New(Options{})
	r.Exchange(nil)
	e := capture.Exchange{Request: capture.Request{
		Method: "POST", Target: "/x",
		Header: capture.Header{{Name: "Content-Type", Value: "text/plain"}, {Name: "Content-Encoding", Value: "zstd"}},
		Body:   []byte("password=x"),
	}}
	r.Exchange(&e)
	if string(e.Request.Body) != "password=x" {
		t.Errorf("encoded body read as text: %q", e.Request.Body)
	}
	e.Request.Decoded = "zstd"
	r.Exchange(&e)
	if string(e.Request.Body) != "password="+Marker {
		t.Errorf("decoded body not redacted: %q", e.Request.Body)
	}
	if !json.Valid([]byte(`"`+Marker+`"`)) || strings.ContainsAny(Marker, "%&=?#/ \"\\") {
		t.Errorf("marker is not URL- and JSON-safe")
	}
}
