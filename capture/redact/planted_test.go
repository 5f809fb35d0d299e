package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture"
)

// planted is one secret put into traffic, and what kind it is.
type planted struct{ kind, value string }

// TestPlantedSecrets plants secrets of many kinds across headers, query
// strings, JSON, form, multipart and text bodies of real HTTP exchanges,
// redacts them, and checks that no byte of any of them (no window of 12
// bytes, in raw, JSON-escaped or URL-escaped form) survives anywhere in
// the exchanges, however they are encoded.
func TestPlantedSecrets(t *testing.T) {
	g := newGen(1)
	var secrets []planted
	plant := func(kind, v string) string {
		secrets = append(secrets, planted{kind, v})
		return v
	}

	bearer := plant("authorization bearer", g.str(alnumChars+"._-", 40))
	basic := plant("authorization basic", base64.StdEncoding.EncodeToString([]byte("alice:"+g.str(alnumChars, 16))))
	proxyBasic := plant("proxy-authorization", base64.StdEncoding.EncodeToString([]byte("proxyuser:"+g.str(alnumChars, 16))))
	apiKey := plant("x-api-key", g.str(alnumChars, 32))
	authToken := plant("x-auth-token", g.str(hexChars, 40))
	amzToken := plant("x-amz-security-token", g.str(alnumChars+"/+", 120))
	sessionCookie := plant("cookie value", g.str(alnumChars, 32))
	csrfCookie := plant("cookie value", g.str(b64urlChars, 24))
	setCookie := plant("set-cookie value", g.str(alnumChars, 40))
	accessToken := plant("query access_token", g.str(b64urlChars, 43))
	queryJWT := plant("jwt in query", g.jwt())
	userinfoPass := plant("url userinfo password", g.str(alnumChars, 18))
	referrerPass := plant("url userinfo password", g.str(alnumChars, 18))
	password := plant("json password", g.str(alnumChars+"!#%", 20))
	clientSecret := plant("json client_secret", g.str(b64urlChars, 40))
	refresh := plant("json refresh_token", g.str(b64urlChars, 64))
	nestedUser := plant("json nested credentials", "svc-"+g.str(lowerChars, 12))
	nestedPass := plant("json nested credentials", g.str(alnumChars, 24))
	nestedOTP := plant("json nested credentials", g.str(digitChars, 12))
	tok1 := plant("json array of tokens", g.str(alnumChars, 32))
	tok2 := plant("json array of tokens", g.str(alnumChars, 32))
	jsonJWT := plant("jwt in json string", g.jwt())
	idToken := plant("jwt in json id_token", g.jwt())
	textJWT := plant("jwt in text body", g.jwt())
	awsID := plant("aws access key id", "AKIA"+g.str(upperChars+"234567", 16))
	awsSecret := plant("aws secret key under key", g.str(alnumChars+"/+", 40))
	awsSTS := plant("aws temporary key id", "ASIA"+g.str(upperChars+"234567", 16))
	ghp := plant("github token", "ghp_"+g.str(alnumChars, 36))
	ghs := plant("github token", "ghs_"+g.str(alnumChars, 36))
	ghPAT := plant("github fine-grained token", "github_pat_"+g.str(alnumChars, 22)+"_"+g.str(alnumChars, 59))
	glpat := plant("gitlab token", "glpat-"+g.str(b64urlChars, 20))
	slackBot := plant("slack token", "xoxb-"+g.str(digitChars, 12)+"-"+g.str(digitChars, 13)+"-"+g.str(alnumChars, 24))
	slackHookPath := plant("slack webhook", "T"+g.str(upperChars+digitChars, 10)+"/B"+g.str(upperChars+digitChars, 10)+"/"+g.str(alnumChars, 24))
	stripe := plant("stripe secret key", "sk_live_"+g.str(alnumChars, 24))
	stripeWebhook := plant("stripe webhook secret", "whsec_"+g.str(alnumChars, 32))
	google := plant("google api key", "AIza"+g.str(b64urlChars, 35))
	sendgrid := plant("sendgrid key", "SG."+g.str(b64urlChars, 22)+"."+g.str(b64urlChars, 43))
	npmTok := plant("npm token", "npm_"+g.str(alnumChars, 36))
	openai := plant("openai key", "sk-proj-"+g.str(b64urlChars, 48))
	anthropic := plant("anthropic key", "sk-ant-api03-"+g.str(b64urlChars, 80))
	twilio := plant("twilio api key sid", "SK"+g.str(hexChars, 32))
	pemJSON := plant("pem private key in json", ecKeyPEM(t))
	pemText := plant("pem private key in text", pkcs8KeyPEM(t))
	visa := g.card("4", 16)
	plant("card visa grouped", group(visa, " ", 4, 4, 4, 4))
	mcard := g.card("2221", 16)
	plant("card mastercard dashed", group(mcard, "-", 4, 4, 4, 4))
	amex := plant("card amex ungrouped", g.card("37", 15))
	amexGrouped := g.card("34", 15)
	plant("card amex grouped", group(amexGrouped, " ", 4, 6, 5))
	discover := plant("card discover", g.card("6011", 16))
	cvv := plant("card cvv", g.str(digitChars, 3)+g.str(digitChars, 1))
	formPass := plant("form password", g.str(alnumChars, 20))
	formToken := plant("form refresh_token", g.str(b64urlChars, 48))
	multiPass := plant("multipart password field", g.str(alnumChars, 20))
	multiKey := plant("multipart file with key", "sk_test_"+g.str(alnumChars, 24))
	xmlPass := plant("xml password element", g.str(alnumChars, 20))
	locationCode := plant("oauth code in location", g.str(b64urlChars, 32))
	logPass := plant("password in text", g.str(alnumChars, 16))

	// The multipart body, as mime/multipart writes it.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("username", "alice")
	_ = mw.WriteField("password", multiPass)
	fw, _ := mw.CreateFormFile("config", "settings.env")
	fmt.Fprintf(fw, "STRIPE_KEY=%s\nREGION=eu-west-1\n", multiKey)
	_ = mw.Close()

	jsonLogin := `{
  "grant_type": "password",
  "username": "alice@example.com",
  "password": ` + jsonQuote(password) + `,
  "client_id": "web-app",
  "client_secret": ` + jsonQuote(clientSecret) + `,
  "credentials": {"user": ` + jsonQuote(nestedUser) + `, "pass": ` + jsonQuote(nestedPass) + `, "otp": ` + nestedOTP + `},
  "device": {"note": ` + jsonQuote("restored from "+jsonJWT) + `, "created_at": 1709296496789}
}`
	jsonTokens := `{"access_token":` + jsonQuote(g.str(b64urlChars, 40)) + `,"token_type":"Bearer","expires_in":3600,` +
		`"refresh_token":` + jsonQuote(refresh) + `,"id_token":` + jsonQuote(idToken) + `,` +
		`"tokens":[` + jsonQuote(tok1) + `,` + jsonQuote(tok2) + `],` +
		`"integrations":{"aws":{"key_id":` + jsonQuote(awsID) + `,"aws_secret_access_key":` + jsonQuote(awsSecret) + `},` +
		`"github":` + jsonQuote(ghPAT) + `,"gitlab":{"pat":` + jsonQuote(glpat) + `},` +
		`"slack_webhook":` + jsonQuote("https://hooks.slack.com/services/"+slackHookPath) + `,` +
		`"stripe":` + jsonQuote(stripe) + `,"maps":` + jsonQuote(google) + `,"registry":` + jsonQuote(npmTok) + `,` +
		`"llm":[` + jsonQuote(openai) + `],"signing":` + jsonQuote(pemJSON) + `},` +
		`"payment":{"number":` + jsonQuote(group(visa, " ", 4, 4, 4, 4)) + `,"backup":` + jsonQuote(group(mcard, "-", 4, 4, 4, 4)) + `,"last_used":1709296496789}}`
	textBody := "deploy log\n" +
		"using token " + textJWT + " for the registry\n" +
		"GITHUB_TOKEN=" + ghp + "\n" +
		"app token " + ghs + " expires soon\n" +
		"slack " + slackBot + "\n" +
		"webhook secret " + stripeWebhook + "\n" +
		"mail via " + sendgrid + "\n" +
		"assistant " + anthropic + "\n" +
		"twilio " + twilio + "\n" +
		"sts " + awsSTS + "\n" +
		"login password=" + logPass + " ok\n" +
		"amex " + group(amexGrouped, " ", 4, 6, 5) + "\n" +
		pemText
	xmlBody := `<?xml version="1.0"?><login><user>alice</user><password>` + xmlPass + `</password></login>`

	calls := []call{
		{
			method: "POST", target: "/oauth/token?access_token=" + accessToken + "&request=" + queryJWT + "&page=1",
			header: http.Header{
				"Authorization":        {"Bearer " + bearer},
				"X-Api-Key":            {apiKey},
				"X-Auth-Token":         {authToken},
				"X-Amz-Security-Token": {amzToken},
				"Cookie":               {"sid=" + sessionCookie + "; theme=dark; csrf_token=" + csrfCookie},
				"Content-Type":         {"application/json"},
			},
			body:       jsonLogin,
			respHeader: http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"session=" + setCookie + "; Path=/; HttpOnly; Secure; SameSite=Lax"}},
			respBody:   jsonTokens,
		},
		{
			method: "POST", target: "/login",
			header: http.Header{
				"Authorization":       {"Basic " + basic},
				"Proxy-Authorization": {"Basic " + proxyBasic},
				"Content-Type":        {"application/x-www-form-urlencoded"},
				"Referer":             {"https://alice:" + referrerPass + "@portal.example.com/start"},
			},
			body:       url.Values{"username": {"alice"}, "password": {formPass}, "refresh_token": {formToken}, "card": {amex}, "cvv": {cvv}, "remember": {"1"}}.Encode(),
			respStatus: http.StatusFound,
			respHeader: http.Header{"Location": {"https://app.example.com/callback?code=" + locationCode + "&state=xyz123"}, "Content-Type": {"text/plain; charset=utf-8"}},
			respBody:   textBody,
		},
		{
			method: "POST", target: "/upload",
			header:     http.Header{"Content-Type": {mw.FormDataContentType()}},
			body:       mp.String(),
			respHeader: http.Header{"Content-Type": {"application/xml"}},
			respBody:   xmlBody,
		},
		{
			method: "POST", target: "/checkout",
			header:     http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			body:       "item=42&pan=" + discover + "&note=thanks",
			respHeader: http.Header{"Content-Type": {"application/json"}},
			respBody:   `{"ok":true,"order":"ORD-2024-000123"}`,
		},
	}
	exs := exchanges(t, calls)
	// A proxy-style absolute-form target with a password in its userinfo.
	exs[3].Request.Target = "http://shop:" + userinfoPass + "@shop.example.com" + exs[3].Request.Target

	r := New(Options{})
	for i := range exs {
		r.Exchange(&exs[i])
	}

	if testing.Verbose() {
		for _, e := range exs {
			t.Logf("%s %s\n%v\n%s\n%v\n%s", e.Request.Method, e.Request.Target, e.Request.Header, e.Request.Body, e.Response.Header, e.Response.Body)
		}
	}
	kinds := map[string]bool{}
	for _, s := range secrets {
		kinds[s.kind] = true
	}
	if len(kinds) < 20 {
		t.Fatalf("only %d kinds of secrets planted, want at least 20", len(kinds))
	}
	all := dumpExchanges(t, exs)
	for _, s := range secrets {
		if w, ok := leaked(all, s.value); ok {
			t.Errorf("%s leaked: %q survives redaction", s.kind, w)
		}
	}
	if c := r.Count(); c < uint64(len(kinds)) {
		t.Errorf("Count() = %d, want at least %d", c, len(kinds))
	}

	// Redacting again finds nothing more to do.
	n := r.Count()
	for i := range exs {
		again := cloneExchange(exs[i])
		r.Exchange(&again)
		if !reflect.DeepEqual(again, exs[i]) {
			t.Errorf("exchange %d changed on a second pass:\n%s", i, diffExchange(exs[i], again))
		}
	}
	if r.Count() != n {
		t.Errorf("second pass redacted %d more values", r.Count()-n)
	}

	// What must survive: names, schemes, attributes, structure.
	req0, resp0 := exs[0].Request, exs[0].Response
	for _, want := range []capture.Field{
		{Name: "Authorization", Value: "Bearer " + Marker},
		{Name: "X-Api-Key", Value: Marker},
		{Name: "Cookie", Value: "sid=" + Marker + "; theme=" + Marker + "; csrf_token=" + Marker},
	} {
		if got := req0.Header.Get(want.Name); got != want.Value {
			t.Errorf("%s = %q, want %q", want.Name, got, want.Value)
		}
	}
	if got, want := resp0.Header.Get("Set-Cookie"), "session="+Marker+"; Path=/; HttpOnly; Secure; SameSite=Lax"; got != want {
		t.Errorf("Set-Cookie = %q, want %q", got, want)
	}
	if got, want := exs[1].Request.Header.Get("Proxy-Authorization"), "Basic "+Marker; got != want {
		t.Errorf("Proxy-Authorization = %q, want %q", got, want)
	}
	if got, want := exs[1].Response.Header.Get("Location"), "https://app.example.com/callback?code="+Marker+"&state=xyz123"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if !strings.HasSuffix(req0.Target, "&page=1") || !strings.HasPrefix(req0.Target, "/oauth/token?access_token="+Marker+"&request=") {
		t.Errorf("target = %q: query keys or untouched pairs lost", req0.Target)
	}
	if got, want := exs[3].Request.Target, "http://shop:"+Marker+"@shop.example.com/checkout"; got != want {
		t.Errorf("absolute target = %q, want %q", got, want)
	}
	for _, b := range [][]byte{req0.Body, resp0.Body} {
		if !json.Valid(b) {
			t.Errorf("redacted JSON body is not valid JSON:\n%s", b)
		}
	}
	for _, key := range []string{`"password"`, `"client_secret"`, `"credentials"`, `"refresh_token"`, `"tokens"`, `"token_type":"Bearer"`, `"expires_in":3600`, `"created_at": 1709296496789`, `"last_used":1709296496789`} {
		if !bytes.Contains(req0.Body, []byte(key)) && !bytes.Contains(resp0.Body, []byte(key)) {
			t.Errorf("JSON lost %s", key)
		}
	}
	form, err := url.ParseQuery(string(exs[1].Request.Body))
	if err != nil {
		t.Fatalf("redacted form does not parse: %v", err)
	}
	if form.Get("username") != "alice" || form.Get("remember") != "1" || form.Get("password") != Marker {
		t.Errorf("form = %v: want username and remember kept, password redacted", form)
	}
	if !bytes.Contains(exs[2].Request.Body, []byte(`name="password"`)) || !bytes.Contains(exs[2].Request.Body, []byte("REGION=eu-west-1")) {
		t.Errorf("multipart lost its structure:\n%s", exs[2].Request.Body)
	}
	if !bytes.Contains(exs[1].Response.Body, []byte("-----BEGIN")) && !bytes.Contains(exs[1].Response.Body, []byte(Marker)) {
		t.Errorf("text body lost its marker")
	}
}

// dumpExchanges renders exchanges every way they might be written: as
// JSON, with %+v, and with bodies as text.
func dumpExchanges(t *testing.T, exs []capture.Exchange) string {
	t.Helper()
	var b strings.Builder
	j, err := json.Marshal(exs)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(j)
	fmt.Fprintf(&b, "\n%+v\n%v\n", exs, exs)
	for _, e := range exs {
		b.Write(e.Request.Body)
		b.WriteByte('\n')
		b.Write(e.Response.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// leaked returns a window of secret (12 bytes, or all of it when shorter)
// found in s, trying its raw, JSON-escaped and URL-escaped spellings.
func leaked(s, secret string) (string, bool) {
	q := jsonQuote(secret)
	for _, form := range []string{secret, q[1 : len(q)-1], url.QueryEscape(secret)} {
		const w = 12
		if len(form) <= w {
			if strings.Contains(s, form) {
				return form, true
			}
			continue
		}
		for i := 0; i+w <= len(form); i++ {
			if strings.Contains(s, form[i:i+w]) {
				return form[i : i+w], true
			}
		}
	}
	return "", false
}
