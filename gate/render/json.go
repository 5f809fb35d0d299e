package render

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/specgate/specgate/gate"
)

// JSON writes the report itself: keys in the order gate.Report declares
// them, indented by two spaces, with a trailing newline. Absent lists are
// written as empty arrays. JSONSchema describes it.
func JSON(w io.Writer, r *gate.Report, _ Options) error {
	return emit(w, "json", r, func(b *bytes.Buffer) error {
		enc := json.NewEncoder(b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(normalized(r))
	})
}

// normalized is a shallow copy of r whose top-level lists are never null.
func normalized(r *gate.Report) *gate.Report {
	n := *r
	if n.Services == nil {
		n.Services = []gate.Service{}
	}
	if n.Changes == nil {
		n.Changes = []gate.Change{}
	}
	if n.Coverage == nil {
		n.Coverage = []gate.Coverage{}
	}
	return &n
}

// JSONSchema returns a JSON Schema (draft 2020-12) of the JSON report, for
// the consumers of 'specgate check --format json'. It describes schema
// version gate.SchemaVersion.
func JSONSchema() []byte {
	return []byte(reportSchema)
}

const reportSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "specgate report",
  "description": "What a specgate gate run found: the verdict, the classified changes between each service's baseline and the document inferred from this run's traffic, coverage and capture health.",
  "type": "object",
  "required": ["schemaVersion", "verdict", "summary", "breaking", "services", "changes", "coverage"],
  "properties": {
    "schemaVersion": {
      "description": "The version of this schema; it changes only when a field changes meaning or goes away.",
      "const": 1
    },
    "verdict": { "$ref": "#/$defs/verdict" },
    "summary": {
      "description": "The verdict in one line, for people.",
      "type": "string"
    },
    "breaking": {
      "description": "Breaking changes the policy did not accept, over all services.",
      "type": "integer",
      "minimum": 0
    },
    "services": {
      "type": "array",
      "items": { "$ref": "#/$defs/service" }
    },
    "changes": {
      "type": "array",
      "items": { "$ref": "#/$defs/change" }
    },
    "coverage": {
      "type": "array",
      "items": { "$ref": "#/$defs/coverage" }
    },
    "capture": { "$ref": "#/$defs/health" }
  },
  "$defs": {
    "verdict": {
      "description": "pass (exit 0), fail (exit 1: breaking changes) or inconclusive (exit 3: nothing to judge by, or lost data).",
      "enum": ["pass", "fail", "inconclusive"]
    },
    "level": {
      "description": "How severe a change is, as oasdiff grades it.",
      "enum": ["error", "warning", "info"]
    },
    "service": {
      "description": "The result for one service.",
      "type": "object",
      "required": ["name", "baseline", "verdict", "breaking"],
      "properties": {
        "name": { "type": "string" },
        "baseline": {
          "description": "Where the baseline came from: a file, git:REF:PATH, an artifact and run.",
          "type": "string"
        },
        "verdict": { "$ref": "#/$defs/verdict" },
        "reason": {
          "description": "Why the verdict is inconclusive or failing, in one line.",
          "type": "string"
        },
        "breaking": { "type": "integer", "minimum": 0 }
      }
    },
    "change": {
      "description": "One difference between a baseline and this run, classified.",
      "type": "object",
      "required": ["id", "level", "breaking", "kind", "service", "message", "fingerprint"],
      "properties": {
        "id": {
          "description": "The check that found it: oasdiff's ids (response-property-removed) and specgate's own (response-property-renamed, operation-not-exercised).",
          "type": "string"
        },
        "level": { "$ref": "#/$defs/level" },
        "breaking": { "type": "boolean" },
        "kind": {
          "description": "What happened, for people: removed, renamed, type-changed, added, changed, not-exercised, no-longer-exercised.",
          "type": "string",
          "examples": ["removed", "renamed", "type-changed", "added", "changed", "not-exercised", "no-longer-exercised"]
        },
        "service": { "type": "string" },
        "operation": {
          "description": "METHOD /path/{template}, when the change is in an operation.",
          "type": "string"
        },
        "path": { "type": "string" },
        "location": {
          "description": "Where in the operation, such as response 200 body: descripton.",
          "type": "string"
        },
        "from": { "type": "string" },
        "to": { "type": "string" },
        "message": { "type": "string" },
        "fingerprint": {
          "description": "Identifies the change across runs; a policy accepts changes by it.",
          "type": "string"
        },
        "callers": {
          "description": "The clients seen calling the operation.",
          "type": "array",
          "items": { "type": "string" }
        },
        "accepted": { "$ref": "#/$defs/acceptance" }
      }
    },
    "acceptance": {
      "description": "Why the policy lets a change through.",
      "type": "object",
      "required": ["reason"],
      "properties": {
        "reason": { "type": "string" },
        "expires": {
          "description": "The last day the acceptance holds, YYYY-MM-DD.",
          "type": "string",
          "format": "date"
        }
      }
    },
    "coverage": {
      "description": "How much of a service's baseline this run exercised.",
      "type": "object",
      "required": ["service", "operations", "exercised"],
      "properties": {
        "service": { "type": "string" },
        "operations": {
          "description": "Operations in the baseline.",
          "type": "integer",
          "minimum": 0
        },
        "exercised": {
          "description": "Of those, the operations this run called.",
          "type": "integer",
          "minimum": 0
        },
        "notExercised": {
          "description": "The operations this run did not call, as METHOD /path.",
          "type": "array",
          "items": { "type": "string" }
        }
      }
    },
    "health": {
      "description": "The capture the run judged by.",
      "type": "object",
      "required": ["exchanges", "lost", "lostRatio"],
      "properties": {
        "exchanges": { "type": "integer", "minimum": 0 },
        "lost": {
          "description": "What the capture could not read in full: kernel drops, truncated and incomplete messages, unmatched requests and responses.",
          "type": "integer",
          "minimum": 0
        },
        "lostRatio": {
          "description": "lost over exchanges.",
          "type": "number",
          "minimum": 0
        },
        "notes": {
          "description": "The capture's one-line explanations (TLS, HTTP/2, drops).",
          "type": "array",
          "items": { "type": "string" }
        },
        "missed": {
          "description": "Where the capture could not look, each as NAME: REASON (a kind node or pod that could not be entered or disappeared); any makes the run inconclusive unless a breaking change fails it.",
          "type": "array",
          "items": { "type": "string" }
        }
      }
    }
  }
}
`
