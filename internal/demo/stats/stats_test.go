package stats

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func send(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

func counts(t *testing.T, h http.Handler) Counts {
	t.Helper()
	code, body := send(t, h, "GET", "/stats", "")
	var c Counts
	if err := json.Unmarshal([]byte(body), &c); code != 200 || err != nil {
		t.Fatalf("GET /stats: %d %s %v", code, body, err)
	}
	return c
}

func TestCounts(t *testing.T) {
	h := New()
	if code, body := send(t, h, "GET", "/stats", ""); code != 200 || body != `{"created":0,"updated":0,"deleted":0,"open":0}`+"\n" {
		t.Errorf("GET /stats on a fresh service: %d %s", code, body)
	}
	for _, tc := range []struct {
		event string
		want  Counts
	}{
		{`{"kind":"created","todoId":"a","done":false}`, Counts{Created: 1, Open: 1}},
		{`{"kind":"created","todoId":"b"}`, Counts{Created: 2, Open: 2}},
		{`{"kind":"created","todoId":"c","done":true}`, Counts{Created: 3, Open: 2}},
		{`{"kind":"updated","todoId":"a","done":true}`, Counts{Created: 3, Updated: 1, Open: 1}},
		{`{"kind":"updated","todoId":"c","done":false}`, Counts{Created: 3, Updated: 2, Open: 2}},
		{`{"kind":"deleted","todoId":"b"}`, Counts{Created: 3, Updated: 2, Deleted: 1, Open: 1}},
		{`{"kind":"deleted","todoId":"b"}`, Counts{Created: 3, Updated: 2, Deleted: 2, Open: 1}},
		{`{"kind":"deleted","todoId":"a"}`, Counts{Created: 3, Updated: 2, Deleted: 3, Open: 1}},
	} {
		if code, body := send(t, h, "POST", "/events", tc.event); code != http.StatusAccepted || body != "" {
			t.Errorf("POST /events %s: %d %q", tc.event, code, body)
		}
		if got := counts(t, h); got != tc.want {
			t.Errorf("after %s: %+v, want %+v", tc.event, got, tc.want)
		}
	}
	for _, bad := range []string{
		``, `{`, `[]`, `{"kind":"created"}`, `{"kind":"renamed","todoId":"a"}`, `{"todoId":"a"}`,
		`{"kind":"created","todoId":"a","done":"yes"}`, `{"kind":"created","todoId":"` + strings.Repeat("x", 20<<10) + `"}`,
	} {
		code, body := send(t, h, "POST", "/events", bad)
		var e map[string]string
		if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || e["error"] == "" {
			t.Errorf("POST /events %.40s: %d %s", bad, code, body)
		}
	}
	if got := counts(t, h); got != (Counts{Created: 3, Updated: 2, Deleted: 3, Open: 1}) {
		t.Errorf("refused events changed the counts: %+v", got)
	}
	if code, body := send(t, h, "GET", "/healthz", ""); code != 200 || body != `{"status":"ok"}`+"\n" {
		t.Errorf("GET /healthz: %d %s", code, body)
	}
	if code, _ := send(t, h, "GET", "/events", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /events: %d", code)
	}
}
