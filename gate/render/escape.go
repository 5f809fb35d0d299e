package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// invisible tells whether a rune would change how text around it reads on a
// terminal or a page without being seen: control characters, line and
// paragraph separators, and the marks and overrides of bidirectional text.
func invisible(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// visible writes what invisible finds as Go-style escapes (\n, \t, \x1b,
// \u202e) and invalid UTF-8 as U+FFFD, so a string from a report can
// neither move a terminal's cursor, colour it, nor reorder what follows.
func visible(s string) string {
	return visibleExcept(s, "")
}

// visibleExcept is visible, keeping the characters in keep as they are.
func visibleExcept(s, keep string) string {
	hidden := func(r rune) bool { return invisible(r) && !strings.ContainsRune(keep, r) }
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || hidden(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if !hidden(r) {
			b.WriteRune(r)
			continue
		}
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	return b.String()
}

// mdText escapes a string for inline markdown on GitHub and GitLab, in a
// table cell or a list item: nothing in it can end the cell or the line,
// open HTML, a link, emphasis, code or math, or start a block. Newlines
// become <br>; other invisible characters are escaped as visible does. An
// @ before a name is kept from mentioning anyone.
func mdText(s string) string {
	return markdownEscape(s, false)
}

// mdCode is s as inline code: an HTML code element around mdText's
// escaping (a backtick code span cannot hold every string, and its pipes
// would end a table cell). Newlines show as \n. Empty for "".
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	return "<code>" + markdownEscape(s, true) + "</code>"
}

func markdownEscape(s string, code bool) string {
	var b strings.Builder
	s = strings.ToValidUTF8(s, "\uFFFD")
	lead := true // still at the start of the text, for block markers
	digits := false
	for i, r := range s {
		switch {
		case r == '\n' && !code:
			b.WriteString("<br>")
		case r == '\r' && !code:
			if !strings.HasPrefix(s[i+1:], "\n") {
				b.WriteString("<br>")
			}
		case invisible(r):
			b.WriteString(visible(string(r)))
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '|':
			b.WriteString("&#124;")
		case strings.ContainsRune("\\`*_[]~#$", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case lead && (r == '-' || r == '+'), digits && (r == '.' || r == ')') && blankAfter(s[i+1:]):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '@' && !code && i+1 < len(s) && wordByte(s[i+1]):
			b.WriteString("@&#8203;")
		default:
			b.WriteRune(r)
		}
		digits = (lead || digits) && r >= '0' && r <= '9'
		lead = false
	}
	return b.String()
}

// blankAfter tells whether rest starts with white space or is empty: what
// makes "1." a list marker.
func blankAfter(rest string) bool {
	return rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

func wordByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// clip cuts s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n-1 {
			return s[:k] + "…"
		}
		i++
	}
	return s
}

// workflowData escapes the message of a GitHub Actions workflow command,
// as the runner unescapes it. Control characters other than line ends and
// tabs are shown escaped, as visible does, so none reaches the log.
func workflowData(s string) string {
	s = visibleExcept(s, "\r\n\t")
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// workflowProperty escapes a property value (file=, title=) of a workflow
// command: the message's escapes, and also ':' and ','.
func workflowProperty(s string) string {
	s = workflowData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// xmlSafe replaces what XML 1.0 cannot hold (invalid UTF-8, most control
// characters, U+FFFE, U+FFFF) with U+FFFD, for text written as CDATA.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' ||
			r >= 0x20 && r <= 0xd7ff ||
			r >= 0xe000 && r <= 0xfffd ||
			r >= 0x10000 && r <= 0x10ffff {
			return r
		}
		return '\uFFFD'
	}, s)
}
