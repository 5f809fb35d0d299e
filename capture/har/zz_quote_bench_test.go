package har

import "testing"

func BenchmarkQuoteBody(b *testing.B) {
	x := apiExchanges(1)[0]
	body := x.Response.Body
	b.SetBytes(int64(len(body)))
	var dst []byte
	for b.Loop() {
		dst, _ = appendQuoted(dst[:0], body, invalidFail)
	}
}

func BenchmarkQuoteShort(b *testing.B) {
	x := apiExchanges(1)[0]
	var dst []byte
	for b.Loop() {
		dst = dst[:0]
		for _, f := range x.Request.Header {
			dst, _ = appendQuoted(dst, f.Name, invalidReplace)
			dst, _ = appendQuoted(dst, f.Value, invalidReplace)
		}
	}
}
