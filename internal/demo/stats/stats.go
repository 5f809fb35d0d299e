// Package stats is the demo system's statistics service: it takes the todo
// service's events (POST /events) and gives the counts (GET /stats), in memory.
package stats

import (
	"encoding/json"
	"net/http"
	"sync"
)

// The kinds of Event.
const (
	Created = "created"
	Updated = "updated"
	Deleted = "deleted"
)

// Event is the body of POST /events: something happened to a todo. Done
// says whether the todo is done after a created or updated event.
type Event struct {
	Kind   string `json:"kind"`
	TodoID string `json:"todoId"`
	Done   *bool  `json:"done,omitempty"`
}

// Counts is the body of GET /stats: events by kind, and the todos created
// and not deleted that are not done.
type Counts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
	Open    int `json:"open"`
}

type service struct {
	mu     sync.Mutex
	counts Counts
	done   map[string]bool // live todos: done or not
}

// New returns the statistics service, with every count at zero.
func New() http.Handler {
	s := &service{done: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", s.event)
	mux.HandleFunc("GET /stats", s.stats)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func (s *service) event(w http.ResponseWriter, r *http.Request) {
	var e Event
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	if err := dec.Decode(&e); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON: " + err.Error()})
		return
	}
	if e.TodoID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "todoId is required"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Kind {
	case Created, Updated:
		if e.Kind == Created {
			s.counts.Created++
		} else {
			s.counts.Updated++
		}
		s.done[e.TodoID] = e.Done != nil && *e.Done
	case Deleted:
		s.counts.Deleted++
		delete(s.done, e.TodoID)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "kind must be created, updated or deleted"})
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *service) stats(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	c := s.counts
	c.Open = 0
	for _, done := range s.done {
		if !done {
			c.Open++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, c)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
