package apiserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// todo is one item of the todo list. Description, Due and Tags are left out
// when empty; UpdatedAt is null until the first PUT.
type todo struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Done        bool       `json:"done"`
	Priority    int        `json:"priority"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   *time.Time `json:"updatedAt"`
	Due         string     `json:"due,omitempty"`
	Tags        []string   `json:"tags,omitempty"`
	seq         int
}

// todoInput is the body of POST /todos.
type todoInput struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Due         string   `json:"due"`
	Tags        []string `json:"tags"`
}

// todoUpdate is the body of PUT /todos/{id}: it replaces the todo's fields,
// except that an absent priority keeps the current one.
type todoUpdate struct {
	todoInput
	Done     bool `json:"done"`
	Priority int  `json:"priority"`
}

const defaultPriority = 2

// decodeBody reads one JSON object with only known fields into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("the body is not a valid todo")
	}
	return nil
}

// check validates the fields POST and PUT share.
func (in *todoInput) check() error {
	if strings.TrimSpace(in.Title) == "" {
		return errors.New("title is required")
	}
	if in.Due != "" {
		if _, err := time.Parse(time.DateOnly, in.Due); err != nil {
			return errors.New("due must be a date like 2024-01-31")
		}
	}
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func (s *server) createTodo(w http.ResponseWriter, r *http.Request) {
	var in todoInput
	err := decodeBody(w, r, &in)
	if err == nil {
		err = in.check()
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	t := todo{
		ID: newUUID(), Title: in.Title, Description: in.Description, Priority: defaultPriority,
		CreatedAt: now(), Due: in.Due, Tags: slices.Clone(in.Tags),
	}
	s.mu.Lock()
	s.seq++
	t.seq = s.seq
	s.todos[t.ID] = t
	s.mu.Unlock()
	w.Header().Set("Location", "/todos/"+t.ID)
	writeJSON(w, http.StatusCreated, t)
}

func (s *server) listTodos(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	done, limit := q.Get("done"), 100
	if done != "" && done != "true" && done != "false" {
		writeError(w, http.StatusBadRequest, "invalid_query", "done must be true or false")
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "invalid_query", "limit must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	s.mu.Lock()
	out := make([]todo, 0, len(s.todos))
	for _, t := range s.todos {
		if done == "" || strconv.FormatBool(t.Done) == done {
			out = append(out, t)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b todo) int { return a.seq - b.seq })
	writeJSON(w, http.StatusOK, out[:min(limit, len(out))])
}

func (s *server) getTodo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	t, found := s.todos[id]
	if found {
		s.views[id]++
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no todo with id "+id)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *server) updateTodo(w http.ResponseWriter, r *http.Request) {
	var in todoUpdate
	err := decodeBody(w, r, &in)
	if err == nil {
		err = in.check()
	}
	if err == nil && (in.Priority < 0 || in.Priority > 3) {
		err = errors.New("priority must be 1, 2 or 3")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	t, found := s.todos[id]
	if found {
		at := now()
		t.Title, t.Description, t.Done, t.Due, t.Tags = in.Title, in.Description, in.Done, in.Due, slices.Clone(in.Tags)
		if in.Priority != 0 {
			t.Priority = in.Priority
		}
		t.UpdatedAt = &at
		s.todos[id] = t
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no todo with id "+id)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *server) deleteTodo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	_, found := s.todos[id]
	delete(s.todos, id)
	delete(s.views, id)
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no todo with id "+id)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
