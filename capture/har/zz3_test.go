package har

import ("io"; "testing")

func BenchmarkWriteNoBody(b *testing.B) {
	xs := apiExchanges(256)
	for _, x := range xs { x.Request.Body, x.Response.Body = nil, nil }
	w := NewWriter(io.Discard, FormatNDJSON, Creator{Name: "specgate"})
	for i := 0; b.Loop(); i++ { w.Write(xs[i%len(xs)]) }
}
func BenchmarkWriteNoHeaders(b *testing.B) {
	xs := apiExchanges(256)
	for _, x := range xs { x.Request.Body, x.Response.Body = nil, nil; x.Request.Header, x.Response.Header = nil, nil }
	w := NewWriter(io.Discard, FormatNDJSON, Creator{Name: "specgate"})
	for i := 0; b.Loop(); i++ { w.Write(xs[i%len(xs)]) }
}
func BenchmarkWriteEmpty(b *testing.B) {
	xs := apiExchanges(256)
	for _, x := range xs { x.Request.Body, x.Response.Body = nil, nil; x.Request.Header, x.Response.Header = nil, nil; x.Request.Target = "/" }
	w := NewWriter(io.Discard, FormatNDJSON, Creator{Name: "specgate"})
	for i := 0; b.Loop(); i++ { w.Write(xs[i%len(xs)]) }
}
