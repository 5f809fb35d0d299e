package har

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	gojson "github.com/goccy/go-json"
	"io"
	"os"
	"strings"

	"github.com/specgate/specgate/capture"
)

// Skip records an entry that was left out and why.
type Skip struct {
	// Index is the entry's position, from 0: in log.entries for HAR, among
	// the non-blank lines for NDJSON.
	Index int
	// Line is the entry's line number (from 1) in NDJSON input, 0 for HAR.
	Line   int
	Reason string
}

// maxSkips bounds the skips kept for Skipped; SkippedCount counts them all.
const maxSkips = 1000

// maxDetect bounds the bytes looked at to tell HAR from NDJSON.
const maxDetect = 64 << 10

// Reader reads exchanges from a HAR document or from NDJSON entries,
// holding one entry in memory at a time. A Reader is not safe for
// concurrent use.
type Reader struct {
	name   string
	format Format
	cr     *countReader
	br     *bufio.Reader
	bom    int64 // bytes of byte-order mark skipped

	// HAR
	dec        *json.Decoder
	state      int
	sawEntries bool

	// NDJSON
	line  []byte
	lineN int

	index    int
	ent      rEntry
	err      error
	skips    []Skip
	skipped  int
	finished bool
}

// HAR walking states.
const (
	stStart   = iota // before the top-level object
	stTop            // inside the top-level object, between members
	stLog            // inside log, between members
	stEntries        // inside log.entries, between entries
)

// countReader counts the bytes read through it, for error positions.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReader returns a Reader of r. It tells HAR from NDJSON by content
// (looking at the first member of the first object); name prefixes every
// error. Empty input is an error, unless name ends in ".ndjson" or ".jsonl",
// where it holds no entries.
func NewReader(r io.Reader, name string) (*Reader, error) {
	rd := &Reader{name: name, cr: &countReader{r: r}}
	rd.br = bufio.NewReaderSize(rd.cr, 64<<10)
	if b, err := rd.br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		rd.br.Discard(len(utf8BOM))
		rd.bom = int64(len(utf8BOM))
	}
	n := 1
	for {
		_, err := rd.br.Peek(n)
		head, _ := rd.br.Peek(rd.br.Buffered())
		f, st := detect(head)
		if st == decided || st == unknown {
			rd.format = f
			break
		}
		if err != nil || len(head) >= maxDetect {
			if err != nil && err != io.EOF {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(bytes.TrimSpace(head)) == 0 && err == io.EOF {
				if f, ok := FormatForPath(name); ok && f == FormatNDJSON {
					rd.format = FormatNDJSON
					break
				}
				return nil, fmt.Errorf("%s: not a HAR file: empty input", name)
			}
			rd.format = FormatHAR
			break
		}
		n = len(head) + 1
	}
	if rd.format == FormatHAR {
		rd.dec = json.NewDecoder(rd.br)
	}
	return rd, nil
}

// Format returns the format detected in the input.
func (r *Reader) Format() Format { return r.format }

// Skipped returns the entries left out so far and why (at most the first
// 1000; SkippedCount counts them all).
func (r *Reader) Skipped() []Skip { return r.skips }

// SkippedCount returns the number of entries left out so far.
func (r *Reader) SkippedCount() int { return r.skipped }

// Next returns the next exchange, or io.EOF after the last. Entries that
// cannot become an exchange (no method, an invalid URL, no response) are
// skipped and listed by Skipped; a structural error ends the reading.
func (r *Reader) Next() (*capture.Exchange, error) {
	for {
		if r.err != nil {
			return nil, r.err
		}
		var (
			line int
			err  error
		)
		if r.format == FormatHAR {
			err = r.nextHAR()
		} else {
			line, err = r.nextNDJSON()
		}
		if err != nil {
			r.err = err
			return nil, err
		}
		idx := r.index
		r.index++
		if r.ent.decodeErr != "" {
			r.skip(idx, line, r.ent.decodeErr)
			continue
		}
		x, reason := r.ent.exchange()
		if reason != "" {
			r.skip(idx, line, reason)
			continue
		}
		return x, nil
	}
}

func (r *Reader) skip(index, line int, reason string) {
	r.skipped++
	if len(r.skips) < maxSkips {
		r.skips = append(r.skips, Skip{Index: index, Line: line, Reason: oneLine(reason)})
	}
}

// oneLine bounds a reason to one short line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// nextHAR walks the document to the next entry of log.entries and decodes
// it into r.ent. Members of log and of the top-level object other than
// log.entries are skipped, wherever they appear.
func (r *Reader) nextHAR() error {
	for {
		switch r.state {
		case stStart:
			tok, err := r.dec.Token()
			if err != nil {
				if err == io.EOF {
					return r.incomplete()
				}
				return fmt.Errorf("%s: not a HAR file: %s", r.name, r.jsonError(err))
			}
			if err := r.expect(tok, '{', "the top level"); err != nil {
				return err
			}
			r.state = stTop
		case stTop:
			found, err := r.find("log")
			if err != nil {
				return err
			}
			if !found {
				if !r.sawEntries {
					return fmt.Errorf("%s: not a HAR file: no log.entries", r.name)
				}
				return io.EOF
			}
			if err := r.open('{', "log"); err != nil {
				return err
			}
			r.state = stLog
		case stLog:
			found, err := r.find("entries")
			if err != nil {
				return err
			}
			if !found {
				r.state = stTop
				continue
			}
			if err := r.open('[', "log.entries"); err != nil {
				return err
			}
			r.sawEntries = true
			r.state = stEntries
		case stEntries:
			if !r.dec.More() {
				if _, err := r.token(); err != nil { // the closing ]
					return err
				}
				r.state = stLog
				continue
			}
			r.ent.reset()
			if err := r.dec.Decode(&r.ent); err != nil {
				var se *json.SyntaxError
				if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					return r.structural(err)
				}
				r.ent.decodeErr = err.Error() // a type mismatch: this entry only
			}
			return nil
		}
	}
}

// member reads the next member name of an object, or its end.
func (r *Reader) member() (key string, end bool, err error) {
	tok, err := r.token()
	if err != nil {
		return "", false, err
	}
	if d, ok := tok.(json.Delim); ok && d == '}' {
		return "", true, nil
	}
	key, _ = tok.(string)
	return key, false, nil
}

// find reads the members of an object, skipping their values, up to the
// one named key, whose value comes next; found is false at the object's end.
func (r *Reader) find(key string) (found bool, err error) {
	for {
		k, end, err := r.member()
		if err != nil || end {
			return false, err
		}
		if k == key {
			return true, nil
		}
		if err := r.skipValue(); err != nil {
			return false, err
		}
	}
}

// open reads the token that begins the value of what, which must be want.
func (r *Reader) open(want json.Delim, what string) error {
	tok, err := r.token()
	if err != nil {
		return err
	}
	return r.expect(tok, want, what)
}

// expect checks that tok, the start of the value of what, is want.
func (r *Reader) expect(tok json.Token, want json.Delim, what string) error {
	if d, ok := tok.(json.Delim); ok && d == want {
		return nil
	}
	kind := "an object"
	if want == '[' {
		kind = "an array"
	}
	return fmt.Errorf("%s: not a HAR file: %s is %s, not %s", r.name, what, kindOf(tok), kind)
}

func (r *Reader) token() (json.Token, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, r.structural(err)
	}
	return tok, nil
}

func (r *Reader) skipValue() error {
	if err := skipValue(r.dec); err != nil {
		return r.structural(err)
	}
	return nil
}

// structural turns a decoding error inside the document into the reader's
// one-line error.
func (r *Reader) structural(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.incomplete()
	}
	return fmt.Errorf("%s: invalid HAR: %s", r.name, r.jsonError(err))
}

func (r *Reader) incomplete() error {
	return fmt.Errorf("%s: incomplete HAR: unexpected end of input at byte %d", r.name, r.cr.n)
}

// jsonError describes a JSON error with its byte offset in the input.
func (r *Reader) jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read up to and including the bad one
		return fmt.Sprintf("%s at byte %d", se.Error(), max(se.Offset-1, 0)+r.bom)
	}
	return oneLine(err.Error())
}

// kindOf names the JSON kind of a token.
func kindOf(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// nextNDJSON reads the next non-blank line into r.ent and returns its
// line number.
func (r *Reader) nextNDJSON() (int, error) {
	for {
		if r.finished {
			return 0, io.EOF
		}
		line, terminated, err := r.readLine()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", r.name, err)
		}
		if !terminated {
			r.finished = true
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		n := r.lineN
		if trimmed[0] != '{' {
			return n, fmt.Errorf("%s:%d: not a HAR entry: the line is not a JSON object", r.name, n)
		}
		r.ent.reset()
		// goccy/go-json decodes the same struct tags as encoding/json, with
		// the same matching and errors of the same kinds, about four times
		// as fast: NDJSON is what large captures are stored as, and
		// decoding the lines bounds how fast 'specgate infer' reads them.
		if err := gojson.Unmarshal(trimmed, &r.ent); err != nil {
			var se *gojson.SyntaxError
			if errors.As(err, &se) {
				if !terminated {
					return n, fmt.Errorf("%s:%d: incomplete NDJSON: unexpected end of input at byte %d", r.name, n, r.cr.n)
				}
				return n, fmt.Errorf("%s:%d: not a HAR entry: %s", r.name, n, oneLine(se.Error()))
			}
			r.ent.decodeErr = err.Error()
			return n, nil
		}
		if r.ent.Request == nil {
			return n, fmt.Errorf("%s:%d: not a HAR entry: no request", r.name, n)
		}
		return n, nil
	}
}

// readLine returns the next line (without its newline) in a reused buffer;
// terminated is false for a last line without a newline.
func (r *Reader) readLine() (line []byte, terminated bool, err error) {
	if cap(r.line) > maxKeptBuffer {
		r.line = nil // do not hold on to one huge line
	}
	r.line = r.line[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.line = append(r.line, chunk...)
		switch err {
		case nil:
			r.lineN++
			return r.line[:len(r.line)-1], true, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(r.line) == 0 {
				return nil, false, nil
			}
			r.lineN++
			return r.line, false, nil
		default:
			return nil, false, err
		}
	}
}

// ReadFile returns every exchange of the HAR or NDJSON file at path, in
// file order, and the format it found. It is for files that fit in memory
// (tests, small merges); a Reader streams any size.
func ReadFile(path string) ([]*capture.Exchange, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r, err := NewReader(f, path)
	if err != nil {
		return nil, 0, err
	}
	var out []*capture.Exchange
	for {
		x, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, r.Format(), nil
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, x)
	}
}
