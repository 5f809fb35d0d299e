// Package todo is the demo system's todo service: it takes REST+JSON requests
// on todos and gives JSON answers the way one Version (v1, v2, v3, a variant) does.
//
// Every route but GET /healthz wants a bearer token (any will do): the demo
// shows that specgate keeps it out of what it writes. Todos live in a Store,
// in memory or in Redis, and every write is reported to the statistics
// service (POST {StatsURL}/events); a failed report is logged, not fatal.
package todo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/specgate/specgate/internal/demo/stats"
)

// Config configures the service.
type Config struct {
	Version Version // the zero Version is v1
	Store   Store   // nil: a new in-memory store
	// StatsURL is the statistics service's base URL; "" reports nothing.
	StatsURL string
	// Client sends the reports; nil: a client with a 2 s timeout.
	Client *http.Client
	// Log receives failed reports and store errors; nil: log.Default().
	Log *log.Logger
	// Now gives the creation time of new todos; nil: time.Now.
	Now func() time.Time
}

type service struct {
	v      Version
	store  Store
	stats  string
	client *http.Client
	log    *log.Logger
	now    func() time.Time
}

// New returns the service as an http.Handler.
func New(cfg Config) http.Handler {
	s := &service{v: cfg.Version, store: cfg.Store, stats: strings.TrimSuffix(cfg.StatsURL, "/"),
		client: cfg.Client, log: cfg.Log, now: cfg.Now}
	if s.v.Name == "" {
		s.v, _ = Lookup("v1")
	}
	if s.store == nil {
		s.store = &Memory{}
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 2 * time.Second}
	}
	if s.log == nil {
		s.log = log.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /todos", s.list)
	mux.HandleFunc("POST /todos", s.create)
	if s.v.ClearDone {
		mux.HandleFunc("DELETE /todos", s.clearDone)
	}
	mux.HandleFunc("GET /todos/{id}", s.get)
	if !s.v.NoUpdate {
		mux.HandleFunc("PUT /todos/{id}", s.update)
	}
	mux.HandleFunc("DELETE /todos/{id}", s.remove)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && !hasBearer(r) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, http.StatusUnauthorized, "a bearer token is required")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func hasBearer(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

func (s *service) health(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Printf("todo: health: %v", err)
		writeError(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.v.Name})
}

func (s *service) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var done *bool
	if v := q.Get("done"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil || (v != "true" && v != "false") {
			writeError(w, http.StatusBadRequest, "done must be true or false")
			return
		}
		done = &b
	}
	limit := -1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit must be an integer from 1 to 1000")
			return
		}
		limit = n
	}
	todos, err := s.store.List(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	out := make([]wireTodo, 0, len(todos))
	for _, t := range todos {
		if limit >= 0 && len(out) == limit {
			break
		}
		if done == nil || t.Done == *done {
			out = append(out, s.v.wire(t))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *service) create(w http.ResponseWriter, r *http.Request) {
	in, ok := s.decode(w, r)
	if !ok {
		return
	}
	if s.v.RequireOwner && in.owner == "" {
		writeError(w, http.StatusBadRequest, "owner is required")
		return
	}
	t := Todo{
		ID:          newID(),
		Title:       in.title,
		Description: in.description,
		Done:        in.done,
		Priority:    in.priority,
		CreatedAt:   s.now().UTC().Truncate(time.Millisecond),
		Tags:        in.tags,
		Owner:       in.owner,
	}
	t, err := s.store.Create(r.Context(), t)
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.report(r.Context(), stats.Created, t)
	w.Header().Set("Location", "/todos/"+t.ID)
	writeJSON(w, http.StatusCreated, s.v.wire(t))
}

func (s *service) get(w http.ResponseWriter, r *http.Request) {
	t, ok, err := s.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no such todo")
		return
	}
	writeJSON(w, http.StatusOK, s.v.wire(t))
}

// update replaces what a client may write (title, description, done,
// priority, tags, and an owner when given); the id and creation time stay.
func (s *service) update(w http.ResponseWriter, r *http.Request) {
	t, ok, err := s.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no such todo")
		return
	}
	in, ok := s.decode(w, r)
	if !ok {
		return
	}
	t.Title, t.Description, t.Done, t.Priority, t.Tags = in.title, in.description, in.done, in.priority, in.tags
	if in.owner != "" {
		t.Owner = in.owner
	}
	if ok, err = s.store.Replace(r.Context(), t); err != nil {
		s.storeError(w, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no such todo")
		return
	}
	s.report(r.Context(), stats.Updated, t)
	writeJSON(w, http.StatusOK, s.v.wire(t))
}

func (s *service) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ok, err := s.store.Delete(r.Context(), id)
	if err != nil {
		s.storeError(w, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no such todo")
		return
	}
	s.report(r.Context(), stats.Deleted, Todo{ID: id})
	w.WriteHeader(http.StatusNoContent)
}

// clearDone deletes every done todo (v3).
func (s *service) clearDone(w http.ResponseWriter, r *http.Request) {
	todos, err := s.store.List(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	n := 0
	for _, t := range todos {
		if !t.Done {
			continue
		}
		ok, err := s.store.Delete(r.Context(), t.ID)
		if err != nil {
			s.storeError(w, err)
			return
		}
		if ok {
			n++
			s.report(r.Context(), stats.Deleted, Todo{ID: t.ID})
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

func (s *service) storeError(w http.ResponseWriter, err error) {
	s.log.Printf("todo: %v", err)
	writeError(w, http.StatusInternalServerError, "storage unavailable")
}

// report tells the statistics service about a write. It waits for the
// answer (so that GET /stats is current once the write is answered) but
// never fails the write.
func (s *service) report(ctx context.Context, kind string, t Todo) {
	if s.stats == "" {
		return
	}
	e := stats.Event{Kind: kind, TodoID: t.ID}
	if kind != stats.Deleted {
		e.Done = &t.Done
	}
	if err := s.send(ctx, e); err != nil {
		s.log.Printf("todo: report %s %s to the statistics service: %v", kind, t.ID, err)
	}
}

func (s *service) send(ctx context.Context, e stats.Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.stats+"/events", strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "todo-service/"+s.v.Name)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s/events: status %d", s.stats, resp.StatusCode)
	}
	return nil
}

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the error body every 4xx and 5xx carries.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
