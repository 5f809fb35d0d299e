package redact

// SecretHeader reports whether every value of the header name is a
// credential that Header redacts whole (X-Api-Key, X-Auth-Token, the
// headers in Options.ExtraHeaders). Authorization, Cookie and Set-Cookie,
// whose structure Header keeps, are not reported.
func (r *Redactor) SecretHeader(name string) bool {
	rule, _ := r.headerRule(name)
	return rule == ruleWhole
}

// SecretKey reports whether a JSON, form, query or cookie value stored
// under key is a secret as a whole ("password", "api_key", "session_id",
// the keys in Options.ExtraKeys).
func (r *Redactor) SecretKey(key string) bool {
	return keyClassOf(r, key) == keySecret
}

// Extended reports whether r redacts more than the built-in rules
// (Options.ExtraHeaders, Options.ExtraKeys).
func (r *Redactor) Extended() bool {
	return len(r.extraHeaders) > 0 || len(r.extraKeys) > 0
}

// SecretValue reports whether Text would redact anything in v: a value
// with the shape of a credential (a JWT, a cloud key, a card number) or a
// "name=secret" assignment.
func (r *Redactor) SecretValue(v string) bool {
	_, n := scrubbed(r, v, modeText)
	return n > 0
}
