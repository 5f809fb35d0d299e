package http1

import (
	"encoding/binary"
	"testing"
)

// tinyHello builds a minimal TLS ClientHello carrying a server_name
// extension; with split > 0 the handshake message is cut into two records
// after split bytes.
func tinyHello(name string, split int) []byte {
	sni := binary.BigEndian.AppendUint16(nil, uint16(len(name)+3)) // server_name_list
	sni = append(sni, 0)                                           // host_name
	sni = binary.BigEndian.AppendUint16(sni, uint16(len(name)))
	sni = append(sni, name...)
	ext := binary.BigEndian.AppendUint16(nil, 0x000a) // supported_groups first
	ext = binary.BigEndian.AppendUint16(ext, 4)
	ext = append(ext, 0, 2, 0, 0x1d)
	ext = binary.BigEndian.AppendUint16(ext, 0) // server_name
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(sni)))
	ext = append(ext, sni...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 0)                   // session id
	body = append(body, 0, 2, 0x13, 0x01)    // one cipher suite
	body = append(body, 1, 0)                // null compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	msg := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	msg = append(msg, body...)
	record := func(frag []byte) []byte {
		r := []byte{0x16, 3, 1}
		r = binary.BigEndian.AppendUint16(r, uint16(len(frag)))
		return append(r, frag...)
	}
	if split > 0 && split < len(msg) {
		return append(record(msg[:split]), record(msg[split:])...)
	}
	return record(msg)
}

func TestClientHelloSNI(t *testing.T) {
	real := clientHello(t, "real.example.org")
	whole := tinyHello("api.example.com", 0)
	cases := []struct {
		name string
		in   []byte
		want string
		done bool
	}{
		{"crypto/tls client", real, "real.example.org", true},
		{"minimal", whole, "api.example.com", true},
		{"across two records", tinyHello("split.example.com", 30), "split.example.com", true},
		{"across two records, first only", tinyHello("split.example.com", 30)[:35], "", false},
		{"record header only", whole[:5], "", false},
		{"truncated", whole[:len(whole)-3], "", false},
		{"server hello", []byte{0x16, 3, 3, 0, 4, 2, 0, 0, 0}, "", true},
		{"alert record", []byte{0x15, 3, 3, 0, 2, 2, 40}, "", true},
		{"non-ASCII server name", append(whole[:len(whole)-2:len(whole)-2], 0xff, 0xff), "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name, done := clientHelloSNI(c.in)
			if name != c.want || done != c.done {
				t.Errorf("got %q done=%v, want %q done=%v", name, done, c.want, c.done)
			}
		})
	}
	// every prefix and every single-byte corruption must be handled without panic
	for i := range whole {
		clientHelloSNI(whole[:i])
		bad := append([]byte(nil), whole...)
		bad[i] ^= 0xff
		clientHelloSNI(bad)
	}
}
