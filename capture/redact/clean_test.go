package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/internal/secrettest"
)

// cleanPNG encodes a small gradient image: real binary bytes.
func cleanPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 24, 24))
	for y := 0; y < 24; y++ {
		for x := 0; x < 24; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 10), uint8(y * 10), uint8(x * y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// cleanCalls is realistic API traffic that holds no secret.
func cleanCalls(t testing.TB) []call {
	g := secrettest.New(7)
	logo := cleanPNG(t)
	sum := sha256.Sum256(logo)
	digest := hex.EncodeToString(sum[:])
	ms := time.Date(2024, 3, 1, 12, 34, 56, 789e6, time.UTC).UnixMilli()
	badCard := g.NotLuhn()
	nine := g.Card("9", 16) // valid check digit, but no card issuer uses 9
	var orders []string
	for i := 0; i < 3; i++ {
		orders = append(orders, fmt.Sprintf(`    {
      "id": "%s",
      "ulid": "%s",
      "order_number": "ORD-2024-%06d",
      "created_at": "2024-03-01T12:34:%02d.789Z",
      "updated_ms": %d,
      "updated_ms_str": "%d",
      "customer": {"email": "jane.doe+%d@example.com", "phone": "+1 415 555 %04d", "account_id": "%s"},
      "reference": "%s",
      "checksum": "sha256:%s",
      "amount": {"value": %d, "currency": "EUR", "ratio": 0.4532015112830366},
      "tracking": "1Z999AA1012345678%d",
      "tags": ["express", "gift"],
      "shipped": true,
      "notes": null
    }`, g.UUID(), g.ULID(ms+int64(i)), 123+i, i, ms+int64(i), ms+int64(i), i, 2671+i, badCard, nine, digest, 1299*(i+1), i))
	}
	ordersJSON := "{\n  \"data\": [\n" + strings.Join(orders, ",\n") + "\n  ],\n" +
		`  "thumbnail": "data:image/png;base64,` + base64.StdEncoding.EncodeToString(logo) + `",` + "\n" +
		`  "next": "/api/v1/orders?page=3&per_page=50&sort=-created_at",` + "\n" +
		`  "generated_at": ` + fmt.Sprint(ms) + "\n}\n"

	discovery := `{"issuer":"https://id.example.com","authorization_endpoint":"https://id.example.com/oauth2/authorize",` +
		`"token_endpoint":"https://id.example.com/oauth2/token","jwks_uri":"https://id.example.com/.well-known/jwks.json",` +
		`"token_endpoint_auth_methods_supported":["client_secret_basic","private_key_jwt"],` +
		`"id_token_signing_alg_values_supported":["RS256","ES256"],"response_types_supported":["code","id_token","code id_token"],` +
		`"code_challenge_methods_supported":["S256"],"scopes_supported":["openid","email","profile"]}`

	chatReq := `{"model":"gpt-4o-mini","max_tokens":256,"temperature":0.2,"messages":[{"role":"user","content":"Summarise order ORD-2024-000123, placed 2024-03-01."}]}`
	chatResp := `{"id":"chatcmpl-` + g.Str(secrettest.Alnum, 29) + `","object":"chat.completion","created":1709296496,"model":"gpt-4o-mini-2024-07-18",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Order ORD-2024-000123 shipped on 1 March."},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":21,"completion_tokens":12,"total_tokens":33,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_` + g.Str(secrettest.Hex, 10) + `"}`

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("description", "Logo, 24x24, uploaded 2024-03-01T12:34:56Z")
	fw, _ := mw.CreateFormFile("file", "logo.png")
	_, _ = fw.Write(logo)
	_ = mw.Close()

	noise := make([]byte, 32<<10)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range noise {
		noise[i] = byte(rng.UintN(256))
	}

	html := `<!doctype html><html><head><title>Sign in</title><meta charset="utf-8"></head><body>
<form method="post" action="/login"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" value="">
<input type="hidden" name="next" value="/orders?page=2"><button type="submit">Sign in</button></form>
<p>Forgot your password? <a href="/reset">Reset it</a>.</p></body></html>`
	xml := `<?xml version="1.0" encoding="UTF-8"?><order id="` + g.UUID() + `"><number>ORD-2024-000124</number><created>2024-03-01T12:34:56Z</created><total currency="EUR">12.99</total><token_type>Bearer</token_type></order>`

	reqID := g.UUID()
	return []call{
		{
			method: "GET", target: "/api/v1/orders?page=2&per_page=50&sort=-created_at&since=2024-03-01T00%3A00%3A00Z&status=shipped&ids=" + g.UUID() + "," + g.UUID(),
			header: http.Header{
				"Accept": {"application/json"}, "X-Request-Id": {reqID}, "If-None-Match": {`"` + digest[:32] + `"`},
				"Traceparent": {"00-" + g.Str(secrettest.Hex, 32) + "-" + g.Str(secrettest.Hex, 16) + "-01"}, "Accept-Language": {"en-GB,en;q=0.9"},
			},
			respHeader: http.Header{
				"Content-Type": {"application/json; charset=utf-8"}, "Etag": {`W/"` + digest[:40] + `"`}, "Cache-Control": {"private, max-age=60"},
				"Link": {`<https://api.example.com/api/v1/orders?page=3&per_page=50>; rel="next"`}, "X-Ratelimit-Remaining": {"4999"},
				"X-Ratelimit-Reset": {fmt.Sprint(ms / 1000)}, "Vary": {"Authorization, Cookie, Accept-Encoding"}, "X-Request-Id": {reqID},
				"Access-Control-Allow-Headers": {"Authorization, X-Api-Key, Content-Type"}, "Access-Control-Allow-Credentials": {"true"},
				"Strict-Transport-Security": {"max-age=63072000; includeSubDomains; preload"},
			},
			respBody: ordersJSON,
		},
		{method: "GET", target: "/.well-known/openid-configuration", respHeader: http.Header{"Content-Type": {"application/json"}}, respBody: discovery},
		{
			method: "POST", target: "/v1/chat/completions", header: http.Header{"Content-Type": {"application/json"}}, body: chatReq,
			respHeader: http.Header{"Content-Type": {"application/json"}, "Openai-Processing-Ms": {"412"}}, respBody: chatResp,
		},
		{
			method: "POST", target: "/api/v1/assets", header: http.Header{"Content-Type": {mw.FormDataContentType()}}, body: mp.String(),
			respStatus: http.StatusCreated,
			respHeader: http.Header{"Content-Type": {"application/json"}, "Location": {"/api/v1/assets/" + g.UUID() + "?v=2"}},
			respBody:   `{"id":"` + g.UUID() + `","size":` + fmt.Sprint(len(logo)) + `,"sha256":"` + digest + `"}`,
		},
		{method: "GET", target: "/assets/logo.png", respHeader: http.Header{"Content-Type": {"image/png"}}, respBody: string(logo)},
		{method: "GET", target: "/blobs/" + digest, respHeader: http.Header{"Content-Type": {"application/octet-stream"}}, respBody: string(noise)},
		{method: "GET", target: "/login?next=%2Forders%3Fpage%3D2", respHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, respBody: html},
		{method: "GET", target: "/orders/ORD-2024-000124.xml", respHeader: http.Header{"Content-Type": {"application/xml"}}, respBody: xml},
		{
			method: "POST", target: "/search?code=US&lang=en", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			body: "q=running+shoes&page=2&sort=price_asc&since=2024-03-01", respHeader: http.Header{"Content-Type": {"application/x-ndjson"}},
			respBody: `{"sku":"RS-1001","price":89.9,"updated":` + fmt.Sprint(ms) + "}\n" + `{"sku":"RS-1002","price":99.5,"updated":` + fmt.Sprint(ms+1) + "}\n",
		},
		{
			method: "GET", target: "/api/v1/me", respStatus: http.StatusUnauthorized,
			respHeader: http.Header{"Content-Type": {"application/problem+json"}, "Www-Authenticate": {`Bearer realm="api", error="invalid_token", error_description="The access token expired"`}},
			respBody:   `{"type":"https://api.example.com/problems/unauthorized","title":"Unauthorized","status":401,"detail":"The access token expired at 2024-03-01T12:34:56Z."}`,
		},
		{
			method: "GET", target: "/healthz", respHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			respBody: "2024-03-01T12:34:56.789Z INFO request_id=" + reqID + " method=GET path=/api/v1/orders status=200 duration_ms=12 bytes=4096\nok\n",
		},
	}
}

// TestNoFalsePositives sends realistic API traffic that holds no secret
// and checks that redaction leaves every byte of it as it was.
func TestNoFalsePositives(t *testing.T) {
	exs := exchanges(t, cleanCalls(t))
	r := New(Options{})
	for i := range exs {
		before := cloneExchange(exs[i])
		r.Exchange(&exs[i])
		if !reflect.DeepEqual(before, exs[i]) {
			t.Errorf("exchange %d (%s %s) changed:\n%s", i, before.Request.Method, before.Request.Target, diffExchange(before, exs[i]))
		}
	}
	if n := r.Count(); n != 0 {
		t.Errorf("Count() = %d after clean traffic, want 0", n)
	}
	for _, line := range []string{
		"user jane.doe@example.com logged in from 203.0.113.7 at 2024-03-01T12:34:56Z",
		"order ORD-2024-000123 total=12.99 EUR ts=1709296496789",
		"GET /api/v1/orders?page=2 200 12ms",
	} {
		if got := r.Text(line); got != line {
			t.Errorf("Text(%q) = %q", line, got)
		}
	}
}

// diffExchange describes what differs between two exchanges.
func diffExchange(a, b capture.Exchange) string {
	var d strings.Builder
	if a.Request.Target != b.Request.Target {
		fmt.Fprintf(&d, "target %q -> %q\n", a.Request.Target, b.Request.Target)
	}
	for _, h := range [][2]capture.Header{{a.Request.Header, b.Request.Header}, {a.Response.Header, b.Response.Header}} {
		for i := range h[0] {
			if i < len(h[1]) && h[0][i] != h[1][i] {
				fmt.Fprintf(&d, "header %q -> %q\n", h[0][i], h[1][i])
			}
		}
	}
	for _, body := range [][2][]byte{{a.Request.Body, b.Request.Body}, {a.Response.Body, b.Response.Body}} {
		x, y := body[0], body[1]
		if bytes.Equal(x, y) {
			continue
		}
		i := 0
		for i < len(x) && i < len(y) && x[i] == y[i] {
			i++
		}
		lo := max(0, i-40)
		fmt.Fprintf(&d, "body differs at %d: %q -> %q\n", i, x[lo:min(len(x), i+60)], y[lo:min(len(y), i+60)])
	}
	return d.String()
}
