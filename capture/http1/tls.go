package http1

// h2Preface opens every HTTP/2 connection with prior knowledge (RFC 9113).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

type sniffResult uint8

const (
	sniffNo sniffResult = iota
	sniffYes
	sniffMaybe
)

// sniffTLS reports whether p starts with a TLS record (content type 20-23,
// version 3.x) and, for a handshake record, the handshake type (1
// ClientHello, 2 ServerHello). With final, what is there decides.
func sniffTLS(p []byte, final bool) (sniffResult, byte) {
	if len(p) == 0 {
		return sniffMaybe, 0
	}
	if p[0] < 0x14 || p[0] > 0x17 {
		return sniffNo, 0
	}
	if len(p) < 3 {
		if final {
			return sniffNo, 0
		}
		return sniffMaybe, 0
	}
	if p[1] != 3 || p[2] > 4 {
		return sniffNo, 0
	}
	if p[0] != 0x16 {
		return sniffYes, 0
	}
	if len(p) < 6 {
		if final {
			return sniffYes, 0
		}
		return sniffMaybe, 0
	}
	return sniffYes, p[5]
}

// clientHelloSNI returns the server name of the TLS ClientHello at the start
// of p. done is false while more bytes could still complete the message.
func clientHelloSNI(p []byte) (name string, done bool) {
	var msg []byte // the handshake message, gathered across records
	joined := false
	for {
		if len(p) < 5 {
			return "", false
		}
		if p[0] != 0x16 {
			return "", true
		}
		n := int(p[3])<<8 | int(p[4])
		if n == 0 {
			return "", true
		}
		if len(p) < 5+n {
			return "", false
		}
		frag := p[5 : 5+n]
		p = p[5+n:]
		switch {
		case msg == nil:
			msg = frag
		case !joined:
			msg = append(append(make([]byte, 0, len(msg)+len(frag)), msg...), frag...)
			joined = true
		default:
			msg = append(msg, frag...)
		}
		if len(msg) < 4 {
			continue
		}
		if msg[0] != 1 {
			return "", true
		}
		size := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
		if len(msg)-4 >= size {
			return helloSNI(msg[4 : 4+size]), true
		}
	}
}

// reader reads a TLS structure defensively: any overrun empties it.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) skip(n int) {
	if !r.ok || n > len(r.b) {
		r.ok, r.b = false, nil
		return
	}
	r.b = r.b[n:]
}

func (r *reader) u8() int {
	if !r.ok || len(r.b) < 1 {
		r.ok = false
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() int {
	if !r.ok || len(r.b) < 2 {
		r.ok = false
		return 0
	}
	v := int(r.b[0])<<8 | int(r.b[1])
	r.b = r.b[2:]
	return v
}

// sub returns the next n bytes as their own reader.
func (r *reader) sub(n int) reader {
	if !r.ok || n > len(r.b) {
		r.ok = false
		return reader{}
	}
	s := reader{b: r.b[:n], ok: true}
	r.b = r.b[n:]
	return s
}

// helloSNI reads the host_name of the server_name extension of a
// ClientHello body.
func helloSNI(body []byte) string {
	r := reader{b: body, ok: true}
	r.skip(2 + 32) // legacy_version, random
	r.skip(r.u8()) // session id
	r.skip(r.u16())
	r.skip(r.u8()) // compression methods
	exts := r.sub(r.u16())
	for exts.ok && len(exts.b) >= 4 {
		typ := exts.u16()
		ext := exts.sub(exts.u16())
		if typ != 0 {
			continue
		}
		list := ext.sub(ext.u16())
		for list.ok && len(list.b) >= 3 {
			kind := list.u8()
			host := list.sub(list.u16())
			if kind == 0 && host.ok && validHost(host.b) {
				return string(host.b)
			}
		}
		return ""
	}
	return ""
}

func validHost(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
