package stream

// Test helpers shared with the external tests of this package.
var (
	KnownDefect     = knownDefect
	DefectAfterGap  = defectAfterGap
	DefectUncounted = defectUncounted

	DefectMidPipelined = defectMidPipelined
)

// OpenConns returns the connections a's parsers hold open; RegisteredViews
// the views registered for recognising copies.
func OpenConns(a *Assembler) int       { return a.conns }
func RegisteredViews(a *Assembler) int { return len(a.byISN) }
