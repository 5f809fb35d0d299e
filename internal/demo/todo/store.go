package todo

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Todo is one todo as the store keeps it, the same for every version.
type Todo struct {
	ID          string
	Title       string
	Description string
	Done        bool
	Priority    int // 1 low, 2 normal, 3 high
	CreatedAt   time.Time
	Tags        []string
	Owner       string // set by clients of the v1-new-required variant only
	Seq         int64  // creation order, assigned by the store
}

// Store keeps the todos: in memory, or in Redis.
type Store interface {
	// Create stores a new todo and returns it with its Seq assigned.
	Create(ctx context.Context, t Todo) (Todo, error)
	// Get returns the todo with id; ok is false when there is none.
	Get(ctx context.Context, id string) (t Todo, ok bool, err error)
	// Replace overwrites the stored todo with t's ID; ok is false when
	// there is none.
	Replace(ctx context.Context, t Todo) (ok bool, err error)
	// Delete removes the todo with id; ok is false when there was none.
	Delete(ctx context.Context, id string) (ok bool, err error)
	// List returns every todo in creation order.
	List(ctx context.Context) ([]Todo, error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// Memory is a Store in memory. The zero value is an empty store.
type Memory struct {
	mu    sync.Mutex
	seq   int64
	todos map[string]Todo
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, t Todo) (Todo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.todos == nil {
		m.todos = map[string]Todo{}
	}
	m.seq++
	t.Seq = m.seq
	t.Tags = slices.Clone(t.Tags)
	m.todos[t.ID] = t
	return t, nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, id string) (Todo, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.todos[id]
	t.Tags = slices.Clone(t.Tags)
	return t, ok, nil
}

// Replace implements Store.
func (m *Memory) Replace(_ context.Context, t Todo) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.todos[t.ID]
	if ok {
		t.Seq = old.Seq
		t.Tags = slices.Clone(t.Tags)
		m.todos[t.ID] = t
	}
	return ok, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.todos[id]
	delete(m.todos, id)
	return ok, nil
}

// List implements Store.
func (m *Memory) List(context.Context) ([]Todo, error) {
	m.mu.Lock()
	out := make([]Todo, 0, len(m.todos))
	for _, t := range m.todos {
		t.Tags = slices.Clone(t.Tags)
		out = append(out, t)
	}
	m.mu.Unlock()
	sortBySeq(out)
	return out, nil
}

// Ping implements Store; memory is always there.
func (m *Memory) Ping(context.Context) error { return nil }

func sortBySeq(ts []Todo) {
	slices.SortFunc(ts, func(a, b Todo) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.ID, b.ID))
	})
}
