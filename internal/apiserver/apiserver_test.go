package apiserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	secret = Secrets{Token: "tok-1", APIKey: "key-1", Session: "sess-1"}
)

// call sends one request to h and returns the status and the decoded JSON body
// (nil when there is none). Headers come as name, value pairs.
func call(t *testing.T, h http.Handler, method, path, body string, header ...string) (int, any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var v any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v: %q", method, path, err, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return rec.Code, v
}

func object(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("want a JSON object, got %#v", v)
	}
	return m
}

func wantError(t *testing.T, v any, code string) {
	t.Helper()
	m := object(t, v)
	if m["code"] != code || m["error"] == "" || len(m) != 2 {
		t.Errorf("error body %v, want {error, code: %s}", m, code)
	}
}

func TestTodoLifecycle(t *testing.T) {
	h := New(secret)
	st, v := call(t, h, "POST", "/todos", `{"title":"ship it","description":"soon","due":"2024-01-31","tags":["a","b"]}`)
	if st != http.StatusCreated {
		t.Fatalf("POST: %d %v", st, v)
	}
	full := object(t, v)
	id, _ := full["id"].(string)
	if !uuidV4.MatchString(id) || full["description"] != "soon" || full["due"] != "2024-01-31" || len(full["tags"].([]any)) != 2 {
		t.Errorf("created todo %v", full)
	}
	if _, err := time.Parse(time.RFC3339, full["createdAt"].(string)); err != nil {
		t.Errorf("createdAt: %v", err)
	}
	if u, present := full["updatedAt"]; !present || u != nil {
		t.Errorf("updatedAt of a new todo: %v (present %v), want null", u, present)
	}
	if full["done"] != false || full["priority"] != 2.0 {
		t.Errorf("done/priority of a new todo: %v %v", full["done"], full["priority"])
	}

	_, v = call(t, h, "POST", "/todos", `{"title":"bare"}`)
	for _, k := range []string{"description", "due", "tags"} {
		if _, present := object(t, v)[k]; present {
			t.Errorf("%s present in a todo without it: %v", k, v)
		}
	}

	st, v = call(t, h, "PUT", "/todos/"+id, `{"title":"shipped","done":true,"priority":3}`)
	upd := object(t, v)
	if st != http.StatusOK || upd["done"] != true || upd["priority"] != 3.0 || upd["title"] != "shipped" {
		t.Fatalf("PUT: %d %v", st, upd)
	}
	if _, err := time.Parse(time.RFC3339, upd["updatedAt"].(string)); err != nil {
		t.Errorf("updatedAt after PUT: %v", err)
	}
	if _, present := upd["tags"]; present {
		t.Errorf("PUT without tags kept them: %v", upd)
	}
	if st, v = call(t, h, "GET", "/todos/"+id, ""); st != http.StatusOK || object(t, v)["title"] != "shipped" {
		t.Errorf("GET after PUT: %d %v", st, v)
	}
	if st, v = call(t, h, "DELETE", "/todos/"+id, ""); st != http.StatusNoContent || v != nil {
		t.Errorf("DELETE: %d %v", st, v)
	}
	for _, method := range []string{"GET", "DELETE"} {
		st, v = call(t, h, method, "/todos/"+id, "")
		if st != http.StatusNotFound {
			t.Errorf("%s of a deleted todo: %d", method, st)
		}
		wantError(t, v, "not_found")
	}
	st, v = call(t, h, "PUT", "/todos/"+id, `{"title":"x"}`)
	if st != http.StatusNotFound {
		t.Errorf("PUT of a deleted todo: %d", st)
	}
	wantError(t, v, "not_found")
}

func TestInvalidTodoBodies(t *testing.T) {
	h := New(secret)
	_, v := call(t, h, "POST", "/todos", `{"title":"exists"}`)
	id := object(t, v)["id"].(string)
	for _, tc := range []struct{ method, body string }{
		{"POST", ``},
		{"POST", `{"description":"no title"}`},
		{"POST", `{"title":"  "}`},
		{"POST", `{"title":"x","due":"31/01/2024"}`},
		{"POST", `{"title":"x","tags":"one"}`},
		{"POST", `{"title":"x","owner":"someone"}`},
		{"POST", `{"title":"x","done":true}`},
		{"PUT", `{"title":"x","priority":4}`},
		{"PUT", `{"done":true}`},
		{"PUT", `[1]`},
	} {
		path := "/todos"
		if tc.method == "PUT" {
			path += "/" + id
		}
		st, v := call(t, h, tc.method, path, tc.body)
		if st != http.StatusBadRequest {
			t.Errorf("%s %s: %d, want 400", tc.method, tc.body, st)
			continue
		}
		wantError(t, v, "invalid_body")
	}
}

func TestListTodos(t *testing.T) {
	h := New(secret)
	var ids []string
	for _, title := range []string{"one", "two", "three", "four"} {
		_, v := call(t, h, "POST", "/todos", `{"title":"`+title+`"}`)
		ids = append(ids, object(t, v)["id"].(string))
	}
	call(t, h, "PUT", "/todos/"+ids[1], `{"title":"two","done":true}`)
	titles := func(path string) string {
		st, v := call(t, h, "GET", path, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, st, v)
		}
		var out []string
		for _, td := range v.([]any) {
			out = append(out, object(t, td)["title"].(string))
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		"/todos":                    "one,two,three,four",
		"/todos?done=true":          "two",
		"/todos?done=false&limit=2": "one,three",
		"/todos?limit=1":            "one",
	} {
		if got := titles(path); got != want {
			t.Errorf("GET %s: %s, want %s", path, got, want)
		}
	}
	for _, q := range []string{"done=yes", "limit=0", "limit=x", "limit=101"} {
		st, v := call(t, h, "GET", "/todos?"+q, "")
		if st != http.StatusBadRequest {
			t.Errorf("GET /todos?%s: %d", q, st)
		}
		wantError(t, v, "invalid_query")
	}
	if st, v := call(t, h, "GET", "/todos", ""); st != http.StatusOK || v == nil {
		t.Errorf("an empty list must be [], got %d %v", st, v)
	}
}

func TestUsers(t *testing.T) {
	h := New(secret)
	seen := map[string]bool{}
	for i := range UserCount {
		id := UserID(i)
		if !uuidV4.MatchString(id) || seen[id] {
			t.Fatalf("UserID(%d) = %s: not a fresh UUID v4", i, id)
		}
		seen[id] = true
		st, v := call(t, h, "GET", "/users/"+id, "")
		u := object(t, v)
		if st != http.StatusOK || u["id"] != id || !strings.HasSuffix(u["email"].(string), "@example.com") || u["name"] == "" {
			t.Fatalf("GET /users/%s: %d %v", id, st, u)
		}
		if seen[u["email"].(string)] {
			t.Errorf("e-mail %s twice", u["email"])
		}
		seen[u["email"].(string)] = true
	}
	st, v := call(t, h, "GET", "/users/"+UserID(UserCount), "")
	if st != http.StatusNotFound {
		t.Errorf("unknown user: %d", st)
	}
	wantError(t, v, "not_found")

	for _, auth := range []string{"", "Bearer", "Bearer tok-2", "Basic tok-1", "bearer tok-1"} {
		st, v := call(t, h, "GET", "/users/me", "", "Authorization", auth)
		if st != http.StatusUnauthorized {
			t.Errorf("/users/me with %q: %d", auth, st)
		}
		wantError(t, v, "unauthorized")
	}
	st, v = call(t, h, "GET", "/users/me", "", "Authorization", "Bearer tok-1")
	if st != http.StatusOK || object(t, v)["id"] != UserID(0) {
		t.Errorf("/users/me: %d %v", st, v)
	}
	if st, _ := call(t, New(Secrets{}), "GET", "/users/me", "", "Authorization", "Bearer "); st != http.StatusUnauthorized {
		t.Errorf("an empty token was accepted: %d", st)
	}
}

func TestOrders(t *testing.T) {
	h := New(secret)
	orders := 0
	for i := range UserCount {
		st, v := call(t, h, "GET", "/users/"+UserID(i)+"/orders", "")
		list, ok := v.([]any)
		if st != http.StatusOK || !ok {
			t.Fatalf("orders of user %d: %d %v", i, st, v)
		}
		for _, o := range list {
			m := object(t, o)
			amount := m["amount"].(float64)
			if _, cents, _ := strings.Cut(strconv.FormatFloat(amount, 'f', -1, 64), "."); cents == "" || len(cents) > 2 {
				t.Errorf("amount %v is not in cents, or is whole", amount)
			}
			if m["currency"] != "EUR" && m["currency"] != "USD" ||
				m["status"] != "pending" && m["status"] != "paid" && m["status"] != "shipped" || m["userId"] != UserID(i) {
				t.Errorf("order %v", m)
			}
			id := m["id"].(float64)
			st, v := call(t, h, "GET", "/users/"+UserID(i)+"/orders/"+strconv.Itoa(int(id)), "")
			if st != http.StatusOK || object(t, v)["id"] != id {
				t.Errorf("order %v by id: %d %v", id, st, v)
			}
			orders++
		}
	}
	if orders < 100 {
		t.Errorf("only %d orders", orders)
	}
	for _, path := range []string{"/users/" + UserID(1) + "/orders/1", "/users/" + UserID(1) + "/orders/x", "/users/nobody/orders"} {
		st, v := call(t, h, "GET", path, "")
		if st != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, st)
		}
		wantError(t, v, "not_found")
	}
}

func TestReports(t *testing.T) {
	h := New(secret)
	missing := 0
	for day := range 40 {
		date := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day).Format(time.DateOnly)
		st, v := call(t, h, "GET", "/reports/"+date, "")
		r := object(t, v)
		if st != http.StatusOK || r["date"] != date {
			t.Fatalf("report %s: %d %v", date, st, r)
		}
		sum := 0.0
		by := object(t, r["byStatus"])
		for k, n := range by {
			if k != "pending" && k != "paid" && k != "shipped" || n.(float64) < 1 {
				t.Errorf("report %s: byStatus %v", date, by)
			}
			sum += n.(float64)
		}
		if r["total"] != sum {
			t.Errorf("report %s: total %v, byStatus adds up to %v", date, r["total"], sum)
		}
		missing += 3 - len(by)
	}
	if missing == 0 {
		t.Error("every report has every status; byStatus keys never vary")
	}
	for _, date := range []string{"2024-13-01", "yesterday", "2024-1-31"} {
		st, v := call(t, h, "GET", "/reports/"+date, "")
		if st != http.StatusBadRequest {
			t.Errorf("report %s: %d", date, st)
		}
		wantError(t, v, "invalid_date")
	}
}

func TestArticles(t *testing.T) {
	h := New(secret)
	slugs := ArticleSlugs()
	digits := 0
	for _, slug := range slugs {
		if strings.ContainsAny(slug, "0123456789") {
			digits++
		}
		st, v := call(t, h, "GET", "/articles/"+slug, "")
		a := object(t, v)
		if st != http.StatusOK || a["slug"] != slug || a["title"] == "" || a["body"] == "" {
			t.Fatalf("article %s: %d %v", slug, st, a)
		}
		if _, err := time.Parse(time.RFC3339, a["publishedAt"].(string)); err != nil {
			t.Errorf("article %s: publishedAt: %v", slug, err)
		}
		au := object(t, a["author"])
		if !uuidV4.MatchString(au["id"].(string)) || au["name"] == "" || !strings.Contains(au["email"].(string), "@") {
			t.Errorf("article %s: author %v", slug, au)
		}
	}
	if len(slugs)-digits < 20 || digits == 0 {
		t.Errorf("%d slugs, %d with digits", len(slugs), digits)
	}
	st, v := call(t, h, "GET", "/articles/no-such-article", "")
	if st != http.StatusNotFound {
		t.Errorf("unknown article: %d", st)
	}
	wantError(t, v, "not_found")
}

func TestMisc(t *testing.T) {
	h := New(secret)
	for _, path := range []string{"/v1/health", "/v1/ready"} {
		if st, v := call(t, h, "GET", path, ""); st != http.StatusOK || object(t, v)["status"] != "ok" {
			t.Errorf("%s: %d %v", path, st, v)
		}
	}
	_, v := call(t, h, "POST", "/todos", `{"title":"seen"}`)
	seen := object(t, v)["id"].(string)
	_, v = call(t, h, "POST", "/todos", `{"title":"unseen"}`)
	unseen := object(t, v)["id"].(string)
	call(t, h, "GET", "/todos/"+seen, "")
	call(t, h, "GET", "/todos/"+seen, "")
	_, v = call(t, h, "GET", "/stats", "")
	stats := object(t, v)
	if len(stats) != 2 || object(t, stats[seen])["views"] != 2.0 || object(t, stats[unseen])["views"] != 0.0 {
		t.Errorf("stats %v", stats)
	}

	for _, key := range []string{"", "key-2"} {
		st, v := call(t, h, "GET", "/admin/metrics", "", "X-API-Key", key)
		if st != http.StatusUnauthorized {
			t.Errorf("metrics with key %q: %d", key, st)
		}
		wantError(t, v, "unauthorized")
	}
	st, v := call(t, h, "GET", "/admin/metrics", "", "X-API-Key", "key-1")
	if m := object(t, v); st != http.StatusOK || m["todos"] != 2.0 || m["users"] != float64(UserCount) || m["requests"].(float64) < 9 {
		t.Errorf("metrics: %d %v", st, m)
	}

	for _, cookie := range []string{"", "theme=dark", "session=sess-2; theme=dark"} {
		st, v := call(t, h, "GET", "/account", "", "Cookie", cookie)
		if st != http.StatusUnauthorized {
			t.Errorf("account with cookie %q: %d", cookie, st)
		}
		wantError(t, v, "unauthorized")
	}
	for cookie, theme := range map[string]string{"session=sess-1; theme=dark": "dark", "session=sess-1": "light"} {
		st, v := call(t, h, "GET", "/account", "", "Cookie", cookie)
		if a := object(t, v); st != http.StatusOK || a["userId"] != UserID(0) || a["theme"] != theme {
			t.Errorf("account with cookie %q: %d %v", cookie, st, a)
		}
	}
}
