// Package apiserver is a small in-memory JSON API over net/http: todos, users
// and their orders, reports, articles, health, an admin and an account endpoint.
// It gives specgate's inference tests a realistic server to record traffic from.
package apiserver

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Secrets are the credentials the server accepts. An empty value is never
// accepted, so a zero Secrets locks the protected endpoints.
type Secrets struct {
	Token   string // the bearer token of GET /users/me, which belongs to UserID(0)
	APIKey  string // the X-API-Key of GET /admin/metrics
	Session string // the session cookie of GET /account, which belongs to UserID(0)
}

// server is the API's state; mu guards everything that requests change.
type server struct {
	secrets  Secrets
	users    []user
	userIdx  map[string]int
	articles map[string]article

	mu       sync.Mutex
	todos    map[string]todo
	seq      int            // creation counter that orders the todo list
	views    map[string]int // GET /todos/{id} per todo
	requests int
}

// New returns the API as an http.Handler with an empty todo list and the
// fixed users, orders and articles that UserID and ArticleSlugs name.
func New(secrets Secrets) http.Handler {
	users := makeUsers()
	s := &server{
		secrets:  secrets,
		users:    users,
		userIdx:  make(map[string]int, len(users)),
		articles: makeArticles(users),
		todos:    map[string]todo{},
		views:    map[string]int{},
	}
	for i, u := range s.users {
		s.userIdx[u.ID] = i
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /todos", s.listTodos)
	mux.HandleFunc("POST /todos", s.createTodo)
	mux.HandleFunc("GET /todos/{id}", s.getTodo)
	mux.HandleFunc("PUT /todos/{id}", s.updateTodo)
	mux.HandleFunc("DELETE /todos/{id}", s.deleteTodo)
	mux.HandleFunc("GET /users/me", s.me)
	mux.HandleFunc("GET /users/{id}", s.getUser)
	mux.HandleFunc("GET /users/{id}/orders", s.listOrders)
	mux.HandleFunc("GET /users/{id}/orders/{orderId}", s.getOrder)
	mux.HandleFunc("GET /reports/{date}", s.report)
	mux.HandleFunc("GET /articles/{slug}", s.getArticle)
	mux.HandleFunc("GET /v1/health", ok)
	mux.HandleFunc("GET /v1/ready", ok)
	mux.HandleFunc("GET /stats", s.stats)
	mux.HandleFunc("GET /admin/metrics", s.metrics)
	mux.HandleFunc("GET /account", s.account)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

// apiError is the body of every 4xx answer.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

func ok(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// same compares a presented credential with the accepted one.
func same(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *server) me(w http.ResponseWriter, r *http.Request) {
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || !same(token, s.secrets.Token) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
		return
	}
	writeJSON(w, http.StatusOK, s.users[0])
}

func (s *server) stats(w http.ResponseWriter, _ *http.Request) {
	type views struct {
		Views int `json:"views"`
	}
	s.mu.Lock()
	out := make(map[string]views, len(s.todos))
	for id := range s.todos {
		out[id] = views{Views: s.views[id]}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	if !same(r.Header.Get("X-API-Key"), s.secrets.APIKey) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "a valid X-API-Key is required")
		return
	}
	s.mu.Lock()
	out := map[string]int{"requests": s.requests, "todos": len(s.todos), "users": len(s.users)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *server) account(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("session")
	if err != nil || !same(c.Value, s.secrets.Session) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "a valid session cookie is required")
		return
	}
	theme := "light"
	if c, err := r.Cookie("theme"); err == nil && c.Value != "" {
		theme = c.Value
	}
	u := s.users[0]
	writeJSON(w, http.StatusOK, map[string]string{"userId": u.ID, "name": u.Name, "email": u.Email, "theme": theme})
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return formatUUID(b)
}

// formatUUID sets the version 4 and variant bits of b and writes it 8-4-4-4-12.
func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
