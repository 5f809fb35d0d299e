// Package match selects names by include and exclude regular expressions,
// as the capture's host and path filters and the gate's policy do.
package match

import "regexp"

// Keep reports whether s matches none of exclude and, when include is not
// empty, at least one of include.
func Keep(s string, include, exclude []*regexp.Regexp) bool {
	for _, re := range exclude {
		if re.MatchString(s) {
			return false
		}
	}
	if len(include) == 0 {
		return true
	}
	for _, re := range include {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
