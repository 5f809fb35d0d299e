package todo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// wireTodo is a todo in a response. Exactly one of the two description
// fields is set, as the version spells it; Priority is an int, a word, or
// nil when the version leaves it out.
type wireTodo struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Descripton  *string  `json:"descripton,omitempty"`
	Description *string  `json:"description,omitempty"`
	Done        bool     `json:"done"`
	Priority    any      `json:"priority,omitempty"`
	CreatedAt   string   `json:"createdAt"`
	Tags        []string `json:"tags,omitempty"`
	Owner       string   `json:"owner,omitempty"`
}

// priorityWords are the names of priorities 1, 2 and 3.
var priorityWords = [...]string{"low", "normal", "high"}

// wire is t as v writes it. The description is always there (empty when
// there is none), so every answer has the field the rename is about.
func (v Version) wire(t Todo) wireTodo {
	w := wireTodo{
		ID:        t.ID,
		Title:     t.Title,
		Done:      t.Done,
		CreatedAt: t.CreatedAt.UTC().Format(timeFormat),
		Tags:      t.Tags,
		Owner:     t.Owner,
	}
	desc := t.Description
	if v.FixedTypo {
		w.Description = &desc
	} else {
		w.Descripton = &desc
	}
	switch {
	case v.NoPriority:
	case v.PriorityWords && t.Priority >= 1 && t.Priority <= 3:
		w.Priority = priorityWords[t.Priority-1]
	default:
		w.Priority = t.Priority
	}
	return w
}

// wireInput is the body of POST /todos and PUT /todos/{id}: both spellings
// of the description are read, and the version picks its own.
type wireInput struct {
	Title       *string         `json:"title"`
	Descripton  *string         `json:"descripton"`
	Description *string         `json:"description"`
	Done        *bool           `json:"done"`
	Priority    json.RawMessage `json:"priority"`
	Tags        []string        `json:"tags"`
	Owner       *string         `json:"owner"`
}

// input is a checked request body.
type input struct {
	title, description, owner string
	done                      bool
	priority                  int
	tags                      []string
}

// timeFormat is how createdAt is written: RFC 3339 in UTC, with
// milliseconds always present.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

const (
	maxBody  = 64 << 10
	maxTitle = 200
	maxTags  = 10
	maxTag   = 32
)

// decode reads and checks a request body, answering 400 itself when it
// will not do.
func (s *service) decode(w http.ResponseWriter, r *http.Request) (input, bool) {
	in, err := s.v.parseInput(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return input{}, false
	}
	return in, true
}

func (v Version) parseInput(body io.Reader) (input, error) {
	var raw wireInput
	dec := json.NewDecoder(body)
	if err := dec.Decode(&raw); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return input{}, fmt.Errorf("body larger than %d bytes", maxBody)
		}
		return input{}, fmt.Errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return input{}, errors.New("invalid JSON: more than one value")
	}
	var in input
	if raw.Title != nil {
		in.title = strings.TrimSpace(*raw.Title)
	}
	if in.title == "" {
		return input{}, errors.New("title is required")
	}
	if len(in.title) > maxTitle {
		return input{}, fmt.Errorf("title longer than %d bytes", maxTitle)
	}
	desc := raw.Descripton
	if v.FixedTypo {
		desc = raw.Description
	}
	if desc != nil {
		in.description = *desc
	}
	if raw.Done != nil {
		in.done = *raw.Done
	}
	in.priority = 2
	if p := bytes.TrimSpace(raw.Priority); len(p) > 0 && string(p) != "null" {
		n, err := v.parsePriority(p)
		if err != nil {
			return input{}, err
		}
		in.priority = n
	}
	if len(raw.Tags) > maxTags {
		return input{}, fmt.Errorf("at most %d tags", maxTags)
	}
	for _, tag := range raw.Tags {
		if tag == "" || len(tag) > maxTag {
			return input{}, fmt.Errorf("a tag is 1 to %d bytes", maxTag)
		}
	}
	in.tags = raw.Tags
	if v.RequireOwner && raw.Owner != nil { // other versions know no owner
		in.owner = strings.TrimSpace(*raw.Owner)
	}
	return in, nil
}

// parsePriority reads 1, 2 or 3, or (when v writes words) a word.
func (v Version) parsePriority(p json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(p, &n); err == nil && n >= 1 && n <= 3 {
		return n, nil
	}
	if v.PriorityWords {
		var word string
		if err := json.Unmarshal(p, &word); err == nil {
			for i, w := range priorityWords {
				if w == word {
					return i + 1, nil
				}
			}
		}
		return 0, errors.New(`priority must be 1, 2 or 3, or "low", "normal" or "high"`)
	}
	return 0, errors.New("priority must be 1, 2 or 3")
}
