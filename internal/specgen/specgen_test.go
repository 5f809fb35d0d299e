package specgen

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// loadBoth loads a document with kin-openapi, validates it (formats too),
// and loads it with oasdiff's loader.
func loadBoth(t *testing.T, data []byte, name string) (*openapi3.T, *load.SpecInfo) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("%s: kin-openapi: %v", name, err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaFormatValidation()); err != nil {
		t.Fatalf("%s: invalid: %v", name, err)
	}
	info, err := load.NewSpecInfoFromData(openapi3.NewLoader(), data, name)
	if err != nil {
		t.Fatalf("%s: oasdiff's loader: %v", name, err)
	}
	return doc, info
}

// operations lists a document's operations as "METHOD /path".
func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			out[m+" "+p] = op
		}
	}
	return out
}

func TestPairValidAndSized(t *testing.T) {
	for _, c := range []struct {
		ops  int
		seed uint64
	}{{MinOps, 1}, {377, 9}, {650, 3}} {
		t.Run(fmt.Sprint(c.ops, "/", c.seed), func(t *testing.T) {
			base, rev, err := Pair(c.ops, c.seed)
			if err != nil {
				t.Fatal(err)
			}
			bd, _ := loadBoth(t, base, "base.yaml")
			rd, _ := loadBoth(t, rev, "rev.yaml")
			if n := len(operations(bd)); n != c.ops {
				t.Errorf("baseline has %d operations, want %d", n, c.ops)
			}
			if n := len(operations(rd)); n != c.ops+2 {
				t.Errorf("revision has %d operations, want %d (one removed, three added)", n, c.ops+2)
			}
			if bd.OpenAPI != "3.0.3" || rd.OpenAPI != "3.0.3" {
				t.Errorf("versions %q and %q, want 3.0.3", bd.OpenAPI, rd.OpenAPI)
			}
		})
	}
}

func TestPairDeterministic(t *testing.T) {
	b1, r1, err := Pair(300, 42)
	if err != nil {
		t.Fatal(err)
	}
	b2, r2, err := Pair(300, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) || !bytes.Equal(r1, r2) {
		t.Fatal("the same count and seed gave different documents")
	}
	b3, _, err := Pair(300, 43)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(b1, b3) {
		t.Fatal("seeds 42 and 43 gave the same baseline")
	}
	if bytes.Equal(b1, r1) {
		t.Fatal("the revision is the baseline")
	}
}

func TestPairRejectsSizes(t *testing.T) {
	for _, ops := range []int{-1, 0, MinOps - 1, MaxOps + 1} {
		if _, _, err := Pair(ops, 1); err == nil {
			t.Errorf("Pair(%d) gave no error", ops)
		}
	}
}

// TestPairShape checks that the baseline looks like a large real API.
func TestPairShape(t *testing.T) {
	const ops = 1500
	base, _, err := Pair(ops, 1)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := loadBoth(t, base, "base.yaml")
	if n := len(operations(doc)); n != ops {
		t.Fatalf("%d operations, want %d", n, ops)
	}

	methods := map[string]int{}
	statuses := map[string]int{}
	params := map[string]int{}
	collections := 0
	nested := 0
	item := regexp.MustCompile(`^/[a-z0-9]+/[a-z]+s/\{[a-z]+Id\}$`)
	sub := regexp.MustCompile(`^/[a-z0-9]+/[a-z]+s/\{[a-zA-Z]+Id\}/[a-z]+s(/\{[a-zA-Z]+Id\})?$`)
	var props []int
	for p, pi := range doc.Paths.Map() {
		switch {
		case sub.MatchString(p):
			nested++
		case item.MatchString(p):
		case strings.Count(p, "/") == 2:
			collections++
		default:
			t.Errorf("unexpected path %s", p)
		}
		for m, op := range pi.Operations() {
			methods[m]++
			for _, prm := range op.Parameters {
				params[prm.Value.In]++
			}
			for code, r := range op.Responses.Map() {
				statuses[code]++
				if code == "200" && m == "GET" && item.MatchString(p) {
					props = append(props, len(r.Value.Content.Get(jsonType).Schema.Value.Properties))
				}
			}
		}
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if methods[m] < ops/20 {
			t.Errorf("%d %s operations, want at least %d", methods[m], m, ops/20)
		}
	}
	for _, code := range []string{"200", "201", "204", "400", "404"} {
		if statuses[code] == 0 {
			t.Errorf("no %s response", code)
		}
	}
	if len(statuses) != 5 {
		t.Errorf("statuses %v, want only 200, 201, 204, 400, 404", statuses)
	}
	for _, in := range []string{"path", "query", "header"} {
		if params[in] < ops/10 {
			t.Errorf("%d %s parameters, want at least %d", params[in], in, ops/10)
		}
	}
	if collections < ops/8 || collections > ops/4 {
		t.Errorf("%d resources for %d operations, want about one in five", collections, ops)
	}
	if nested < ops/50 {
		t.Errorf("%d nested paths, want at least %d", nested, ops/50)
	}
	lo, hi := 1000, 0
	for _, n := range props {
		lo, hi = min(lo, n), max(hi, n)
	}
	if len(props) < ops/8 || lo < 5 || hi > 25 || hi-lo < 15 {
		t.Errorf("%d item models with %d to %d properties, want 5 to 25, spread", len(props), lo, hi)
	}

	// shared components by $ref, formats, enums, nested objects, arrays
	text := string(base)
	for _, want := range []string{
		"$ref: '#/components/schemas/Address'", "$ref: '#/components/schemas/Money'",
		"$ref: '#/components/responses/NotFound'", "$ref: '#/components/parameters/Limit'",
		"format: date-time", "format: uuid", "format: email", "format: int64", "format: float",
		"enum:", "additionalProperties:", "items:", "nullable: true", "readOnly: true", "example:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the baseline", want)
		}
	}
	if n := len(doc.Components.Schemas); n < ops/20 {
		t.Errorf("%d component schemas, want at least %d", n, ops/20)
	}
	for _, s := range []string{"bearerAuth", "apiKeyAuth", "oauth2"} {
		if doc.Components.SecuritySchemes[s] == nil {
			t.Errorf("no security scheme %s", s)
		}
		if !strings.Contains(text, "- "+s+":") {
			t.Errorf("no operation or document requires %s", s)
		}
	}
	deep := 0
	for _, op := range operations(doc) {
		for _, r := range op.Responses.Map() {
			if mt := r.Value.Content.Get(jsonType); mt != nil && depth(mt.Schema, 0) >= 3 {
				deep++
			}
		}
	}
	if deep < ops/20 {
		t.Errorf("%d responses nest objects three deep, want at least %d", deep, ops/20)
	}
}

// depth is how deep objects nest below s, through properties and items.
func depth(s *openapi3.SchemaRef, seen int) int {
	if s == nil || s.Value == nil || seen > 10 {
		return 0
	}
	d := 0
	if s.Value.Items != nil {
		d = depth(s.Value.Items, seen+1)
	}
	for _, p := range s.Value.Properties {
		d = max(d, depth(p, seen+1))
	}
	if len(s.Value.Properties) > 0 {
		d++
	}
	return d
}

// TestRevisionChanges diffs each pair with oasdiff: every breaking change
// oasdiff finds is one of the revision's edits, and every edit is found.
func TestRevisionChanges(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			b, r, edits, err := generate(400, seed)
			if err != nil {
				t.Fatal(err)
			}
			base, rev, err := marshalBoth(b, r)
			if err != nil {
				t.Fatal(err)
			}
			_, s1 := loadBoth(t, base, "base.yaml")
			_, s2 := loadBoth(t, rev, "rev.yaml")
			d, srcs, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
			if err != nil {
				t.Fatal(err)
			}
			// every edit, as oasdiff's check id, operation and property
			want := map[string]bool{} // key: breaking
			for _, e := range edits {
				for _, op := range e.ops {
					switch e.kind {
					case editRename, editRemoveProperty:
						want["response-required-property-removed|"+op+"|"+e.from] = true
					case editRetype:
						want["response-property-type-changed|"+op+"|"+e.from] = true
						// a number's bounds go with its type
						want["response-property-min-unset|"+op+"|"+e.from] = true
						want["response-property-max-unset|"+op+"|"+e.from] = true
					case editRemoveOperation:
						want["api-removed-without-deprecation|"+op+"|"] = true
					case editRequire:
						want["new-required-request-property|"+op+"|"+e.to] = true
					case editAddOperation:
						want["endpoint-added|"+op+"|"] = false
					case editAddProperty:
						want["response-optional-property-added|"+op+"|"+e.to] = false
					}
				}
			}
			found := map[string]bool{}
			breaking := 0
			for _, c := range checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, srcs, checker.INFO) {
				prop := ""
				if args := c.GetArgs(); len(args) > 0 {
					prop, _ = args[0].(string)
					prop = prop[strings.LastIndexByte(prop, '/')+1:]
				}
				key := c.GetId() + "|" + strings.ToUpper(c.GetOperation()) + " " + c.GetPath() + "|" + prop
				found[key] = true
				if c.GetLevel() == checker.ERR {
					breaking++
					if !want[key] {
						t.Errorf("oasdiff finds a breaking change no edit made: %s\nedits:\n%s", key, describe(edits))
					}
				}
			}
			for key := range want {
				if !found[key] && !strings.Contains(key, "-unset|") {
					t.Errorf("oasdiff does not find %s", key)
				}
			}
			if breaking < 8 || breaking > 30 {
				t.Errorf("%d breaking changes, want a handful", breaking)
			}
		})
	}
}

func marshalBoth(b, r *openapi3.T) ([]byte, []byte, error) {
	base, err := marshal(b)
	if err != nil {
		return nil, nil, err
	}
	rev, err := marshal(r)
	return base, rev, err
}

// TestPlanSizes draws many sizes and seeds: each gives exactly the
// operations asked for, and the revision finds something to change.
func TestPlanSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 60 {
		ops := MinOps + rng.IntN(800)
		seed := rng.Uint64()
		b, r, edits, err := generate(ops, seed)
		if err != nil {
			t.Fatal(err)
		}
		checkEdits(t, ops, b, r, edits)
	}
}

// checkEdits checks the operation counts and that each edit's
// operations are where it says.
func checkEdits(t *testing.T, ops int, b, r *openapi3.T, edits []edit) {
	t.Helper()
	bo, ro := operations(b), operations(r)
	if len(bo) != ops || len(ro) != ops+2 {
		t.Fatalf("%d and %d operations, want %d and %d", len(bo), len(ro), ops, ops+2)
	}
	if len(edits) != 11 {
		t.Fatalf("%d edits, want 11:\n%s", len(edits), describe(edits))
	}
	for _, e := range edits {
		for _, op := range e.ops {
			inBase, inRev := bo[op] != nil, ro[op] != nil
			switch e.kind {
			case editRemoveOperation:
				if !inBase || inRev {
					t.Errorf("%s: %s in the baseline %v, in the revision %v", e.kind, op, inBase, inRev)
				}
			case editAddOperation:
				if inBase || !inRev {
					t.Errorf("%s: %s in the baseline %v, in the revision %v", e.kind, op, inBase, inRev)
				}
			default:
				if !inBase || !inRev {
					t.Errorf("%s: %s missing", e.kind, op)
				}
			}
		}
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"dueDate": "due_date", "id": "id", "sequenceNumber": "sequence_number", "avatarUrl": "avatar_url"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzGenerate(f *testing.F) {
	f.Add(uint16(0), uint64(1))
	f.Add(uint16(300), uint64(99))
	f.Add(uint16(999), uint64(1<<63))
	f.Fuzz(func(t *testing.T, n uint16, seed uint64) {
		ops := MinOps + int(n)%600
		b, r, edits, err := generate(ops, seed)
		if err != nil {
			t.Fatal(err)
		}
		checkEdits(t, ops, b, r, edits)
	})
}
