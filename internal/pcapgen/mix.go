package pcapgen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Mix makes n exchanges of realistic traffic to a todo-style JSON API over
// keep-alive connections (1 to 100 exchanges each) from a few clients:
// GET, POST, PUT, PATCH and DELETE, bodies from about 100 bytes to 64 KB,
// about one response in ten chunked and one in ten gzip-encoded. The wire
// bytes come from net/http's writers, so they are valid HTTP/1.1. The same
// n and seed give the same connections.
func Mix(n int, seed int64) []Conn {
	m := &mixer{rng: rand.New(rand.NewPCG(uint64(seed), 0x632be59bd9b4e019))}
	m.zw, _ = gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	clients := []netip.Addr{
		netip.MustParseAddr("198.51.100.23"),
		netip.MustParseAddr("198.51.100.57"),
		netip.MustParseAddr("198.51.100.140"),
		netip.MustParseAddr("203.0.113.9"),
		netip.MustParseAddr("2001:db8:a::17"),
	}
	server4 := netip.MustParseAddr("203.0.113.10")
	server6 := netip.MustParseAddr("2001:db8:5::10")
	ports := make([]uint16, len(clients))
	for i := range ports {
		ports[i] = uint16(32768 + m.rng.IntN(20000))
	}

	var conns []Conn
	for n > 0 {
		k := m.connLength()
		k = min(k, n)
		n -= k
		ci := m.rng.IntN(len(clients))
		ports[ci]++
		if ports[ci] < 32768 {
			ports[ci] = 32768
		}
		server := server4
		if clients[ci].Is6() {
			server = server6
		}
		c := Conn{
			Client:    netip.AddrPortFrom(clients[ci], ports[ci]),
			Server:    netip.AddrPortFrom(server, 8080),
			Pipelined: m.rng.IntN(25) == 0,
			CloseWith: "fin",
		}
		if m.rng.IntN(10) == 0 {
			c.CloseWith = "rst"
		}
		ua := userAgents[m.rng.IntN(len(userAgents))]
		token := ""
		if m.rng.IntN(2) == 0 {
			token = m.word(32)
		}
		c.Exchanges = make([]Exchange, k)
		for i := range c.Exchanges {
			c.Exchanges[i] = m.exchange(ua, token)
		}
		conns = append(conns, c)
	}
	return conns
}

var userAgents = [...]string{
	"okhttp/4.12.0",
	"python-requests/2.31.0",
	"Go-http-client/1.1",
	"curl/8.5.0",
	"axios/1.6.7",
	"Java-http-client/21.0.2",
}

// mixer holds the state Mix draws from.
type mixer struct {
	rng    *rand.Rand
	zw     *gzip.Writer
	nextID int
	clock  time.Duration // advances the Date header
}

// connLength draws how many exchanges a connection carries: mostly a few,
// sometimes up to 100.
func (m *mixer) connLength() int {
	switch r := m.rng.IntN(10); {
	case r < 4:
		return 1 + m.rng.IntN(3)
	case r < 8:
		return 4 + m.rng.IntN(17)
	default:
		return 21 + m.rng.IntN(80)
	}
}

// bodySize draws a body size from about 100 bytes to 64 KB, most small.
func (m *mixer) bodySize() int {
	switch r := m.rng.IntN(100); {
	case r < 78:
		return 100 + m.rng.IntN(1000)
	case r < 97:
		return 1100 + m.rng.IntN(7000)
	default:
		return 8192 + m.rng.IntN(65536-8192-512)
	}
}

const letters = "abcdefghijklmnopqrstuvwxyz0123456789"

func (m *mixer) word(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[m.rng.IntN(len(letters))]
	}
	return string(b)
}

var noteWords = [...]string{
	"buy", "milk", "call", "the", "dentist", "review", "pull", "request", "deploy",
	"service", "before", "friday", "update", "docs", "for", "new", "endpoint",
	"fix", "flaky", "test", "in", "ci", "renew", "certificate", "plan", "sprint",
}

// sentence draws words until about n bytes.
func (m *mixer) sentence(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(noteWords[m.rng.IntN(len(noteWords))])
	}
	return b.String()
}

// todo is the API's resource.
type todo struct {
	ID       int       `json:"id,omitempty"`
	Title    string    `json:"title"`
	Done     bool      `json:"done"`
	Priority int       `json:"priority"`
	Tags     []string  `json:"tags"`
	Due      string    `json:"due,omitempty"`
	Owner    *owner    `json:"owner,omitempty"`
	Notes    string    `json:"notes,omitempty"`
	Subtasks []subtask `json:"subtasks,omitempty"`
}

type owner struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type subtask struct {
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

type page struct {
	Items  []todo `json:"items"`
	Total  int    `json:"total"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
}

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// newTodo draws a todo whose JSON is about size bytes.
func (m *mixer) newTodo(id, size int) todo {
	t := todo{
		ID:       id,
		Title:    m.sentence(12 + m.rng.IntN(30)),
		Done:     m.rng.IntN(3) == 0,
		Priority: 1 + m.rng.IntN(5),
		Tags:     []string{},
	}
	for range m.rng.IntN(4) {
		t.Tags = append(t.Tags, noteWords[m.rng.IntN(len(noteWords))])
	}
	if m.rng.IntN(2) == 0 {
		t.Due = baseTime().Add(time.Duration(m.rng.IntN(90*24)) * time.Hour).Format(time.RFC3339)
	}
	if m.rng.IntN(3) != 0 {
		oid := 1 + m.rng.IntN(50)
		t.Owner = &owner{ID: oid, Name: "user" + strconv.Itoa(oid), Email: "user" + strconv.Itoa(oid) + "@example.com"}
	}
	if rest := size - 200; rest > 0 {
		if rest > 400 && m.rng.IntN(2) == 0 {
			for rest > 0 {
				st := subtask{Title: m.sentence(20 + m.rng.IntN(40)), Done: m.rng.IntN(2) == 0}
				t.Subtasks = append(t.Subtasks, st)
				rest -= len(st.Title) + 30
			}
		} else {
			t.Notes = m.sentence(rest)
		}
	}
	return t
}

// exchange draws one request and its response.
func (m *mixer) exchange(ua, token string) Exchange {
	m.nextID++
	m.clock += time.Duration(1+m.rng.IntN(200)) * time.Millisecond
	var (
		method, target string
		reqBody        []byte
		status         int
		respBody       any
		location       string
	)
	id := 1 + m.rng.IntN(5000)
	switch r := m.rng.IntN(100); {
	case r < 30:
		method = http.MethodGet
		limit := 10 * (1 + m.rng.IntN(5))
		offset := limit * m.rng.IntN(10)
		target = fmt.Sprintf("/api/v1/todos?limit=%d&offset=%d", limit, offset)
		if m.rng.IntN(3) == 0 {
			target += "&done=" + strconv.FormatBool(m.rng.IntN(2) == 0)
		}
		size := m.bodySize()
		p := page{Items: []todo{}, Total: 1000 + m.rng.IntN(4000), Offset: offset, Limit: limit}
		for got := 40; got < size && len(p.Items) < limit*4; {
			t := m.newTodo(1+m.rng.IntN(5000), min(size-got, 300+m.rng.IntN(600)))
			p.Items = append(p.Items, t)
			got += 250 + len(t.Notes) + 50*len(t.Subtasks)
		}
		status, respBody = http.StatusOK, p
	case r < 60:
		method = http.MethodGet
		target = "/api/v1/todos/" + strconv.Itoa(id)
		if m.rng.IntN(20) == 0 {
			status, respBody = http.StatusNotFound, apiError{Error: "todo " + strconv.Itoa(id) + " not found", Code: "not_found"}
		} else {
			status, respBody = http.StatusOK, m.newTodo(id, m.bodySize())
		}
	case r < 75:
		method = http.MethodPost
		target = "/api/v1/todos"
		t := m.newTodo(0, m.bodySize())
		reqBody = mustJSON(t)
		t.ID = 5000 + m.nextID
		status, respBody = http.StatusCreated, t
		location = "/api/v1/todos/" + strconv.Itoa(t.ID)
	case r < 85:
		method = http.MethodPut
		target = "/api/v1/todos/" + strconv.Itoa(id)
		t := m.newTodo(0, m.bodySize())
		reqBody = mustJSON(t)
		t.ID = id
		status, respBody = http.StatusOK, t
	case r < 90:
		method = http.MethodPatch
		target = "/api/v1/todos/" + strconv.Itoa(id)
		reqBody = mustJSON(map[string]bool{"done": true})
		t := m.newTodo(id, m.bodySize())
		t.Done = true
		status, respBody = http.StatusOK, t
	default:
		method = http.MethodDelete
		target = "/api/v1/todos/" + strconv.Itoa(id)
		status = http.StatusNoContent
	}

	chunked := m.rng.IntN(10) == 0
	gzipped := m.rng.IntN(10) == 0 && respBody != nil

	req, _ := http.NewRequest(method, "http://todo.example.com:8080"+target, bytes.NewReader(reqBody))
	if reqBody == nil {
		req.Body, req.ContentLength = nil, 0
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Request-Id", m.word(8)+"-"+m.word(4)+"-"+m.word(12))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if gzipped {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	var reqWire bytes.Buffer
	if err := req.Write(&reqWire); err != nil {
		panic("pcapgen: writing a request: " + err.Error()) // only on a bug here
	}

	resp := &http.Response{
		Status:     strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode: status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Request:    req,
	}
	resp.Header.Set("Date", baseTime().Add(m.clock).Format(http.TimeFormat))
	resp.Header.Set("Server", "todo-service/1.4.2")
	if location != "" {
		resp.Header.Set("Location", location)
	}
	if respBody != nil {
		body := mustJSON(respBody)
		resp.Header.Set("Content-Type", "application/json; charset=utf-8")
		if gzipped {
			var zb bytes.Buffer
			m.zw.Reset(&zb)
			m.zw.Write(body)
			m.zw.Close()
			body = zb.Bytes()
			resp.Header.Set("Content-Encoding", "gzip")
			resp.Header.Set("Vary", "Accept-Encoding")
		}
		if chunked {
			resp.ContentLength = -1
			resp.TransferEncoding = []string{"chunked"}
			resp.Body = io.NopCloser(&pieces{b: body, rng: m.rng})
		} else {
			resp.ContentLength = int64(len(body))
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	var respWire bytes.Buffer
	if err := resp.Write(&respWire); err != nil {
		panic("pcapgen: writing a response: " + err.Error()) // only on a bug here
	}
	delay := time.Duration(300+m.rng.IntN(2000)) * time.Microsecond
	if m.rng.IntN(20) == 0 {
		delay += time.Duration(m.rng.IntN(80)) * time.Millisecond
	}
	return Exchange{Request: reqWire.Bytes(), Response: respWire.Bytes(), Delay: delay}
}

// pieces hands out a body a few hundred bytes to a few KB at a time, so
// that a chunked body has several chunks.
type pieces struct {
	b   []byte
	rng *rand.Rand
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(b), len(p.b), 256+p.rng.IntN(4096))
	copy(b, p.b[:n])
	p.b = p.b[n:]
	return n, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("pcapgen: encoding JSON: " + err.Error()) // only on a bug here
	}
	return b
}
