package secrettest

import "encoding/base64"

// Place is the part of an HTTP exchange a value is planted in.
type Place uint8

// The places. Name, Prefix and Suffix of a [Secret] say where exactly.
const (
	// RequestHeader: the value of the request header Name is
	// Prefix+Value+Suffix ("Bearer " before a token).
	RequestHeader Place = iota + 1
	// ResponseHeader: the same, in the response.
	ResponseHeader
	// Cookie: the value of the cookie Name in the request's Cookie header.
	Cookie
	// SetCookie: a response Set-Cookie header of its own, Name=Value
	// followed by Suffix (its attributes: "; Path=/; HttpOnly").
	SetCookie
	// Query: the value of the query parameter Name in the request target.
	Query
	// Userinfo: the password of the user Name in an absolute-form request
	// target ("http://Name:Value@host/path"), as a proxy receives it.
	Userinfo
	// RequestJSON: the value at the key path Name in the request's JSON
	// body: keys joined by dots, array elements by [i] ("a.b[1].c"). It is
	// the string Prefix+Value+Suffix, or that text as it is when Bare.
	RequestJSON
	// ResponseJSON: the same, in the response's JSON body.
	ResponseJSON
	// GzipJSON: the same, in a JSON response body that travels
	// gzip-compressed (see [Exchange.Gzip]).
	GzipJSON
	// Form: the field Name of the request's urlencoded form body.
	Form
	// Multipart: the field Name of the request's multipart/form-data body.
	Multipart
	// MultipartFile: the content of the file part Name (file NAME.env) of
	// that multipart body.
	MultipartFile
	// Text: a line of the response's text/plain body that starts with
	// Prefix (which must be unique in that body).
	Text
	// XML: the text of the element Name in the response's XML body.
	XML
	// Binary: Prefix+Value+Suffix inside the response's binary body (not
	// UTF-8). Prefix and Suffix must be unique in that body.
	Binary
)

var placeNames = [...]string{
	RequestHeader: "request header", ResponseHeader: "response header", Cookie: "cookie",
	SetCookie: "set-cookie", Query: "query", Userinfo: "userinfo", RequestJSON: "request JSON",
	ResponseJSON: "response JSON", GzipJSON: "gzip JSON", Form: "form", Multipart: "multipart",
	MultipartFile: "multipart file", Text: "text", XML: "XML", Binary: "binary",
}

// String names the place.
func (p Place) String() string {
	if int(p) < len(placeNames) && placeNames[p] != "" {
		return placeNames[p]
	}
	return "unknown place"
}

// Secret is a value planted in an HTTP exchange: one of [Gen.Plant]'s
// secrets, or one of the plain values planted beside them.
type Secret struct {
	// Kind says what the value is ("github token", "jwt in query").
	Kind string
	// Value is the secret itself: no part of it may reach any output.
	Value string
	// Place, Name, Prefix and Suffix say where it goes.
	Place  Place
	Name   string
	Prefix string
	Suffix string
	// Bare writes a JSON value as it is, unquoted (a number), instead of
	// as a string.
	Bare bool
}

// wire is the text planted: Prefix+Value+Suffix.
func (s Secret) wire() string { return s.Prefix + s.Value + s.Suffix }

// String describes the secret and its place, without its value.
func (s Secret) String() string {
	w := s.Kind + " (" + s.Place.String()
	if s.Name != "" {
		w += " " + s.Name
	}
	return w + ")"
}

// Plant returns secrets of over 50 kinds, each with its place: credential
// headers (Bearer and Basic Authorization, Proxy-Authorization, API-key
// and token headers), cookies, Set-Cookie, query parameters (access
// tokens, a JWT), passwords in URLs, JSON values (passwords, client
// secrets, refresh and ID tokens, nested credentials, arrays of tokens,
// cloud, GitHub, GitLab, Slack, Stripe, Google, SendGrid, npm, OpenAI,
// Anthropic and Twilio keys, PEM private keys, card numbers), form,
// multipart, XML and text bodies, a gzip-compressed JSON body and a
// binary body. [Build] lays them out as exchanges.
func (g *Gen) Plant() []Secret {
	var out []Secret
	add := func(s Secret) string {
		out = append(out, s)
		return s.Value
	}
	b64 := base64.StdEncoding.EncodeToString

	add(Secret{Kind: "authorization bearer", Value: g.Str(Alnum+"._-", 40), Place: RequestHeader, Name: "Authorization", Prefix: "Bearer "})
	add(Secret{Kind: "authorization basic", Value: b64([]byte("alice:" + g.Str(Alnum, 16))), Place: RequestHeader, Name: "Authorization", Prefix: "Basic "})
	add(Secret{Kind: "proxy-authorization", Value: b64([]byte("proxyuser:" + g.Str(Alnum, 16))), Place: RequestHeader, Name: "Proxy-Authorization", Prefix: "Basic "})
	add(Secret{Kind: "x-api-key", Value: g.Str(Alnum, 32), Place: RequestHeader, Name: "X-Api-Key"})
	add(Secret{Kind: "x-auth-token", Value: g.Str(Hex, 40), Place: RequestHeader, Name: "X-Auth-Token"})
	add(Secret{Kind: "x-amz-security-token", Value: g.Str(Alnum+"/+", 120), Place: RequestHeader, Name: "X-Amz-Security-Token"})
	add(Secret{Kind: "cookie value", Value: g.Str(Alnum, 32), Place: Cookie, Name: "sid"})
	add(Secret{Kind: "cookie value", Value: g.Str(B64URL, 24), Place: Cookie, Name: "csrf_token"})
	add(Secret{Kind: "set-cookie value", Value: g.Str(Alnum, 40), Place: SetCookie, Name: "session", Suffix: "; Path=/; HttpOnly; Secure; SameSite=Lax"})
	add(Secret{Kind: "query access_token", Value: g.Str(B64URL, 43), Place: Query, Name: "access_token"})
	add(Secret{Kind: "jwt in query", Value: g.JWT(), Place: Query, Name: "request"})
	add(Secret{Kind: "url userinfo password", Value: g.Str(Alnum, 18), Place: Userinfo, Name: "shop"})
	add(Secret{Kind: "url userinfo password", Value: g.Str(Alnum, 18), Place: RequestHeader, Name: "Referer", Prefix: "https://alice:", Suffix: "@portal.example.com/start"})
	add(Secret{Kind: "json password", Value: g.Str(Alnum+"!#%", 20), Place: RequestJSON, Name: "password"})
	add(Secret{Kind: "json client_secret", Value: g.Str(B64URL, 40), Place: RequestJSON, Name: "client_secret"})
	add(Secret{Kind: "json refresh_token", Value: g.Str(B64URL, 64), Place: ResponseJSON, Name: "refresh_token"})
	add(Secret{Kind: "json nested credentials", Value: "svc-" + g.Str(Lower, 12), Place: RequestJSON, Name: "credentials.user"})
	add(Secret{Kind: "json nested credentials", Value: g.Str(Alnum, 24), Place: RequestJSON, Name: "credentials.pass"})
	add(Secret{Kind: "json nested credentials", Value: "9" + g.Str(Digits, 11), Place: RequestJSON, Name: "credentials.otp", Bare: true})
	add(Secret{Kind: "json array of tokens", Value: g.Str(Alnum, 32), Place: ResponseJSON, Name: "tokens[0]"})
	add(Secret{Kind: "json array of tokens", Value: g.Str(Alnum, 32), Place: ResponseJSON, Name: "tokens[1]"})
	add(Secret{Kind: "jwt in json string", Value: g.JWT(), Place: RequestJSON, Name: "device.note", Prefix: "restored from "})
	add(Secret{Kind: "jwt in json id_token", Value: g.JWT(), Place: ResponseJSON, Name: "id_token"})
	add(Secret{Kind: "jwt in text body", Value: g.JWT(), Place: Text, Prefix: "using token ", Suffix: " for the registry"})
	add(Secret{Kind: "aws access key id", Value: "AKIA" + g.Str(Base32, 16), Place: ResponseJSON, Name: "integrations.aws.key_id"})
	add(Secret{Kind: "aws secret key under key", Value: g.Str(Alnum+"/+", 40), Place: ResponseJSON, Name: "integrations.aws.aws_secret_access_key"})
	add(Secret{Kind: "aws temporary key id", Value: "ASIA" + g.Str(Base32, 16), Place: Text, Prefix: "sts "})
	add(Secret{Kind: "github token", Value: "ghp_" + g.Str(Alnum, 36), Place: Text, Prefix: "GITHUB_TOKEN="})
	add(Secret{Kind: "github token", Value: "ghs_" + g.Str(Alnum, 36), Place: Text, Prefix: "app token ", Suffix: " expires soon"})
	add(Secret{Kind: "github fine-grained token", Value: "github_pat_" + g.Str(Alnum, 22) + "_" + g.Str(Alnum, 59), Place: ResponseJSON, Name: "integrations.github"})
	add(Secret{Kind: "gitlab token", Value: "glpat-" + g.Str(B64URL, 20), Place: ResponseJSON, Name: "integrations.gitlab.pat"})
	add(Secret{Kind: "slack token", Value: "xoxb-" + g.Str(Digits, 12) + "-" + g.Str(Digits, 13) + "-" + g.Str(Alnum, 24), Place: Text, Prefix: "slack "})
	add(Secret{Kind: "slack webhook", Value: "T" + g.Str(Upper+Digits, 10) + "/B" + g.Str(Upper+Digits, 10) + "/" + g.Str(Alnum, 24), Place: ResponseJSON, Name: "integrations.slack_webhook", Prefix: "https://hooks.slack.com/services/"})
	add(Secret{Kind: "stripe secret key", Value: "sk_live_" + g.Str(Alnum, 24), Place: ResponseJSON, Name: "integrations.stripe"})
	add(Secret{Kind: "stripe webhook secret", Value: "whsec_" + g.Str(Alnum, 32), Place: Text, Prefix: "webhook secret "})
	add(Secret{Kind: "google api key", Value: "AIza" + g.Str(B64URL, 35), Place: ResponseJSON, Name: "integrations.maps"})
	add(Secret{Kind: "sendgrid key", Value: "SG." + g.Str(B64URL, 22) + "." + g.Str(B64URL, 43), Place: Text, Prefix: "mail via "})
	add(Secret{Kind: "npm token", Value: "npm_" + g.Str(Alnum, 36), Place: ResponseJSON, Name: "integrations.registry"})
	add(Secret{Kind: "openai key", Value: "sk-proj-" + g.Str(B64URL, 48), Place: ResponseJSON, Name: "integrations.llm[0]"})
	add(Secret{Kind: "anthropic key", Value: "sk-ant-api03-" + g.Str(B64URL, 80), Place: Text, Prefix: "assistant "})
	add(Secret{Kind: "twilio api key sid", Value: "SK" + g.Str(Hex, 32), Place: Text, Prefix: "twilio "})
	add(Secret{Kind: "pem private key in json", Value: g.ECKeyPEM(), Place: ResponseJSON, Name: "integrations.signing"})
	visa := g.Card("4", 16)
	add(Secret{Kind: "card visa grouped", Value: Group(visa, " ", 4, 4, 4, 4), Place: ResponseJSON, Name: "payment.number"})
	mc := g.Card("2221", 16)
	add(Secret{Kind: "card mastercard dashed", Value: Group(mc, "-", 4, 4, 4, 4), Place: ResponseJSON, Name: "payment.backup"})
	add(Secret{Kind: "card amex ungrouped", Value: g.Card("37", 15), Place: Form, Name: "card"})
	add(Secret{Kind: "card amex grouped", Value: Group(g.Card("34", 15), " ", 4, 6, 5), Place: Text, Prefix: "amex "})
	add(Secret{Kind: "card discover", Value: g.Card("6011", 16), Place: Form, Name: "pan"})
	add(Secret{Kind: "card cvv", Value: g.Str(Digits, 4), Place: Form, Name: "cvv"})
	add(Secret{Kind: "form password", Value: g.Str(Alnum, 20), Place: Form, Name: "password"})
	add(Secret{Kind: "form refresh_token", Value: g.Str(B64URL, 48), Place: Form, Name: "refresh_token"})
	add(Secret{Kind: "multipart password field", Value: g.Str(Alnum, 20), Place: Multipart, Name: "password"})
	add(Secret{Kind: "multipart file with key", Value: "sk_test_" + g.Str(Alnum, 24), Place: MultipartFile, Name: "config", Prefix: "STRIPE_KEY=", Suffix: "\nREGION=eu-west-1\n"})
	add(Secret{Kind: "xml password element", Value: g.Str(Alnum, 20), Place: XML, Name: "password"})
	add(Secret{Kind: "oauth code in location", Value: g.Str(B64URL, 32), Place: ResponseHeader, Name: "Location", Prefix: "https://app.example.com/callback?code=", Suffix: "&state=xyz123"})
	add(Secret{Kind: "token response header", Value: g.Str(B64URL, 48), Place: ResponseHeader, Name: "X-Refresh-Token"})
	add(Secret{Kind: "password in text", Value: g.Str(Alnum, 16), Place: Text, Prefix: "login password=", Suffix: " ok"})
	add(Secret{Kind: "json access_token", Value: g.Str(B64URL, 40), Place: ResponseJSON, Name: "access_token"})
	add(Secret{Kind: "password in gzip json", Value: g.Str(Alnum, 18), Place: GzipJSON, Name: "account.password"})
	add(Secret{Kind: "github token in gzip json", Value: "ghp_" + g.Str(Alnum, 36), Place: GzipJSON, Name: "account.deploy_key"})
	add(Secret{Kind: "jwt in gzip json", Value: g.JWT(), Place: GzipJSON, Name: "events[0].detail", Prefix: "issued "})
	add(Secret{Kind: "card in gzip json", Value: g.Card("4", 16), Place: GzipJSON, Name: "billing.card"})
	add(Secret{Kind: "pem rsa private key in binary", Value: g.RSAKeyPEM(), Place: Binary, Prefix: "\x00\xfe\xffkey\x00", Suffix: "\x00\xfe\xffend-key\x00"})
	add(Secret{Kind: "jwt in binary", Value: g.JWT(), Place: Binary, Prefix: "\x00\xfe\xffjwt\x00", Suffix: "\x00\xfe\xffend-jwt\x00"})
	// Last, as it spans lines: nothing else in the text body follows it.
	add(Secret{Kind: "pem private key in text", Value: g.Ed25519KeyPEM(), Place: Text, Prefix: "signing key:\n"})
	return out
}

// Kinds returns how many distinct kinds secrets hold.
func Kinds(secrets []Secret) int {
	seen := map[string]bool{}
	for _, s := range secrets {
		seen[s.Kind] = true
	}
	return len(seen)
}
