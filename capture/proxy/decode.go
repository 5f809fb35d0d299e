package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
)

// maxCodings bounds the content codings removed from one body.
const maxCodings = 4

// decodeBody removes the content codings listed in codings (a
// Content-Encoding value: applied first to last, so removed last to first)
// from raw, keeping at most limit bytes. It returns the decoded body, the
// codings removed ("gzip", "deflate, br"), whether the output was cut (at
// limit, or because raw was), and false when a coding is unknown or the data
// does not decode. partial says raw is only the start of the body: a decoder
// that fails after giving output is then taken to have reached the cut.
func decodeBody(raw []byte, codings string, limit int64, partial bool) (out []byte, names string, trunc, ok bool) {
	var list [maxCodings]string
	n := 0
	for v := range strings.SplitSeq(codings, ",") {
		v = strings.ToLower(strings.TrimSpace(v))
		switch v {
		case "", "identity":
			continue
		case "gzip", "x-gzip":
			v = "gzip"
		case "deflate", "br":
		default:
			return nil, "", false, false
		}
		if n == maxCodings {
			return nil, "", false, false
		}
		list[n] = v
		n++
	}
	if n == 0 {
		return nil, "", false, false
	}
	in := raw
	for i := n - 1; i >= 0; i-- {
		o, more, err := decodeOne(list[i], in, limit)
		if err != nil && !(partial && len(o) > 0) {
			return nil, "", false, false
		}
		trunc = trunc || more || err != nil
		in = o
	}
	return in, strings.Join(list[:n], ", "), trunc, true
}

// decodeOne removes one coding from in, keeping at most limit bytes; more
// reports that the decoded data went on past limit.
func decodeOne(coding string, in []byte, limit int64) (out []byte, more bool, err error) {
	src := bytes.NewReader(in)
	var r io.Reader
	switch coding {
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, false, err
		}
		out, more, err = readAtMost(zr, limit)
		if errors.Is(err, gzip.ErrHeader) && len(out) > 0 {
			err = nil // padding after the last gzip member
		}
		return out, more, err
	case "deflate":
		// RFC 9110 deflate is zlib-wrapped, but servers also send raw
		// deflate data, which rarely starts with a valid zlib header.
		if isZlib(in) {
			zr, err := zlib.NewReader(src)
			if err != nil {
				return nil, false, err
			}
			out, more, err = readAtMost(zr, limit)
			if err == nil {
				return out, more, nil
			}
			src.Reset(in)
		}
		r = flate.NewReader(src)
	case "br":
		r = brotli.NewReader(src)
	default:
		return nil, false, errors.New("unknown content coding")
	}
	return readAtMost(r, limit)
}

// readAtMost reads r to its end, keeping at most limit bytes; more reports
// that r had more.
func readAtMost(r io.Reader, limit int64) (out []byte, more bool, err error) {
	out, err = io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return out, false, err
	}
	if int64(len(out)) < limit {
		return out, false, nil
	}
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if n > 0 {
		return out, true, nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return out, false, nil
	}
	return out, false, err
}

// isZlib reports whether b starts with a zlib header (RFC 1950): the
// deflate method, a window of at most 32 KiB and a valid check value.
func isZlib(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	cmf, flg := b[0], b[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}
