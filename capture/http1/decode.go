package http1

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
)

// Decoders removes content codings. Its readers (a gzip reader holds a
// 32 KiB window and its tables) are reused from one body to the next: by
// the messages of a connection, and by every connection given the same
// Decoders in Options. It is not safe for concurrent use.
type Decoders struct{ d decoders }

// decoders is Decoders' state; Conn keeps its own when Options has none.
type decoders struct {
	src bytes.Reader
	gz  *gzip.Reader
	zl  io.ReadCloser
	fl  io.ReadCloser
	br  *brotli.Reader
}

// maxCodings bounds the content codings applied to one body.
const maxCodings = 4

// decode removes the codings listed in codings (in the order they were
// applied, so removed last to first) from raw, keeping at most limit bytes.
// It returns the decoded body, the names of the codings removed, whether
// output was cut at limit or by a truncated input, and false when a coding
// is unknown or the data does not decode (partialOK accepts a decoder
// failure after some output: the input itself was cut).
func (d *decoders) decode(raw []byte, codings string, limit int64, partialOK bool) (out []byte, names string, trunc, ok bool) {
	var list [maxCodings]string
	n := 0
	for v := range strings.SplitSeq(codings, ",") {
		v = trimOWS(v)
		var name string
		switch {
		case v == "" || strings.EqualFold(v, "identity"):
			continue
		case strings.EqualFold(v, "gzip") || strings.EqualFold(v, "x-gzip"):
			name = "gzip"
		case strings.EqualFold(v, "deflate"):
			name = "deflate"
		case strings.EqualFold(v, "br"):
			name = "br"
		default:
			return nil, "", false, false
		}
		if n == maxCodings {
			return nil, "", false, false
		}
		list[n] = name
		n++
	}
	if n == 0 {
		return nil, "", false, false
	}
	in := raw
	for i := n - 1; i >= 0; i-- {
		o, more, err := d.decodeOne(list[i], in, limit, false)
		if err != nil && list[i] == "deflate" && isZlib(in) {
			// raw deflate data can look like a zlib header by chance
			if o2, more2, err2 := d.decodeOne(list[i], in, limit, true); err2 == nil {
				o, more, err = o2, more2, nil
			}
		}
		if err != nil && !(partialOK && len(o) > 0) {
			return nil, "", false, false
		}
		trunc = trunc || more || err != nil
		in = o
	}
	if n == 1 {
		names = list[0]
	} else {
		names = strings.Join(list[:n], ", ")
	}
	return in, names, trunc, true
}

// decodeOne removes one coding from in into a new buffer of at most limit
// bytes; more reports that the decoded data went on past limit. rawDeflate
// reads deflate data as raw even when it looks zlib-wrapped.
func (d *decoders) decodeOne(name string, in []byte, limit int64, rawDeflate bool) (out []byte, more bool, err error) {
	d.src.Reset(in)
	var r io.Reader
	switch name {
	case "gzip":
		if d.gz == nil {
			d.gz, err = gzip.NewReader(&d.src)
		} else {
			err = d.gz.Reset(&d.src)
		}
		r = d.gz
	case "deflate":
		if isZlib(in) && !rawDeflate {
			if d.zl == nil {
				d.zl, err = zlib.NewReader(&d.src)
			} else {
				err = d.zl.(zlib.Resetter).Reset(&d.src, nil)
			}
			r = d.zl
		} else {
			if d.fl == nil {
				d.fl = flate.NewReader(&d.src)
			} else {
				err = d.fl.(flate.Resetter).Reset(&d.src, nil)
			}
			r = d.fl
		}
	case "br":
		if d.br == nil {
			d.br = brotli.NewReader(&d.src)
		} else {
			err = d.br.Reset(&d.src)
		}
		r = d.br
	default:
		return nil, false, fmt.Errorf("decode %s: unknown coding", name)
	}
	if err != nil {
		if name == "gzip" {
			d.gz = nil // a failed NewReader leaves nothing to reuse
		}
		return nil, false, fmt.Errorf("decode %s: %w", name, err)
	}
	size := min(limit, int64(4*len(in)+512))
	out = make([]byte, 0, size)
	idle := 0
	for {
		if len(out) == cap(out) {
			if int64(len(out)) >= limit {
				var one [1]byte
				for k := 0; k < 100; k++ {
					n, rerr := r.Read(one[:])
					if n > 0 {
						return out, true, nil
					}
					if rerr != nil {
						break
					}
				}
				return out, false, nil
			}
			out = grow(out, limit)
		}
		n, rerr := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if rerr == io.EOF {
			return out, false, nil
		}
		if rerr != nil {
			if name == "gzip" && errors.Is(rerr, gzip.ErrHeader) && len(out) > 0 && d.src.Len() < len(in) {
				return out, false, nil // padding after the last gzip member
			}
			return out, false, fmt.Errorf("decode %s: %w", name, rerr)
		}
		if n == 0 {
			if idle++; idle > 100 {
				return out, false, fmt.Errorf("decode %s: %w", name, io.ErrNoProgress)
			}
		} else {
			idle = 0
		}
	}
}

// grow doubles b's capacity, up to limit.
func grow(b []byte, limit int64) []byte {
	c := min(limit, int64(2*cap(b)+512))
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}

// isZlib reports whether b starts with a zlib header (RFC 1950): deflate
// method, a window of at most 32 KiB and a valid check value.
func isZlib(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	cmf, flg := b[0], b[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}
