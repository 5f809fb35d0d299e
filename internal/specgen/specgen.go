// Package specgen generates a large OpenAPI 3.0.3 document pair from an
// operation count and a seed: a baseline and a revision of it, as YAML.
//
// The API has about one resource for every five operations, in areas
// (/billing/invoices, /billing/invoices/{invoiceId}, some with a nested
// collection such as /billing/invoices/{invoiceId}/notes), with GET, POST,
// PUT, PATCH and DELETE; path, query and header parameters; JSON bodies and
// responses (200, 201, 204, 400, 404) of 5 to 25 properties with nested
// objects, arrays, formats and enums; shared schemas, responses and
// parameters by $ref; and bearer, API-key and OAuth2 security.
//
// The revision is the next release: it renames a response property of a
// shared model and one of an inline model, removes a response property and
// an operation, changes a property's type, adds a required request
// property, and adds three operations and four optional response
// properties. The same count and seed give the same bytes.
package specgen

import (
	"fmt"
	"math/rand/v2"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/specgate/specgate/infer"
)

// The operation counts Pair accepts: the revision needs a dozen resources
// to change, and documents beyond the largest are not a benchmark's.
const (
	MinOps = 200
	MaxOps = 20000
)

// Pair generates a baseline document of exactly ops operations and its
// revision (ops+2 operations: one removed, three added), as YAML.
func Pair(ops int, seed uint64) (base, rev []byte, err error) {
	b, r, _, err := generate(ops, seed)
	if err != nil {
		return nil, nil, err
	}
	if base, err = marshal(b); err != nil {
		return nil, nil, fmt.Errorf("specgen: baseline: %w", err)
	}
	if rev, err = marshal(r); err != nil {
		return nil, nil, fmt.Errorf("specgen: revision: %w", err)
	}
	return base, rev, nil
}

// marshal writes a document as YAML, as specgate writes documents.
func marshal(doc *openapi3.T) ([]byte, error) {
	return infer.Marshal(doc, infer.Format{Clean: true})
}

// generate builds the pair as documents and lists the revision's edits.
func generate(ops int, seed uint64) (base, rev *openapi3.T, edits []edit, err error) {
	if ops < MinOps || ops > MaxOps {
		return nil, nil, nil, fmt.Errorf("specgen: %d operations: want %d to %d", ops, MinOps, MaxOps)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed5eed5eed5eed))
	p := newPlan(rng, ops)
	base = p.document("1.0.0")
	rev = p.document("1.1.0")
	if edits, err = revise(rev, p, rng); err != nil {
		return nil, nil, nil, fmt.Errorf("specgen: seed %d, %d operations: %w", seed, ops, err)
	}
	return base, rev, edits, nil
}
