// Package har reads and writes capture.Exchange values as HAR 1.2 documents
// and as NDJSON (one HAR entry per line): exchanges in, HAR bytes out, and back.
//
// A [Writer] writes deterministic bytes and keeps in "_" members (which HAR
// leaves to tools) everything HAR has no place for, so that a [Reader] gives
// back exactly the exchanges written. A Reader also reads the HAR exports of
// browsers, proxies and load-testing tools, and tells HAR from NDJSON by
// content. Both stream: memory holds one entry, whatever the file size.
package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
)

// Format is an on-disk representation of exchanges.
type Format int

const (
	// FormatHAR is a HAR 1.2 document: {"log": {..., "entries": [...]}}.
	FormatHAR Format = iota
	// FormatNDJSON is one HAR entry per line, compact JSON.
	FormatNDJSON
)

// String returns "har" or "ndjson".
func (f Format) String() string {
	switch f {
	case FormatHAR:
		return "har"
	case FormatNDJSON:
		return "ndjson"
	}
	return "unknown"
}

// FormatForPath returns the format that path's extension names: ".har" for
// HAR, ".ndjson" or ".jsonl" for NDJSON (case-insensitive). Compressed names
// such as "x.har.gz" are not recognised.
func FormatForPath(path string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".har":
		return FormatHAR, true
	case ".ndjson", ".jsonl":
		return FormatNDJSON, true
	}
	return FormatHAR, false
}

// Sniff reports whether head, the first bytes of a file, looks like a HAR
// document or like NDJSON HAR entries. It decides from the first key of the
// first JSON object, so a few hundred bytes are enough.
func Sniff(head []byte) bool {
	_, st := detect(head)
	return st == decided
}

// detection outcomes.
const (
	decided  = iota // the format is known
	needMore        // head ended before a decision
	unknown         // not a JSON object with a telling key
)

// utf8BOM is skipped at the start of the input (some Windows tools write it).
const utf8BOM = "\xEF\xBB\xBF"

// entryKeys are the HAR entry members that mark a line as an entry.
var entryKeys = [...]string{"request", "response", "startedDateTime", "time", "timings", "cache", "serverIPAddress", "connection", "pageref"}

// detect tells a HAR document from NDJSON entries by the first member of the
// first object: "log" means HAR, an entry member means NDJSON. Members that
// decide nothing ("comment", custom "_" members) are skipped.
func detect(head []byte) (Format, int) {
	head = bytes.TrimPrefix(head, []byte(utf8BOM))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 {
		return FormatHAR, needMore
	}
	if trimmed[0] != '{' {
		return FormatHAR, unknown
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil {
		return FormatHAR, needMore
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return FormatHAR, moreOrUnknown(err)
		}
		key, ok := tok.(string)
		if !ok {
			return FormatHAR, unknown // the object ended without a telling member
		}
		if key == "log" {
			return FormatHAR, decided
		}
		for _, k := range entryKeys {
			if key == k {
				return FormatNDJSON, decided
			}
		}
		if err := skipValue(dec); err != nil {
			return FormatHAR, moreOrUnknown(err)
		}
	}
}

// moreOrUnknown maps a decoding error of a head to needMore when the head
// was merely cut short.
func moreOrUnknown(err error) int {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return needMore
	}
	return unknown
}

// skipValue consumes one JSON value from dec without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
