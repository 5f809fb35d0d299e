package trafficgen

import (
	"math/rand/v2"
	"strconv"
)

// value appends a fresh JSON value of field f's shape.
func (g *Generator) value(b []byte, f *field) []byte {
	r := g.rng
	switch f.kind {
	case kWord:
		return appendQuoted(b, words[r.IntN(len(words))])
	case kText:
		b = append(b, '"')
		for i := range g.between(f.lo, f.hi) {
			if i > 0 {
				b = append(b, ' ')
			}
			if r.IntN(16) == 0 {
				b = append(b, oddWords[r.IntN(len(oddWords))]...)
			} else {
				b = append(b, words[r.IntN(len(words))]...)
			}
		}
		return append(b, '"')
	case kName:
		b = append(b, '"')
		b = append(b, firstNames[r.IntN(len(firstNames))]...)
		b = append(b, ' ')
		b = append(b, lastNames[r.IntN(len(lastNames))]...)
		return append(b, '"')
	case kEmail:
		b = append(b, '"')
		b = appendLower(b, firstNames[r.IntN(len(firstNames))])
		b = append(b, '.')
		b = appendLower(b, lastNames[r.IntN(len(lastNames))])
		if r.IntN(2) == 0 {
			b = strconv.AppendInt(b, int64(r.IntN(100)), 10)
		}
		b = append(b, '@')
		b = append(b, domains[r.IntN(len(domains))]...)
		return append(b, '"')
	case kUUID:
		b = append(b, '"')
		b = appendUUID(b, r)
		return append(b, '"')
	case kInt:
		return strconv.AppendInt(b, int64(g.between(f.lo, f.hi)), 10)
	case kMoney:
		return appendDecimal(b, g.between(f.lo, f.hi), 2)
	case kFloat:
		return appendDecimal(b, g.between(f.lo, f.hi), 3)
	case kBool:
		if r.IntN(2) == 0 {
			return append(b, "false"...)
		}
		return append(b, "true"...)
	case kDateTime, kDateTimeMs:
		ms := -1
		if f.kind == kDateTimeMs {
			ms = r.IntN(1000)
		}
		b = append(b, '"')
		b = appendDateTime(b, g.pastSecond(), ms)
		return append(b, '"')
	case kDate:
		b = append(b, '"')
		b = appendDate(b, baseDay-400+r.IntN(460))
		return append(b, '"')
	case kUnix:
		return strconv.AppendInt(b, g.pastSecond(), 10)
	case kEnum:
		return appendQuoted(b, f.enum[r.IntN(len(f.enum))])
	case kCode:
		b = append(b, '"')
		b = append(b, f.pre...)
		for range g.between(f.lo, f.hi) {
			b = append(b, byte('0'+r.IntN(10)))
		}
		return append(b, '"')
	case kURL:
		b = append(b, '"')
		b = append(b, f.pre...)
		b = appendUUID(b, r)
		return append(b, '"')
	case kRedacted:
		return append(b, `"REDACTED"`...)
	case kTags:
		b = append(b, '[')
		for i := range g.between(f.lo, f.hi) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, words[r.IntN(len(words))])
		}
		return append(b, ']')
	case kObject:
		return g.object(b, f.obj)
	case kArray:
		b = append(b, '[')
		for i := range g.length(f.lo, f.hi) {
			if i > 0 {
				b = append(b, ',')
			}
			b = g.object(b, f.obj)
		}
		return append(b, ']')
	}
	return b
}

// object appends an object of fields fs, each optional one present or not
// as its pct says.
func (g *Generator) object(b []byte, fs []field) []byte {
	b = append(b, '{')
	first := true
	for i := range fs {
		f := &fs[i]
		if f.pct != 0 && g.rng.IntN(100) >= int(f.pct) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendQuoted(b, f.name)
		b = append(b, ':')
		if f.null != 0 && g.rng.IntN(100) < int(f.null) {
			b = append(b, "null"...)
			continue
		}
		b = g.value(b, f)
	}
	return append(b, '}')
}

// length returns an array length from lo to hi, short ones likelier (as
// the lists a test suite builds are).
func (g *Generator) length(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	n := hi - lo + 1
	return lo + min(g.rng.IntN(n), g.rng.IntN(n))
}

// pastSecond returns a Unix time from up to 400 days before the current
// request to the request itself.
func (g *Generator) pastSecond() int64 {
	return baseUnix + g.elapsed/1e6 - int64(g.rng.IntN(400*86400))
}

// problemText words one error status.
type problemText struct {
	status int
	code   string // lower-case snake code
	title  string
	detail string
}

var problemTexts = [...]problemText{
	{400, "bad_request", "Bad Request", "the request is malformed"},
	{401, "unauthorized", "Unauthorized", "missing or expired credentials"},
	{403, "forbidden", "Forbidden", "the api key lacks the admin scope"},
	{404, "not_found", "Not Found", "resource not found"},
	{409, "conflict", "Conflict", "a resource with these values already exists"},
	{422, "validation_failed", "Unprocessable Entity", "one or more fields are invalid"},
	{429, "rate_limited", "Too Many Requests", "rate limit exceeded, retry later"},
	{500, "internal", "Internal Server Error", "internal server error"},
}

// issues are the reasons a field fails validation.
var issues = [...]string{"required", "invalid", "too_long", "out_of_range"}

// problemOf returns the wording of status (that of 500 for any other).
func problemOf(status int) *problemText {
	for i := range problemTexts {
		if problemTexts[i].status == status {
			return &problemTexts[i]
		}
	}
	return &problemTexts[len(problemTexts)-1]
}

// errorBody appends the body of an error response in the service's style;
// a 400 or 422 names the fields at fault.
func (g *Generator) errorBody(b []byte, style errStyle, status int, o *op, path string) []byte {
	t := problemOf(status)
	invalid := status == 400 || status == 422
	switch style {
	case styleSimple:
		b = append(b, `{"error":`...)
		b = appendQuoted(b, t.code)
		b = append(b, `,"message":`...)
		b = appendQuoted(b, t.detail)
		if invalid {
			b = append(b, `,"fields":`...)
			b = g.invalidFields(b, o, "name", "reason", "")
		}
		return append(b, '}')
	case styleNested:
		b = append(b, `{"error":{"code":"`...)
		for i := 0; i < len(t.code); i++ {
			c := t.code[i]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
		}
		b = append(b, `","message":`...)
		b = appendQuoted(b, t.detail)
		b = append(b, `,"request_id":"`...)
		b = appendUUID(b, g.rng)
		b = append(b, '"')
		if invalid {
			b = append(b, `,"details":`...)
			b = g.invalidFields(b, o, "field", "issue", "")
		}
		return append(b, "}}"...)
	}
	b = append(b, `{"type":"https://errors.billing.example.com/`...)
	for i := 0; i < len(t.code); i++ {
		c := t.code[i]
		if c == '_' {
			c = '-'
		}
		b = append(b, c)
	}
	b = append(b, `","title":`...)
	b = appendQuoted(b, t.title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"detail":`...)
	b = appendQuoted(b, t.detail)
	b = append(b, `,"instance":`...)
	b = appendQuoted(b, path)
	if invalid {
		b = append(b, `,"errors":`...)
		b = g.invalidFields(b, o, "pointer", "detail", "/")
	}
	return append(b, '}')
}

// invalidFields appends an array of one to three fields of o's request
// body (or query) that failed validation, as objects {nameKey: field,
// issueKey: issue}; prefix comes before each field name.
func (g *Generator) invalidFields(b []byte, o *op, nameKey, issueKey, prefix string) []byte {
	fs := o.req.obj
	if len(fs) == 0 {
		fs = o.query
	}
	b = append(b, '[')
	for i := range g.between(1, 3) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendQuoted(b, nameKey)
		b = append(b, `:"`...)
		b = append(b, prefix...)
		if len(fs) > 0 {
			b = append(b, fs[g.rng.IntN(len(fs))].name...)
		} else {
			b = append(b, "body"...)
		}
		b = append(b, `",`...)
		b = appendQuoted(b, issueKey)
		b = append(b, ':')
		b = appendQuoted(b, issues[g.rng.IntN(len(issues))])
		b = append(b, '}')
	}
	return append(b, ']')
}

// gatewayText is the plain-text body a proxy in front of the services
// answers with when a service is down.
func gatewayText(status int) string {
	if status == 503 {
		return "no healthy upstream"
	}
	return "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
}

// appendQuoted appends s as a JSON string; s holds nothing to escape.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendLower appends ASCII s in lower case.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendUUID appends a random version-4 UUID.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12 // version 4
	lo = lo&^(3<<62) | 2<<62   // variant 10
	b = appendHex(b, hi>>32, 8)
	b = append(b, '-')
	b = appendHex(b, hi>>16, 4)
	b = append(b, '-')
	b = appendHex(b, hi, 4)
	b = append(b, '-')
	b = appendHex(b, lo>>48, 4)
	b = append(b, '-')
	return appendHex(b, lo, 12)
}

// appendHex appends the low digits hex digits of v.
func appendHex(b []byte, v uint64, digits int) []byte {
	const hex = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hex[v>>(4*uint(i))&15])
	}
	return b
}

// appendDecimal appends v/10^scale as the shortest JSON number: no
// trailing zeros in the fraction, and no fraction when it is zero.
func appendDecimal(b []byte, v, scale int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	pow := 1
	for range scale {
		pow *= 10
	}
	b = strconv.AppendInt(b, int64(v/pow), 10)
	frac := v % pow
	if frac == 0 {
		return b
	}
	b = append(b, '.')
	for pow /= 10; frac != 0; pow /= 10 {
		b = append(b, byte('0'+frac/pow))
		frac %= pow
	}
	return b
}

// appendDate appends the date days after 1970-01-01 as YYYY-MM-DD.
func appendDate(b []byte, days int) []byte {
	y, m, d := civil(days)
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, m, 2)
	b = append(b, '-')
	return appendPadded(b, d, 2)
}

// appendDateTime appends Unix time sec in UTC as RFC 3339, with ms
// milliseconds when ms >= 0.
func appendDateTime(b []byte, sec int64, ms int) []byte {
	days, s := int(sec/86400), int(sec%86400)
	b = appendDate(b, days)
	b = append(b, 'T')
	b = appendPadded(b, s/3600, 2)
	b = append(b, ':')
	b = appendPadded(b, s/60%60, 2)
	b = append(b, ':')
	b = appendPadded(b, s%60, 2)
	if ms >= 0 {
		b = append(b, '.')
		b = appendPadded(b, ms, 3)
	}
	return append(b, 'Z')
}

// appendPadded appends v >= 0 in decimal, zero-padded to width digits.
func appendPadded(b []byte, v, width int) []byte {
	var d [20]byte
	i := len(d)
	for v > 0 || i > len(d)-width {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[i:]...)
}

// civil returns the Gregorian date of the day days after 1970-01-01
// (days >= 0).
func civil(days int) (year, month, day int) {
	// Count in 400-year eras from 0000-03-01, so that leap days end a year.
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	month = mp + 3
	year = yoe + era*400
	if month > 12 {
		month -= 12
		year++
	}
	return year, month, day
}
