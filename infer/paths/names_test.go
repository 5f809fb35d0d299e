package paths

import (
	"regexp"
	"testing"
)

func TestCollectionName(t *testing.T) {
	tests := []struct{ seg, want string }{
		{"todos", "todoId"},
		{"users", "userId"},
		{"categories", "categoryId"},
		{"line-items", "lineItemId"},
		{"line_items", "lineItemId"},
		{"lineItems", "lineItemId"},
		{"LineItems", "lineItemId"},
		{"addresses", "addressId"},
		{"statuses", "statusId"},
		{"reports", "reportId"},
		{"boxes", "boxId"},
		{"branches", "branchId"},
		{"caches", "cacheId"},
		{"people", "personId"},
		{"movies", "movieId"},
		{"series", "seriesId"},
		{"status", "statusId"},
		{"analysis", "analysisId"},
		{"user", "userId"},
		{"data", "dataId"},
		{"APIs", "apiId"},
		{"kpis", "kpiId"},
		{"menus", "menuId"},
		{"SKUs", "skuId"},
		{"axis", "axisId"},
		{"API", "apiId"},
		{"v1", "v1Id"},
		{"me", "meId"},
		{"café", "cafId"},
		{"", ""},
		{"--", ""},
		{"été", "tId"},
	}
	for _, tc := range tests {
		if got := collectionName(tc.seg); got != tc.want {
			t.Errorf("collectionName(%q) = %q, want %q", tc.seg, got, tc.want)
		}
	}
	re := regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	for _, s := range []string{"x y z", "ÄÖÜ s", "a" + string(rune(0)) + "b", "12", "...s"} {
		if n := collectionName(s); n != "" && !re.MatchString(n) {
			t.Errorf("collectionName(%q) = %q, not a valid name", s, n)
		}
	}
	if n := collectionName(string(make([]byte, 0)) + "averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongwords"); len(n) > maxNameLen+2 {
		t.Errorf("name of %d bytes", len(n))
	}
}

func TestUnique(t *testing.T) {
	tests := []struct {
		base string
		used []string
		want string
	}{
		{"id", nil, "id"},
		{"id", []string{"id"}, "id2"},
		{"id", []string{"id", "id2"}, "id3"},
		{"userId", []string{"id"}, "userId"},
	}
	for _, tc := range tests {
		if got := unique(tc.base, tc.used); got != tc.want {
			t.Errorf("unique(%q, %q) = %q, want %q", tc.base, tc.used, got, tc.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want, decoded string }{
		{"todos", "todos", "todos"},
		{"a b", "a%20b", "a b"},
		{"a%20b", "a%20b", "a b"},
		{"{id}", "%7Bid%7D", "{id}"},
		{"50%", "50%25", "50%"},
		{"%zz", "%25zz", "%zz"},
		{"%7b", "%7b", "{"},
		{"é", "%C3%A9", "é"},
		{"a:b@c!$&'()*+,;=~._-", "a:b@c!$&'()*+,;=~._-", "a:b@c!$&'()*+,;=~._-"},
		{"q?#", "q%3F%23", "q?#"},
	}
	for _, tc := range tests {
		got := canonical(tc.in)
		if got != tc.want {
			t.Errorf("canonical(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := canonical(got); again != got {
			t.Errorf("canonical not idempotent on %q: %q", got, again)
		}
		if d := decode(got); d != tc.decoded {
			t.Errorf("decode(%q) = %q, want %q", got, d, tc.decoded)
		}
	}
}
