package actionrun

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// An expression is what a runner evaluates inside ${{ }} and in if:. This
// evaluator knows the part of the language composite actions such as
// specgate's use: the contexts inputs, github, runner, env and steps,
// property access with dots, string, boolean and null literals, the
// operators ==, !=, &&, || and !, parentheses, and the status functions
// success(), failure(), always() and cancelled(). Anything else is an
// error, never a guess.

// node is a parsed expression.
type node interface{}

type (
	literal  struct{ v any }
	property struct {
		context string
		path    []string
	}
	unary  struct{ x node }
	binary struct {
		op   string
		l, r node
	}
	call struct{ name string }
)

// isStatusFunc reports whether name is a status function: a condition that
// calls none of them runs only when every step so far succeeded.
func isStatusFunc(name string) bool {
	switch name {
	case "success", "failure", "always", "cancelled":
		return true
	}
	return false
}

// isContext reports whether name is a context this evaluator knows.
func isContext(name string) bool {
	switch name {
	case "inputs", "github", "runner", "env", "steps":
		return true
	}
	return false
}

type parser struct {
	src  string
	toks []token
	pos  int
}

type token struct {
	kind string // "ident", "string", "op", "(", ")", ".", ",", "eof"
	text string
	at   int
}

func lex(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) {
					return nil, fmt.Errorf("unterminated string at offset %d", i)
				}
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(src[j])
				j++
			}
			toks = append(toks, token{"string", b.String(), i})
			i = j + 1
		case strings.HasPrefix(src[i:], "==") || strings.HasPrefix(src[i:], "!=") ||
			strings.HasPrefix(src[i:], "&&") || strings.HasPrefix(src[i:], "||"):
			toks = append(toks, token{"op", src[i : i+2], i})
			i += 2
		case c == '!':
			toks = append(toks, token{"op", "!", i})
			i++
		case c == '(' || c == ')' || c == '.' || c == ',':
			toks = append(toks, token{string(c), string(c), i})
			i++
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			toks = append(toks, token{"ident", src[i:j], i})
			i = j
		case c == '[' || c == '*':
			return nil, fmt.Errorf("index access and filters are not supported (offset %d)", i)
		case c >= '0' && c <= '9', c == '-':
			return nil, fmt.Errorf("numbers are not supported (offset %d)", i)
		default:
			return nil, fmt.Errorf("unsupported character %q at offset %d", c, i)
		}
	}
	return append(toks, token{"eof", "", len(src)}), nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c == '-' || (c >= '0' && c <= '9')
}

// parseExpr parses one expression (without the ${{ }}).
func parseExpr(src string) (node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	p := &parser{src: src, toks: toks}
	n, err := p.or()
	if err == nil && p.peek().kind != "eof" {
		err = fmt.Errorf("unexpected %q at offset %d", p.peek().text, p.peek().at)
	}
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) or() (node, error) {
	l, err := p.and()
	for err == nil && p.peek().text == "||" {
		p.next()
		var r node
		if r, err = p.and(); err == nil {
			l = binary{"||", l, r}
		}
	}
	return l, err
}

func (p *parser) and() (node, error) {
	l, err := p.equality()
	for err == nil && p.peek().text == "&&" {
		p.next()
		var r node
		if r, err = p.equality(); err == nil {
			l = binary{"&&", l, r}
		}
	}
	return l, err
}

func (p *parser) equality() (node, error) {
	l, err := p.unary()
	for err == nil && (p.peek().text == "==" || p.peek().text == "!=") {
		op := p.next().text
		var r node
		if r, err = p.unary(); err == nil {
			l = binary{op, l, r}
		}
	}
	return l, err
}

func (p *parser) unary() (node, error) {
	if p.peek().text == "!" {
		p.next()
		x, err := p.unary()
		return unary{x}, err
	}
	return p.primary()
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case "string":
		return literal{t.text}, nil
	case "(":
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != ")" {
			return nil, fmt.Errorf("missing ) for the ( at offset %d", t.at)
		}
		return n, nil
	case "ident":
		switch t.text {
		case "true":
			return literal{true}, nil
		case "false":
			return literal{false}, nil
		case "null":
			return literal{nil}, nil
		}
		if p.peek().kind == "(" {
			p.next()
			if !isStatusFunc(t.text) {
				return nil, fmt.Errorf("function %s() is not supported (only success(), failure(), always() and cancelled())", t.text)
			}
			if p.next().kind != ")" {
				return nil, fmt.Errorf("%s() takes no arguments", t.text)
			}
			return call{t.text}, nil
		}
		ctx := strings.ToLower(t.text)
		if !isContext(ctx) {
			return nil, fmt.Errorf("context %q is not supported (only inputs, github, runner, env and steps)", t.text)
		}
		prop := property{context: ctx}
		for p.peek().kind == "." {
			p.next()
			name := p.next()
			if name.kind != "ident" {
				return nil, fmt.Errorf("want a property name after . at offset %d", name.at)
			}
			prop.path = append(prop.path, name.text)
		}
		return prop, nil
	case "eof":
		return nil, fmt.Errorf("unexpected end")
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.at)
}

// callsStatus reports whether n calls a status function.
func callsStatus(n node) bool {
	switch n := n.(type) {
	case call:
		return true
	case unary:
		return callsStatus(n.x)
	case binary:
		return callsStatus(n.l) || callsStatus(n.r)
	}
	return false
}

// scope is what expressions are evaluated against.
type scope struct {
	contexts map[string]any // context name → value
	failed   bool           // a step before this one failed
}

func (s *scope) eval(n node) any {
	switch n := n.(type) {
	case literal:
		return n.v
	case property:
		v := s.contexts[n.context]
		for _, name := range n.path {
			v = lookup(v, name)
		}
		return v
	case unary:
		return !truthy(s.eval(n.x))
	case binary:
		l := s.eval(n.l)
		switch n.op {
		case "&&":
			if !truthy(l) {
				return l
			}
			return s.eval(n.r)
		case "||":
			if truthy(l) {
				return l
			}
			return s.eval(n.r)
		case "==":
			return equal(l, s.eval(n.r))
		case "!=":
			return !equal(l, s.eval(n.r))
		}
	case call:
		switch n.name {
		case "success":
			return !s.failed
		case "failure":
			return s.failed
		case "always":
			return true
		case "cancelled":
			return false
		}
	}
	return nil
}

// lookup reads a property the way a runner does: names are
// case-insensitive, and a missing one is null.
func lookup(v any, name string) any {
	switch m := v.(type) {
	case map[string]any:
		if x, ok := m[name]; ok {
			return x
		}
		for k, x := range m {
			if strings.EqualFold(k, name) {
				return x
			}
		}
	case map[string]string:
		if x, ok := m[name]; ok {
			return x
		}
		for k, x := range m {
			if strings.EqualFold(k, name) {
				return x
			}
		}
	}
	return nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case float64:
		return v != 0 && !math.IsNaN(v)
	}
	return true
}

// equal compares as the runner does: strings ignoring case, values of
// different types as numbers.
func equal(a, b any) bool {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.EqualFold(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y
		}
	case nil:
		if b == nil {
			return true
		}
	case map[string]any, []any, map[string]string:
		return false
	}
	return toNumber(a) == toNumber(b)
}

func toNumber(v any) float64 {
	switch v := v.(type) {
	case nil:
		return 0
	case bool:
		if v {
			return 1
		}
		return 0
	case float64:
		return v
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return 0
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

// toString converts a value for interpolation into a string.
func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(v)
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// interpolate replaces every ${{ expression }} in s with its value.
func (s *scope) interpolate(text string) (string, error) {
	var b strings.Builder
	rest := text
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		body, after, err := splitExpr(rest[i+3:])
		if err != nil {
			return "", err
		}
		n, err := parseExpr(body)
		if err != nil {
			return "", err
		}
		b.WriteString(toString(s.eval(n)))
		rest = after
	}
}

// splitExpr splits what follows ${{ at its closing }}, skipping string
// literals.
func splitExpr(s string) (body, rest string, err error) {
	inString := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inString = !inString
		case !inString && strings.HasPrefix(s[i:], "}}"):
			return s[:i], s[i+2:], nil
		}
	}
	return "", "", fmt.Errorf("expression %q: missing }}", strings.TrimSpace(s))
}

// condition evaluates an if: the whole text is an expression, optionally
// wrapped in ${{ }}; without a status function it also needs success().
func (s *scope) condition(text string) (bool, error) {
	src := strings.TrimSpace(text)
	if src == "" {
		return !s.failed, nil
	}
	if strings.HasPrefix(src, "${{") && strings.HasSuffix(src, "}}") {
		if body, rest, err := splitExpr(src[3:]); err == nil && strings.TrimSpace(rest) == "" {
			src = body
		}
	}
	n, err := parseExpr(src)
	if err != nil {
		return false, err
	}
	if !callsStatus(n) {
		n = binary{"&&", call{"success"}, n}
	}
	return truthy(s.eval(n)), nil
}
