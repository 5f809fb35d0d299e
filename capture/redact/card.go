package redact

// cardAt returns the end of a payment card number starting at i: 13 to
// 19 digits, ungrouped or in groups of three or more separated by single
// spaces or dashes, with a known issuer prefix and a valid Luhn check
// digit. It returns -1 when there is none.
func cardAt[T text](s T, i int) int {
	if i > 0 && (is(s[i-1], cAlnum) || s[i-1] == '.') {
		return -1
	}
	var d [19]byte
	nd := 0
	j := i
	for j < len(s) && is(s[j], cDigit) {
		if nd < len(d) {
			d[nd] = s[j]
		}
		nd++
		j++
	}
	if nd >= 13 {
		if nd > 19 || (j < len(s) && is(s[j], cAlnum|cUnder)) ||
			(j+1 < len(s) && s[j] == '.' && is(s[j+1], cDigit)) || !validCard(d[:nd]) {
			return -1
		}
		return j
	}
	if nd < 3 {
		return -1
	}
	best := -1
	var sep byte
	for g := 1; g < 7 && j+1 < len(s); g++ {
		c := s[j]
		if (c != ' ' && c != '-') || (sep != 0 && c != sep) || !is(s[j+1], cDigit) {
			break
		}
		sep = c
		k := j + 1
		for k < len(s) && is(s[k], cDigit) {
			if nd < len(d) {
				d[nd] = s[k]
			}
			nd++
			k++
		}
		if k-(j+1) < 3 || nd > 19 {
			break
		}
		j = k
		// A group that goes on with the same separator and a letter or
		// digit is part of a longer dashed token: a UUID such as
		// 40201885-2601-4429-9cfc-... is no card number.
		if nd >= 13 && (j == len(s) || !is(s[j], cAlnum|cUnder)) && !continues(s, j, sep) && validCard(d[:nd]) {
			best = j
		}
	}
	return best
}

// continues reports whether s goes on at j with sep and a letter or digit.
func continues[T text](s T, j int, sep byte) bool {
	return j+1 < len(s) && s[j] == sep && is(s[j+1], cAlnum)
}

// validCard checks the issuer prefix, the length it allows and the Luhn
// check digit of the ASCII digits d.
func validCard(d []byte) bool {
	n := len(d)
	v := func(k int) int {
		x := 0
		for _, c := range d[:k] {
			x = x*10 + int(c-'0')
		}
		return x
	}
	one, two, three, four := v(1), v(2), v(3), v(4)
	ok := false
	switch {
	case one == 4: // Visa
		ok = n == 13 || n == 16 || n == 19
	case two == 34 || two == 37: // American Express
		ok = n == 15
	case two >= 51 && two <= 55, four >= 2221 && four <= 2720: // Mastercard
		ok = n == 16
	case four == 6011, two == 65, three >= 644 && three <= 649: // Discover
		ok = n >= 16 && n <= 19
	case four >= 3528 && four <= 3589: // JCB
		ok = n >= 16 && n <= 19
	case two == 36, two == 38, two == 39, three >= 300 && three <= 305: // Diners Club
		ok = n == 14 || n == 16
	}
	return ok && luhn(d)
}

// luhn reports whether the ASCII digits d end in a valid Luhn check digit.
func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}
