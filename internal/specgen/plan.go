package specgen

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// kind is the shape of a property.
type kind int

const (
	kString kind = iota
	kText
	kEnum
	kDateTime
	kDate
	kEmail
	kURI
	kUUID
	kInt32
	kInt64
	kDouble
	kFloat
	kBool
	kStrings // array of strings
	kMap     // object keyed by name, string values
	kRef     // a shared component schema
	kObject  // a nested object
	kObjects // an array of nested objects
)

// opKind is what an operation does to its resource.
type opKind int

const (
	opList    opKind = iota // GET collection
	opCreate                // POST collection
	opGet                   // GET item
	opReplace               // PUT item
	opUpdate                // PATCH item
	opDelete                // DELETE item
)

// field is one property of a generated schema.
type field struct {
	name     string
	kind     kind
	enum     []string
	ref      string  // component name, for kRef
	sub      []field // properties, for kObject and kObjects
	required bool
	readOnly bool // in responses only
	nullable bool
	desc     bool // carries a description
	example  bool // carries an example
}

// resource is a collection and its items: /area/nouns, /area/nouns/{nounId}.
type resource struct {
	area     string // tag and first path segment
	noun     string // singular, lower camel case
	typeName string // "BillingInvoice"
	parent   *resource
	fields   []field
	ops      []opKind
	// component keeps the model in components/schemas; otherwise every
	// operation carries its own copy of the schema inline.
	component bool
	intID     bool // integer ids instead of UUIDs
	requestID bool // operations take an X-Request-Id header
	sharedErr bool // errors and paging parameters by $ref
	security  int  // 0 the document's, 1 API key, 2 OAuth2 scopes
	filters   []string
}

// plan is the generated API, before it is written as OpenAPI.
type plan struct {
	resources []*resource
	ops       int
}

// fieldSpec is a property a model may have.
type fieldSpec struct {
	name string
	kind kind
	enum []string
	ref  string
}

// The tables the generator draws from.
var (
	areas = []string{
		"billing", "catalog", "identity", "inventory", "shipping", "support", "marketing",
		"analytics", "payments", "scheduling", "documents", "messaging", "projects", "compliance",
	}
	nouns = []string{
		"account", "invoice", "order", "customer", "product", "shipment", "ticket", "campaign",
		"report", "payment", "subscription", "contract", "vendor", "warehouse", "device", "project",
		"task", "workspace", "document", "template", "webhook", "coupon", "plan", "refund", "user",
		"team", "role", "permission", "session", "license", "asset", "location", "route", "carrier",
		"parcel", "article", "channel", "segment", "audience", "event", "metric", "dashboard",
		"export", "job", "schedule", "booking", "room", "folder", "message", "thread", "contact",
		"lead", "deal", "quote", "supplier", "review", "survey", "question", "certificate",
		"incident", "alert", "rule", "notification", "budget", "forecast",
	}
	subNouns = []string{"note", "comment", "attachment", "event", "member", "version", "approval", "label", "link", "reminder"}

	statuses   = []string{"active", "inactive", "pending", "archived"}
	priorities = []string{"low", "normal", "high", "urgent"}
	currencies = []string{"EUR", "GBP", "JPY", "USD"}
	channels   = []string{"email", "sms", "push", "webhook"}
	modes      = []string{"automatic", "manual", "scheduled"}

	fieldSpecs = []fieldSpec{
		{name: "name", kind: kString},
		{name: "title", kind: kString},
		{name: "description", kind: kText},
		{name: "summary", kind: kText},
		{name: "status", kind: kEnum, enum: statuses},
		{name: "priority", kind: kEnum, enum: priorities},
		{name: "deliveryChannel", kind: kEnum, enum: channels},
		{name: "email", kind: kEmail},
		{name: "contactEmail", kind: kEmail},
		{name: "phoneNumber", kind: kString},
		{name: "website", kind: kURI},
		{name: "avatarUrl", kind: kURI},
		{name: "createdAt", kind: kDateTime},
		{name: "updatedAt", kind: kDateTime},
		{name: "deletedAt", kind: kDateTime},
		{name: "expiresAt", kind: kDateTime},
		{name: "dueDate", kind: kDate},
		{name: "startDate", kind: kDate},
		{name: "endDate", kind: kDate},
		{name: "ownerId", kind: kUUID},
		{name: "parentId", kind: kUUID},
		{name: "externalId", kind: kString},
		{name: "referenceNumber", kind: kString},
		{name: "quantity", kind: kInt32},
		{name: "position", kind: kInt32},
		{name: "retryCount", kind: kInt32},
		{name: "sizeBytes", kind: kInt64},
		{name: "sequenceNumber", kind: kInt64},
		{name: "amount", kind: kDouble},
		{name: "score", kind: kDouble},
		{name: "latitude", kind: kDouble},
		{name: "longitude", kind: kDouble},
		{name: "taxRate", kind: kFloat},
		{name: "discountPercent", kind: kFloat},
		{name: "isActive", kind: kBool},
		{name: "isDefault", kind: kBool},
		{name: "archived", kind: kBool},
		{name: "verified", kind: kBool},
		{name: "currency", kind: kEnum, enum: currencies},
		{name: "countryCode", kind: kString},
		{name: "locale", kind: kString},
		{name: "timeZone", kind: kString},
		{name: "tags", kind: kStrings},
		{name: "labels", kind: kStrings},
		{name: "aliases", kind: kStrings},
		{name: "metadata", kind: kMap},
		{name: "attributes", kind: kMap},
		{name: "billingAddress", kind: kRef, ref: "Address"},
		{name: "shippingAddress", kind: kRef, ref: "Address"},
		{name: "price", kind: kRef, ref: "Money"},
		{name: "total", kind: kRef, ref: "Money"},
		{name: "audit", kind: kRef, ref: "AuditInfo"},
		{name: "settings", kind: kObject},
		{name: "limits", kind: kObject},
		{name: "schedule", kind: kObject},
		{name: "lineItems", kind: kObjects},
		{name: "contacts", kind: kObjects},
		{name: "history", kind: kObjects},
	}

	// nestedSpecs are the properties of nested objects.
	nestedSpecs = []fieldSpec{
		{name: "enabled", kind: kBool},
		{name: "label", kind: kString},
		{name: "value", kind: kString},
		{name: "unitPrice", kind: kDouble},
		{name: "count", kind: kInt32},
		{name: "maxItems", kind: kInt64},
		{name: "sku", kind: kString},
		{name: "note", kind: kText},
		{name: "occurredAt", kind: kDateTime},
		{name: "actorId", kind: kUUID},
		{name: "mode", kind: kEnum, enum: modes},
		{name: "ratio", kind: kFloat},
		{name: "url", kind: kURI},
		{name: "notifyEmail", kind: kEmail},
		{name: "options", kind: kObject},
	}
)

// readOnly names the properties a server sets: responses only.
func readOnly(name string) bool {
	switch name {
	case "id", "createdAt", "updatedAt", "audit":
		return true
	}
	return false
}

// newPlan draws an API of exactly ops operations.
func newPlan(rng *rand.Rand, ops int) *plan {
	p := &plan{}
	for i := 0; p.ops < ops; i++ {
		r := newResource(rng, i, nil)
		p.add(r, []opKind{opList, opCreate, opGet, opReplace, opUpdate, opDelete},
			[]float64{1, 0.9, 1, 0.55, 0.6, 0.65}, ops, rng)
		if p.ops < ops && rng.Float64() < 0.3 {
			s := newResource(rng, i, r)
			p.add(s, []opKind{opList, opCreate, opGet}, []float64{1, 0.7, 0.5}, ops, rng)
		}
	}
	return p
}

// add gives r each operation with its chance, while the plan has fewer
// than limit, and keeps r if it has any.
func (p *plan) add(r *resource, kinds []opKind, chance []float64, limit int, rng *rand.Rand) {
	for j, k := range kinds {
		if p.ops < limit && rng.Float64() < chance[j] {
			r.ops = append(r.ops, k)
			p.ops++
		}
	}
	if len(r.ops) > 0 {
		p.resources = append(p.resources, r)
	}
}

// newResource draws the i-th resource, or a sub-collection of parent.
func newResource(rng *rand.Rand, i int, parent *resource) *resource {
	r := &resource{parent: parent}
	if parent == nil {
		a := i % len(areas)
		r.area = areas[a]
		if round := i / (len(areas) * len(nouns)); round > 0 {
			r.area += strconv.Itoa(round + 1)
		}
		r.noun = nouns[(i/len(areas)+5*a)%len(nouns)]
		r.typeName = title(r.area) + title(r.noun)
		r.fields = modelFields(rng, 5, 25)
	} else {
		r.area = parent.area
		k := rng.IntN(len(subNouns))
		if subNouns[k] == parent.noun {
			k = (k + 1) % len(subNouns) // path parameters must differ
		}
		r.noun = subNouns[k]
		r.typeName = parent.typeName + title(r.noun)
		r.fields = modelFields(rng, 5, 10)
	}
	// The first resource keeps its model in components and the second
	// inline, so that even a small API has both.
	switch {
	case i == 0 && parent == nil:
		r.component = true
	case i == 1 && parent == nil:
		r.component = false
	default:
		r.component = rng.Float64() < 0.55
	}
	r.intID = rng.Float64() < 0.3
	r.requestID = rng.Float64() < 0.4
	r.sharedErr = rng.Float64() < 0.6
	switch x := rng.Float64(); {
	case x < 0.15:
		r.security = 1
	case x < 0.3:
		r.security = 2
	}
	for _, f := range r.fields {
		if f.name == "status" || f.name == "priority" {
			r.filters = append(r.filters, f.name)
		}
	}
	if rng.Float64() < 0.5 {
		r.filters = append(r.filters, "createdAfter")
	}
	if rng.Float64() < 0.4 {
		r.filters = append(r.filters, "q")
	}
	return r
}

// modelFields draws an id and lo-1 to hi-1 other properties.
func modelFields(rng *rand.Rand, lo, hi int) []field {
	n := lo + rng.IntN(hi-lo+1)
	fs := []field{{name: "id", kind: kUUID, required: true, readOnly: true}}
	for _, j := range rng.Perm(len(fieldSpecs))[:n-1] {
		fs = append(fs, newField(rng, fieldSpecs[j], 0))
	}
	return fs
}

// newField draws the details of one property at a nesting depth.
func newField(rng *rand.Rand, s fieldSpec, depth int) field {
	f := field{name: s.name, kind: s.kind, enum: s.enum, ref: s.ref}
	f.readOnly = readOnly(f.name)
	f.required = f.readOnly || rng.Float64() < 0.3
	f.nullable = !f.required && rng.Float64() < 0.1
	f.desc = rng.Float64() < 0.3
	f.example = rng.Float64() < 0.25
	if f.kind == kObject || f.kind == kObjects {
		n := 3 + rng.IntN(5)
		for _, j := range rng.Perm(len(nestedSpecs))[:n] {
			s := nestedSpecs[j]
			if s.kind == kObject && depth >= 1 {
				continue // no deeper than two levels of nesting
			}
			f.sub = append(f.sub, newField(rng, s, depth+1))
		}
	}
	return f
}

// title upper-cases the first letter.
func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// plural names a collection: every noun in the tables takes an s.
func plural(noun string) string { return noun + "s" }

// snake writes a lower camel case name in snake case.
func snake(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// words writes a lower camel case name as words: "dueDate" is "due date".
func words(s string) string {
	return strings.ReplaceAll(snake(s), "_", " ")
}

// collection is the resource's collection path.
func (r *resource) collection() string {
	if r.parent != nil {
		return r.parent.item() + "/" + plural(r.noun)
	}
	return "/" + r.area + "/" + plural(r.noun)
}

// item is the resource's item path.
func (r *resource) item() string {
	return r.collection() + "/{" + r.param() + "}"
}

// param names the item's path parameter.
func (r *resource) param() string { return r.noun + "Id" }

// has reports whether the resource has an operation.
func (r *resource) has(k opKind) bool {
	for _, o := range r.ops {
		if o == k {
			return true
		}
	}
	return false
}
