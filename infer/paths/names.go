package paths

import (
	"strconv"
	"strings"
)

// maxNameLen bounds the collection part of a computed name.
const maxNameLen = 64

// irregular maps plural words that the suffix rules get wrong to their
// singular.
var irregular = map[string]string{
	"people": "person", "children": "child", "men": "man", "women": "woman",
	"mice": "mouse", "geese": "goose", "feet": "foot", "teeth": "tooth",
	"indices": "index", "matrices": "matrix", "vertices": "vertex",
	"analyses": "analysis", "crises": "crisis", "theses": "thesis",
	"aliases": "alias", "buses": "bus", "campuses": "campus", "viruses": "virus",
	"bonuses": "bonus", "censuses": "census", "syllabuses": "syllabus",
	"quizzes": "quiz", "caches": "cache", "niches": "niche",
	"movies": "movie", "cookies": "cookie", "zombies": "zombie", "selfies": "selfie",
	"rookies": "rookie", "calories": "calorie", "pies": "pie", "ties": "tie",
	"lies": "lie", "dies": "die", "series": "series", "species": "species",
	"news": "news", "iris": "iris", "chassis": "chassis",
	"menus": "menu", "skus": "sku", "cpus": "cpu", "gpus": "gpu", "gurus": "guru",
	"haikus": "haiku", "emus": "emu",
}

// singular returns the singular of a lower-case English plural, or the
// word itself when it does not read as one.
func singular(w string) string {
	if s, ok := irregular[w]; ok {
		return s
	}
	n := len(w)
	switch {
	case n < 3 || w[n-1] != 's':
		return w
	case strings.HasSuffix(w, "ies") && n > 4:
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"),
		strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"), strings.HasSuffix(w, "zzes"),
		strings.HasSuffix(w, "atuses"):
		return w[:n-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"),
		strings.HasSuffix(w, "sis"), strings.HasSuffix(w, "xis"):
		return w
	}
	return w[:n-1]
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// collectionName names a parameter after its parent segment (decoded):
// the singular in lowerCamelCase followed by "Id" ("line-items" →
// "lineItemId"), or "" when the segment holds no ASCII letter or digit.
func collectionName(seg string) string {
	var words []string
	start := -1
	for i := 0; i <= len(seg); i++ {
		word := i < len(seg) && (isLower(seg[i]) || isUpper(seg[i]) || seg[i] >= '0' && seg[i] <= '9')
		if word && start < 0 {
			start = i
		}
		if !word && start >= 0 {
			words = append(words, seg[start:i])
			start = -1
		}
	}
	if len(words) == 0 {
		return ""
	}
	last := len(words) - 1
	w := words[last]
	if strings.ToUpper(w) == w {
		w = strings.ToLower(w)
	}
	// Singularise the last camelCase hump ("lineItems" → "lineItem").
	h := len(w) - 1
	for h > 0 && !(isUpper(w[h]) && isLower(w[h-1])) {
		h--
	}
	words[last] = w[:h] + singularKeepCase(w[h:])
	var b strings.Builder
	for i, w := range words {
		if i == 0 {
			if strings.ToUpper(w) == w {
				w = strings.ToLower(w)
			} else {
				w = strings.ToLower(w[:1]) + w[1:]
			}
		} else {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	name := b.String()
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	return name + "Id"
}

// singularKeepCase singularises w, keeping a capital first letter.
func singularKeepCase(w string) string {
	lw := strings.ToLower(w)
	s := singular(lw)
	if s == lw {
		return w
	}
	if w != "" && isUpper(w[0]) && s != "" {
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// validName reports whether s is a parameter name specgate writes:
// ^[A-Za-z0-9_.-]+$.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return false
		}
	}
	return true
}

func nameByte(c byte) bool {
	return isLower(c) || isUpper(c) || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// sanitizeName maps the bytes of a baseline's parameter name that a name
// may not hold to '_'; it returns "" for an empty name.
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !nameByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// seg is one segment of a template: static text (canonical) or a
// parameter with the name the template shows, the name given to it ("" for
// none) and whether it is variable.
type seg struct {
	key      string
	param    bool
	name     string
	given    string
	variable bool
}

// baseName is the computed name of the parameter at segs[i]: after its
// parent collection, or "id" under the root or another parameter.
func baseName(segs []seg, i int) string {
	if i == 0 || segs[i-1].param {
		return "id"
	}
	if n := collectionName(decode(segs[i-1].key)); n != "" {
		return n
	}
	return "id"
}

// unique returns base, or base followed by the smallest number from 2 on
// that makes it differ from every name in used.
func unique(base string, used []string) string {
	if !contains(used, base) {
		return base
	}
	for k := 2; ; k++ {
		c := base + strconv.Itoa(k)
		if !contains(used, c) {
			return c
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// minName returns the smaller of two given names, "" standing for none.
func minName(a, b string) string {
	if a == "" || b != "" && b < a {
		return b
	}
	return a
}
