package trafficgen

// A body's shape is a tree of fields, fixed in tables (catalog.go); each
// exchange draws fresh values for it. So the traffic holds as many shapes
// as the tables do, whatever the number of exchanges.

// kind is what a field's value is.
type kind uint8

const (
	kNone       kind = iota // no value: a message without a body
	kWord                   // one word
	kText                   // lo to hi words
	kName                   // a person's first and last name
	kEmail                  // an e-mail address
	kUUID                   // a random version-4 UUID
	kInt                    // an integer from lo to hi
	kMoney                  // an amount from lo to hi cents, written as a JSON number of units
	kFloat                  // a number from lo to hi thousandths
	kBool                   // true or false
	kDateTime               // an RFC 3339 date-time, whole seconds
	kDateTimeMs             // an RFC 3339 date-time with milliseconds
	kDate                   // an RFC 3339 full-date
	kUnix                   // a date-time as Unix seconds (an integer)
	kEnum                   // one of enum
	kCode                   // pre followed by lo to hi decimal digits ("INV-2024-000123")
	kURL                    // pre followed by a UUID
	kRedacted               // the string the capture's redactor leaves for a secret
	kTags                   // an array of lo to hi words
	kObject                 // an object of fields obj
	kArray                  // an array of lo to hi objects of fields obj
)

// field is one member of a JSON object (or, unnamed, a whole body).
type field struct {
	name string
	kind kind
	// pct is the percentage of objects that hold the field; 0 means all.
	pct uint8
	// null is the percentage of held fields whose value is null.
	null   uint8
	lo, hi int
	pre    string
	enum   []string
	obj    []field
}

// The constructors below keep the tables in catalog.go readable.

func vWord(name string) field               { return field{name: name, kind: kWord} }
func vText(name string, lo, hi int) field   { return field{name: name, kind: kText, lo: lo, hi: hi} }
func vName(name string) field               { return field{name: name, kind: kName} }
func vEmail(name string) field              { return field{name: name, kind: kEmail} }
func vUUID(name string) field               { return field{name: name, kind: kUUID} }
func vInt(name string, lo, hi int) field    { return field{name: name, kind: kInt, lo: lo, hi: hi} }
func vMoney(name string, lo, hi int) field  { return field{name: name, kind: kMoney, lo: lo, hi: hi} }
func vFloat(name string, lo, hi int) field  { return field{name: name, kind: kFloat, lo: lo, hi: hi} }
func vBool(name string) field               { return field{name: name, kind: kBool} }
func vTime(name string) field               { return field{name: name, kind: kDateTime} }
func vTimeMs(name string) field             { return field{name: name, kind: kDateTimeMs} }
func vDate(name string) field               { return field{name: name, kind: kDate} }
func vUnix(name string) field               { return field{name: name, kind: kUnix} }
func vEnum(name string, vs ...string) field { return field{name: name, kind: kEnum, enum: vs} }
func vURL(name, prefix string) field        { return field{name: name, kind: kURL, pre: prefix} }
func vSecret(name string) field             { return field{name: name, kind: kRedacted} }
func vTags(name string, lo, hi int) field   { return field{name: name, kind: kTags, lo: lo, hi: hi} }
func vObj(name string, fs ...field) field   { return field{name: name, kind: kObject, obj: fs} }

func vCode(name, prefix string, lo, hi int) field {
	return field{name: name, kind: kCode, pre: prefix, lo: lo, hi: hi}
}

func vList(name string, lo, hi int, fs ...field) field {
	return field{name: name, kind: kArray, lo: lo, hi: hi, obj: fs}
}

// opt makes f present in pct percent of objects.
func opt(pct uint8, f field) field { f.pct = pct; return f }

// nul makes f null in pct percent of the objects that hold it.
func nul(pct uint8, f field) field { f.null = pct; return f }

// Word lists. Words are plain ASCII, safe in a query; text mixes in an
// odd word (non-ASCII, JSON-escaped) now and then, as real titles and
// comments do.
var (
	words = [...]string{
		"alpha", "backlog", "budget", "call", "review", "client", "deploy", "design", "draft", "email",
		"fix", "follow", "groceries", "invoice", "kitchen", "launch", "meeting", "milk", "notes", "onboarding",
		"plan", "quarterly", "release", "report", "roadmap", "schedule", "sprint", "team", "ticket", "update",
		"vendor", "weekly", "write", "yoga", "zone", "audit", "bug", "check", "dentist", "export",
		"garden", "hiring", "import", "laptop", "migrate", "office", "payroll", "renew", "sync", "taxes",
		"the", "a", "for", "with", "and", "to", "on", "new", "old", "next",
	}
	oddWords = [...]string{
		"café", "naïve", "Zürich", "résumé", `\"urgent\"`, "v2", "Q3", "2FA", "team’s", "follow-up",
	}
	firstNames = [...]string{
		"Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
		"Radia", "Tim", "Hedy", "John", "Katherine", "Donald", "Anita", "Niklaus", "Shafi", "Leslie",
	}
	lastNames = [...]string{
		"Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Dijkstra",
		"Perlman", "Berners-Lee", "Lamarr", "McCarthy", "Johnson", "Knuth", "Borg", "Wirth", "Goldwasser", "Lamport",
	}
	domains = [...]string{"example.com", "example.org", "acme.test", "mail.example.net"}
)
