package redact

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/specgate/specgate/internal/pcapgen"
)

func TestZZStats(t *testing.T) {
	conns := pcapgen.Mix(2000, 42)
	var bodies [][]byte
	for _, c := range conns {
		for _, e := range c.Exchanges {
			for _, m := range [][]byte{e.Request, e.Response} {
				if i := bytes.Index(m, []byte("\r\n\r\n")); i >= 0 && len(m) > i+4 && m[i+4] == '{' {
					bodies = append(bodies, m[i+4:])
				}
			}
		}
	}
	var strs, strBytes, scanned, scannedBytes int
	bits := map[mode]int{}
	for _, b := range bodies {
		for i := 0; i < len(b); i++ {
			if b[i] != '"' {
				continue
			}
			js := jsonScan{s: b, i: i}
			q, ok := js.str()
			if !ok {
				break
			}
			strs++
			strBytes += q.b - q.a
			if q.seen&modeText != 0 {
				scanned++
				scannedBytes += q.b - q.a
				for _, m := range []mode{mShapes, mKeyEq, mKeyColon, mXML, mWords} {
					if q.seen&m != 0 {
						bits[m]++
					}
				}
			}
			i = js.i - 1
		}
	}
	fmt.Println(len(bodies), strs, strBytes, scanned, scannedBytes, bits)
	// digits only?
	fmt.Printf("%q\n", bodies[3][:300])
}

func zzBodies() [][]byte {
	conns := pcapgen.Mix(300, 42)
	var bodies [][]byte
	for _, c := range conns {
		for _, e := range c.Exchanges {
			for _, m := range [][]byte{e.Request, e.Response} {
				if i := bytes.Index(m, []byte("\r\n\r\n")); i >= 0 && len(m) > i+4 && m[i+4] == '{' {
					bodies = append(bodies, m[i+4:])
				}
			}
		}
	}
	return bodies
}

func BenchmarkZZStr(b *testing.B) {
	bodies := zzBodies()
	var n int64
	for _, x := range bodies {
		n += int64(len(x))
	}
	b.SetBytes(n)
	for b.Loop() {
		for _, x := range bodies {
			for i := 0; i < len(x); i++ {
				if x[i] == '"' {
					js := jsonScan{s: x, i: i}
					if _, ok := js.str(); !ok {
						break
					}
					i = js.i - 1
				}
			}
		}
	}
}

func BenchmarkZZJSON(b *testing.B) {
	bodies := zzBodies()
	var n int64
	for _, x := range bodies {
		n += int64(len(x))
	}
	r := New(Options{})
	b.SetBytes(n)
	for b.Loop() {
		for _, x := range bodies {
			r.jsonBody(x)
		}
	}
}
