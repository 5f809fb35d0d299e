package apiserver

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// UserCount is how many users the server knows: UserID(0) to UserID(UserCount-1).
const UserCount = 120

// UserID returns the id of the i-th user: a version 4 UUID derived from i,
// so that every server, and every recording, has the same users.
func UserID(i int) string {
	sum := sha256.Sum256([]byte("specgate-user-" + strconv.Itoa(i)))
	return formatUUID([16]byte(sum[:16]))
}

type user struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
	orders    []order
}

type order struct {
	ID        int       `json:"id"`
	UserID    string    `json:"userId"`
	Amount    float64   `json:"amount"`
	Currency  string    `json:"currency"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
}

var (
	firstNames = [...]string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Radia", "Niklaus"}
	lastNames  = [...]string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie"}
	statuses   = [...]string{"pending", "paid", "shipped"}
	epoch      = time.Date(2023, time.January, 2, 9, 0, 0, 0, time.UTC)
)

// makeUsers builds the fixed users: unique names and e-mail addresses, one
// admin in ten, and i%5 orders for user i whose amounts always have cents
// (a whole amount would be written as a JSON integer).
func makeUsers() []user {
	users := make([]user, UserCount)
	for i := range users {
		first, last := firstNames[i%len(firstNames)], lastNames[i/len(firstNames)%len(lastNames)]
		u := user{
			ID:        UserID(i),
			Name:      first + " " + last,
			Email:     strings.ToLower(first+"."+last) + "@example.com",
			Role:      "member",
			CreatedAt: epoch.Add(time.Duration(i) * 37 * time.Hour),
		}
		if i%10 == 0 {
			u.Role = "admin"
		}
		for k := range i % 5 {
			cents := 500 + (i*7919+k*104729)%45000
			if cents%100 == 0 {
				cents += 49
			}
			currency := "EUR"
			if (i+k)%3 == 0 {
				currency = "USD"
			}
			u.orders = append(u.orders, order{
				ID: 10000 + i*10 + k, UserID: u.ID, Amount: float64(cents) / 100, Currency: currency,
				Status: statuses[(i+2*k)%3], CreatedAt: u.CreatedAt.Add(time.Duration(k+1) * 26 * time.Hour),
			})
		}
		users[i] = u
	}
	return users
}

// lookupUser finds the user of the request's {id}, or answers 404.
func (s *server) lookupUser(w http.ResponseWriter, r *http.Request) (user, bool) {
	i, found := s.userIdx[r.PathValue("id")]
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no user with id "+r.PathValue("id"))
		return user{}, false
	}
	return s.users[i], true
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request) {
	if u, found := s.lookupUser(w, r); found {
		writeJSON(w, http.StatusOK, u)
	}
}

func (s *server) listOrders(w http.ResponseWriter, r *http.Request) {
	if u, found := s.lookupUser(w, r); found {
		writeJSON(w, http.StatusOK, append([]order{}, u.orders...))
	}
}

func (s *server) getOrder(w http.ResponseWriter, r *http.Request) {
	u, found := s.lookupUser(w, r)
	if !found {
		return
	}
	id, err := strconv.Atoi(r.PathValue("orderId"))
	for _, o := range u.orders {
		if err == nil && o.ID == id {
			writeJSON(w, http.StatusOK, o)
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "no order "+r.PathValue("orderId")+" for this user")
}

// report answers GET /reports/{date} with counts derived from the date alone;
// a status with no orders that day is left out of byStatus.
func (s *server) report(w http.ResponseWriter, r *http.Request) {
	date := r.PathValue("date")
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_date", "the date must look like 2024-01-31")
		return
	}
	day := int(t.Unix()/86400) & 0xffff
	counts := [...]int{day % 4, day * 7 % 17, day * 3 % 11}
	out := struct {
		Date     string         `json:"date"`
		Total    int            `json:"total"`
		ByStatus map[string]int `json:"byStatus"`
	}{Date: date, ByStatus: map[string]int{}}
	for i, n := range counts {
		if n > 0 {
			out.ByStatus[statuses[i]] = n
			out.Total += n
		}
	}
	writeJSON(w, http.StatusOK, out)
}
