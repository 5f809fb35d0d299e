package todo

import "slices"

// Version is one release of the todo service: v1 and what differs from it.
// The zero value of every flag is v1's behaviour.
type Version struct {
	Name string
	// FixedTypo names the description field "description", as v2 does;
	// v1 spells it "descripton" in requests and responses alike.
	FixedTypo bool
	// ClearDone adds DELETE /todos, which deletes every done todo (v3).
	ClearDone bool
	// NoPriority leaves priority out of responses.
	NoPriority bool
	// PriorityWords writes priority as "low", "normal" or "high" instead of
	// 1, 2 or 3 (and reads either).
	PriorityWords bool
	// RequireOwner adds an owner to todos, which POST /todos requires.
	RequireOwner bool
	// NoUpdate leaves out PUT /todos/{id}.
	NoUpdate bool
}

// versions are the releases and the variants that exercise the gate, each
// one a small difference from v1.
var versions = []Version{
	{Name: "v1"},
	{Name: "v2", FixedTypo: true},
	{Name: "v3", ClearDone: true},
	{Name: "v1-removed-field", NoPriority: true},
	{Name: "v1-type-change", PriorityWords: true},
	{Name: "v1-new-required", RequireOwner: true},
	{Name: "v1-removed-op", NoUpdate: true},
}

// Versions returns every version, v1 first.
func Versions() []Version { return slices.Clone(versions) }

// Lookup returns the version called name.
func Lookup(name string) (Version, bool) {
	for _, v := range versions {
		if v.Name == name {
			return v, true
		}
	}
	return Version{}, false
}
