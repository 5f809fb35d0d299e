package stream

// Test helpers shared with the external tests of this package.
var (
	KnownDefect     = knownDefect
	DefectAfterGap  = defectAfterGap
	DefectUncounted = defectUncounted

	DefectMidPipelined = defectMidPipelined
)
