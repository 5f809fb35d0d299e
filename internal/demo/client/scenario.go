package client

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// todoJSON is a todo as the v1 suite reads it.
type todoJSON struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Descripton string    `json:"descripton"`
	Done       bool      `json:"done"`
	Priority   int       `json:"priority"`
	CreatedAt  time.Time `json:"createdAt"`
	Tags       []string  `json:"tags"`
}

// newTodo is the body the suite sends to create or replace a todo.
type newTodo struct {
	Title      string   `json:"title"`
	Descripton string   `json:"descripton,omitempty"`
	Done       bool     `json:"done,omitempty"`
	Priority   int      `json:"priority,omitempty"`
	Tags       []string `json:"tags,omitempty"`
}

// model is what the suite expects of one todo it created. It keeps the
// description to send it again, but never checks it.
type model struct {
	id         string
	title      string
	descripton string
	done       bool
	priority   int
	tags       []string
	createdAt  time.Time
}

var (
	verbs   = []string{"buy", "fix", "call", "write", "review", "plan", "clean", "book", "return", "water"}
	objects = []string{"milk", "the bike", "the plumber", "tests", "the budget", "a trip", "the garage", "flights", "library books", "the plants", "the release notes", "dinner"}
	details = []string{"before the weekend", "ask about the price", "two of them", "see the list on the fridge", "after lunch", "the usual place"}
	tagSet  = []string{"home", "work", "errand", "urgent", "later", "garden", "family", "money"}
)

// shapes are the todos the suite creates, by the fields each one sets
// besides its title: the same in every run, so that a run's traffic has the
// same shapes as the last one's and only the values change.
var shapes = []struct{ descripton, priority, tags bool }{
	{true, true, true},
	{false, false, false},
	{false, true, false},
	{true, false, true},
}

// draw returns a todo of the i-th shape with random values, and what the
// service must answer.
func (r *runner) draw(i int) (newTodo, model) {
	shape := shapes[i%len(shapes)]
	in := newTodo{Title: verbs[r.rng.IntN(len(verbs))] + " " + objects[r.rng.IntN(len(objects))]}
	if shape.descripton {
		in.Descripton = details[r.rng.IntN(len(details))]
	}
	m := model{title: in.Title, descripton: in.Descripton, priority: 2}
	if shape.priority {
		in.Priority = 1 + r.rng.IntN(3)
		m.priority = in.Priority
	}
	if shape.tags {
		for _, j := range r.rng.Perm(len(tagSet))[:1+r.rng.IntN(3)] {
			in.Tags = append(in.Tags, tagSet[j])
		}
	}
	m.tags = in.Tags
	return in, m
}

// check compares an answer with the model; op and the field name the
// failure. The field skip could not be read, which is a failure already.
func (r *runner) check(op string, got todoJSON, want model, skip string) {
	if got.ID != want.id {
		r.failf(op+" id", "%s: id %q, want %q", op, got.ID, want.id)
	}
	if got.Title != want.title {
		r.failf(op+" title", "%s: title %q, want %q", op, got.Title, want.title)
	}
	if got.Done != want.done {
		r.failf(op+" done", "%s: done %v, want %v", op, got.Done, want.done)
	}
	switch {
	case skip == "priority":
	case got.Priority == 0:
		r.failf(op+" priority", "%s: no priority, want %d", op, want.priority)
	case got.Priority != want.priority:
		r.failf(op+" priority", "%s: priority %d, want %d", op, got.Priority, want.priority)
	}
	if !slices.Equal(got.Tags, want.tags) {
		r.failf(op+" tags", "%s: tags %q, want %q", op, got.Tags, want.tags)
	}
	if !want.createdAt.IsZero() && !got.CreatedAt.Equal(want.createdAt) {
		r.failf(op+" createdAt", "%s: createdAt %v, want %v", op, got.CreatedAt, want.createdAt)
	}
}

// scenario is the suite: every operation of v1 (and DELETE /todos with
// clearDone), with negative tests, then GET /stats on the statistics
// service.
func (r *runner) scenario(clearDone bool) {
	base := r.todo
	start := time.Now().Add(-time.Minute)

	// Create a few todos.
	var todos []*model
	created := 0
	for i := range shapes {
		in, m := r.draw(i)
		const op = "POST /todos"
		resp, ok := r.expect(base, http.MethodPost, "/todos", op, in, http.StatusCreated)
		if !ok {
			continue
		}
		var got todoJSON
		dok, bad := r.decode(op, resp, &got)
		if !dok || got.ID == "" {
			r.failf(op+" id", "%s: no id in %s", op, snippet(resp.body))
			continue
		}
		m.id = got.ID
		r.check(op, got, m, bad)
		if got.CreatedAt.Before(start) || got.CreatedAt.After(time.Now().Add(time.Minute)) {
			r.failf(op+" createdAt", "%s: createdAt %v is not now", op, got.CreatedAt)
		}
		if loc := resp.header.Get("Location"); loc != "/todos/"+got.ID {
			r.failf(op+" location", "%s: Location %q, want /todos/%s", op, loc, got.ID)
		}
		m.createdAt = got.CreatedAt
		todos = append(todos, &m)
		created++
	}
	r.expectError(base, http.MethodPost, "/todos", "POST /todos without a title", map[string]any{"descripton": "no title"}, http.StatusBadRequest)
	r.expectError(base, http.MethodPost, "/todos", "POST /todos with priority 7", map[string]any{"title": "too urgent", "priority": 7}, http.StatusBadRequest)

	// Read them back, one by one and in lists.
	for _, m := range todos {
		r.getOne(m)
	}
	all, bad := r.list("", 0)
	for _, m := range todos {
		if got, ok := find(all, m.id); !ok {
			r.failf("GET /todos missing", "GET /todos: todo %s is missing", m.id)
		} else {
			r.check("GET /todos", got, *m, bad)
		}
	}
	limit := 1 + r.rng.IntN(2)
	list, _ := r.list("false", limit)
	for _, t := range list {
		if t.Done {
			r.failf("GET /todos?done=false done", "GET /todos?done=false: todo %s is done", t.ID)
		}
	}
	r.expectError(base, http.MethodGet, "/todos?done=maybe", "GET /todos?done=maybe", nil, http.StatusBadRequest)

	// Mark the first half done, with a new title.
	updates := 0
	for _, m := range todos[:(len(todos)+1)/2] {
		const op = "PUT /todos/{id}"
		in := newTodo{Title: m.title + " (done)", Descripton: m.descripton, Done: true, Priority: m.priority, Tags: m.tags}
		resp, ok := r.expect(base, http.MethodPut, "/todos/"+m.id, op, in, http.StatusOK)
		if !ok {
			continue
		}
		m.title, m.done = in.Title, true
		updates++
		var got todoJSON
		if dok, bad := r.decode(op, resp, &got); dok {
			r.check(op, got, *m, bad)
		}
		r.getOne(m)
	}
	r.expectError(base, http.MethodPut, "/todos/"+r.missingID(), "PUT /todos/{id} of a missing todo",
		newTodo{Title: "nobody"}, http.StatusNotFound)
	list, _ = r.list("true", 0)
	for _, t := range list {
		if !t.Done {
			r.failf("GET /todos?done=true done", "GET /todos?done=true: todo %s is not done", t.ID)
		}
	}

	// v3: clear every done todo at once.
	deletes := 0
	if clearDone {
		const op = "DELETE /todos"
		resp, ok := r.expect(base, http.MethodDelete, "/todos", op, nil, http.StatusOK)
		var got struct {
			Deleted *int `json:"deleted"`
		}
		if dok, _ := r.decode(op, resp, &got); ok && dok {
			done := 0
			for _, m := range todos {
				if m.done {
					done++
				}
			}
			switch {
			case got.Deleted == nil:
				r.failf(op+" deleted", "%s: no deleted count in %s", op, snippet(resp.body))
			case *got.Deleted < done:
				r.failf(op+" deleted", "%s: deleted %d, want at least %d", op, *got.Deleted, done)
			default:
				deletes += *got.Deleted
			}
			todos = slices.DeleteFunc(todos, func(m *model) bool { return m.done })
		}
		if left, _ := r.list("true", 0); len(left) != 0 {
			r.failf(op+" left", "%s: %d done todos left", op, len(left))
		}
	}

	// Delete the last todo; it is gone after.
	if len(todos) > 0 {
		m := todos[len(todos)-1]
		if _, ok := r.expect(base, http.MethodDelete, "/todos/"+m.id, "DELETE /todos/{id}", nil, http.StatusNoContent); ok {
			deletes++
			r.expectError(base, http.MethodGet, "/todos/"+m.id, "GET /todos/{id} after DELETE", nil, http.StatusNotFound)
			r.expectError(base, http.MethodDelete, "/todos/"+m.id, "DELETE /todos/{id} twice", nil, http.StatusNotFound)
		}
	}
	r.expectError(base, http.MethodGet, "/todos/"+r.missingID(), "GET /todos/{id} of a missing todo", nil, http.StatusNotFound)

	// The statistics service counted at least this run's writes (it may
	// have seen other runs' too).
	if r.stats == "" {
		return
	}
	if got, ok := r.statsCounts(); ok && (got.Created < created || got.Updated < updates || got.Deleted < deletes) {
		r.failf("GET /stats counts", "GET /stats: %+v, want at least %d created, %d updated, %d deleted",
			got, created, updates, deletes)
	}
}

// getOne reads one todo and checks it against the model.
func (r *runner) getOne(m *model) {
	const op = "GET /todos/{id}"
	resp, ok := r.expect(r.todo, http.MethodGet, "/todos/"+m.id, op, nil, http.StatusOK)
	if !ok {
		return
	}
	var got todoJSON
	if dok, bad := r.decode(op, resp, &got); dok {
		r.check(op, got, *m, bad)
	}
}

// list reads GET /todos with the done and limit filters ("" and 0 for
// none) and checks the limit; bad is a field that could not be read.
func (r *runner) list(done string, limit int) (list []todoJSON, bad string) {
	q := url.Values{}
	if done != "" {
		q.Set("done", done)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path, op := "/todos", "GET /todos"
	if len(q) > 0 {
		path += "?" + q.Encode()
		op += "?" + q.Encode()
	}
	resp, ok := r.expect(r.todo, http.MethodGet, path, op, nil, http.StatusOK)
	if !ok {
		return nil, ""
	}
	if ok, bad = r.decode(op, resp, &list); !ok {
		return nil, ""
	}
	if limit > 0 && len(list) > limit {
		r.failf(op+" limit", "%s: %d todos, want at most %d", op, len(list), limit)
	}
	return list, bad
}

func find(list []todoJSON, id string) (todoJSON, bool) {
	i := slices.IndexFunc(list, func(t todoJSON) bool { return t.ID == id })
	if i < 0 {
		return todoJSON{}, false
	}
	return list[i], true
}

// missingID returns a well-formed id that no todo has.
func (r *runner) missingID() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(r.rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
