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
