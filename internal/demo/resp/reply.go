package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Type is the kind of a RESP2 reply.
type Type byte

// The reply types of RESP2. Nil stands for both the null bulk string
// ($-1) and the null array (*-1).
const (
	SimpleString Type = '+'
	ErrorReply   Type = '-'
	Integer      Type = ':'
	BulkString   Type = '$'
	Array        Type = '*'
	Nil          Type = '0'
)

// Limits on what a reply may hold. Redis itself refuses bulk strings over
// 512 MiB; the demo's values are tiny, so anything near these bounds is a
// broken or hostile peer.
const (
	maxBulk  = 64 << 20
	maxElems = 1 << 20
	maxDepth = 8
	maxLine  = 8 << 10
)

// Reply is one RESP2 reply: Str holds simple strings, errors and bulk
// strings, Int integers, Elems the elements of an array.
type Reply struct {
	Type  Type
	Str   string
	Int   int64
	Elems []Reply
}

// Error is an error reply from the server (such as "WRONGTYPE Operation
// against a key holding the wrong kind of value"). The connection stays
// usable after one.
type Error struct{ Msg string }

func (e *Error) Error() string { return "redis: " + e.Msg }

// errProtocol marks replies that break RESP2; the connection is dropped.
var errProtocol = errors.New("resp: protocol error")

// readReply reads one reply from r.
func readReply(r *bufio.Reader) (Reply, error) { return readDepth(r, 0) }

func readDepth(r *bufio.Reader, depth int) (Reply, error) {
	line, err := readLine(r)
	if err != nil {
		return Reply{}, err
	}
	if len(line) == 0 {
		return Reply{}, fmt.Errorf("%w: empty line", errProtocol)
	}
	t, rest := Type(line[0]), line[1:]
	switch t {
	case SimpleString, ErrorReply:
		return Reply{Type: t, Str: string(rest)}, nil
	case Integer:
		n, err := parseInt(rest)
		return Reply{Type: Integer, Int: n}, err
	case BulkString:
		n, err := parseInt(rest)
		if err != nil || n == -1 {
			return Reply{Type: Nil}, err
		}
		if n < 0 || n > maxBulk {
			return Reply{}, fmt.Errorf("%w: bulk length %d", errProtocol, n)
		}
		// ReadAll grows with what arrives, so a length the peer never
		// sends allocates nothing up front.
		b, err := io.ReadAll(io.LimitReader(r, n+2))
		if err != nil {
			return Reply{}, err
		}
		if int64(len(b)) != n+2 {
			return Reply{}, io.ErrUnexpectedEOF
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return Reply{}, fmt.Errorf("%w: bulk string not ended by CRLF", errProtocol)
		}
		return Reply{Type: BulkString, Str: string(b[:n])}, nil
	case Array:
		n, err := parseInt(rest)
		if err != nil || n == -1 {
			return Reply{Type: Nil}, err
		}
		if n < 0 || n > maxElems {
			return Reply{}, fmt.Errorf("%w: array length %d", errProtocol, n)
		}
		if depth == maxDepth {
			return Reply{}, fmt.Errorf("%w: arrays nested deeper than %d", errProtocol, maxDepth)
		}
		elems := make([]Reply, 0, min(n, 64))
		for range n {
			e, err := readDepth(r, depth+1)
			if err != nil {
				return Reply{}, err
			}
			elems = append(elems, e)
		}
		return Reply{Type: Array, Elems: elems}, nil
	}
	return Reply{}, fmt.Errorf("%w: unknown reply type %q", errProtocol, line[0])
}

// readLine returns the next line without its CRLF. A bare LF or a line
// longer than maxLine is a protocol error.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("%w: line longer than %d bytes", errProtocol, maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not ended by CRLF", errProtocol)
	}
	return line[:len(line)-2], nil
}

func parseInt(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad integer %q", errProtocol, b)
	}
	return n, nil
}

// appendCommand appends args to b as a RESP2 array of bulk strings, the
// form every command takes on the wire.
func appendCommand(b []byte, args []string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
