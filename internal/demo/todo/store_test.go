package todo

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/demo/redistest"
	"github.com/specgate/specgate/internal/demo/resp"
)

func redisStore(t *testing.T, url, prefix string) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := resp.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return NewRedis(c, prefix)
}

// testStore checks the Store contract on an empty store.
func testStore(t *testing.T, s Store) {
	ctx := context.Background()
	at := time.Date(2024, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
	a := Todo{ID: "a", Title: "buy milk", Description: "two\r\nlitres", Priority: 1, CreatedAt: at, Tags: []string{"home", "errand"}}
	b := Todo{ID: "b", Title: "ünïcode ✓", Done: true, Priority: 3, CreatedAt: at.Add(time.Second), Owner: "ada"}
	c := Todo{ID: "c", Title: "c", Priority: 2, CreatedAt: at}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("empty store lists %v, %v", list, err)
	}
	var seqs []int64
	for _, td := range []Todo{a, b, c} {
		got, err := s.Create(ctx, td)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, got.Seq)
	}
	if !slices.IsSorted(seqs) || seqs[0] == seqs[1] || seqs[1] == seqs[2] {
		t.Errorf("sequence numbers %v are not increasing", seqs)
	}
	a.Seq, b.Seq, c.Seq = seqs[0], seqs[1], seqs[2]
	for _, want := range []Todo{a, b, c} {
		got, ok, err := s.Get(ctx, want.ID)
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%s) = %+v, %v, %v; want %+v", want.ID, got, ok, err, want)
		}
	}
	if _, ok, err := s.Get(ctx, "zz"); ok || err != nil {
		t.Errorf("Get of a missing todo: %v, %v", ok, err)
	}
	a2 := a
	a2.Title, a2.Done, a2.Tags, a2.Seq = "buy oat milk", true, nil, 99
	if ok, err := s.Replace(ctx, a2); !ok || err != nil {
		t.Errorf("Replace: %v, %v", ok, err)
	}
	a2.Seq = a.Seq // Replace keeps the order
	if ok, err := s.Replace(ctx, Todo{ID: "zz", Title: "x", CreatedAt: at}); ok || err != nil {
		t.Errorf("Replace of a missing todo: %v, %v", ok, err)
	}
	if list, err := s.List(ctx); err != nil || !reflect.DeepEqual(list, []Todo{a2, b, c}) {
		t.Errorf("List = %+v, %v", list, err)
	}
	if ok, err := s.Delete(ctx, "b"); !ok || err != nil {
		t.Errorf("Delete: %v, %v", ok, err)
	}
	if ok, err := s.Delete(ctx, "b"); ok || err != nil {
		t.Errorf("Delete twice: %v, %v", ok, err)
	}
	if list, err := s.List(ctx); err != nil || !reflect.DeepEqual(list, []Todo{a2, c}) {
		t.Errorf("List after Delete = %+v, %v", list, err)
	}
	// What a caller holds is its own.
	list, _ := s.List(ctx)
	list[0].Tags = append(list[0].Tags, "mine")
	if got, _, _ := s.Get(ctx, "a"); len(got.Tags) != 0 {
		t.Errorf("a caller's change reached the store: %v", got.Tags)
	}
}

func TestMemory(t *testing.T) { testStore(t, &Memory{}) }

func TestRedisStore(t *testing.T) {
	url := redistest.Start(t)
	testStore(t, redisStore(t, url, "test1:"))
	// Prefixes keep stores apart on one server.
	other := redisStore(t, url, "test2:")
	if list, err := other.List(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("another prefix sees %v, %v", list, err)
	}
}

// TestStoresAgree applies the same random operations to a Memory and a
// Redis store: every answer and the final lists are equal.
func TestStoresAgree(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 42))
		mem, red := Store(&Memory{}), Store(redisStore(t, url, fmt.Sprintf("agree%d:", seed)))
		ids := []string{"a", "b", "c", "d", "e", "f"}
		for step := range 200 {
			id := ids[rng.IntN(len(ids))]
			td := Todo{
				ID: id, Title: fmt.Sprintf("t%d", step), Description: []string{"", "some words"}[rng.IntN(2)],
				Done: rng.IntN(2) == 0, Priority: 1 + rng.IntN(3),
				CreatedAt: time.UnixMilli(1.7e12 + rng.Int64N(1e9)).UTC(),
				Tags:      []string{"x", "y", "z"}[:rng.IntN(4)],
			}
			if len(td.Tags) == 0 {
				td.Tags = nil
			}
			var m, r any
			switch op := rng.IntN(4); {
			case op == 0:
				// Create only ids not in use: the service never reuses one.
				if _, ok, _ := mem.Get(ctx, id); ok {
					continue
				}
				m1, err1 := mem.Create(ctx, td)
				r1, err2 := red.Create(ctx, td)
				m1.Seq, r1.Seq = 0, 0 // counters differ between runs of the store
				m, r = []any{m1, err1}, []any{r1, err2}
			case op == 1:
				ok1, err1 := mem.Replace(ctx, td)
				ok2, err2 := red.Replace(ctx, td)
				m, r = []any{ok1, err1}, []any{ok2, err2}
			case op == 2:
				ok1, err1 := mem.Delete(ctx, id)
				ok2, err2 := red.Delete(ctx, id)
				m, r = []any{ok1, err1}, []any{ok2, err2}
			default:
				t1, ok1, err1 := mem.Get(ctx, id)
				t2, ok2, err2 := red.Get(ctx, id)
				t1.Seq, t2.Seq = 0, 0
				m, r = []any{t1, ok1, err1}, []any{t2, ok2, err2}
			}
			if !reflect.DeepEqual(m, r) {
				t.Fatalf("seed %d step %d: memory %+v, redis %+v", seed, step, m, r)
			}
		}
		l1, err1 := mem.List(ctx)
		l2, err2 := red.List(ctx)
		if err1 != nil || err2 != nil || len(l1) != len(l2) {
			t.Fatalf("seed %d: lists %v, %v: %v, %v", seed, l1, l2, err1, err2)
		}
		for i := range l1 {
			l1[i].Seq, l2[i].Seq = 0, 0
		}
		if !reflect.DeepEqual(l1, l2) {
			t.Errorf("seed %d: memory lists %+v, redis %+v", seed, l1, l2)
		}
	}
}

// TestServiceOnRedis: the service keeps its todos in Redis, across
// restarts and versions (storage is the same for all).
func TestServiceOnRedis(t *testing.T) {
	url := redistest.Start(t)
	quiet := log.New(io.Discard, "", 0)
	v1, _ := Lookup("v1")
	v2, _ := Lookup("v2")
	h := New(Config{Version: v1, Store: redisStore(t, url, "svc:"), Log: quiet})
	a := call(t, h, "POST", "/todos", `{"title":"buy milk","descripton":"two litres","tags":["home"]}`)
	if a.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", a.status, a.raw)
	}
	created := object(t, a.body)
	id := created["id"].(string)

	h = New(Config{Version: v2, Store: redisStore(t, url, "svc:"), Log: quiet})
	got := object(t, call(t, h, "GET", "/todos/"+id, "").body)
	if got["description"] != "two litres" || got["title"] != "buy milk" || got["createdAt"] != created["createdAt"] {
		t.Errorf("v2 on v1's store: %v", got)
	}
	if a := call(t, h, "GET", "/todos", ""); len(a.body.([]any)) != 1 {
		t.Errorf("GET /todos: %s", a.raw)
	}
	if a := call(t, h, "DELETE", "/todos/"+id, ""); a.status != http.StatusNoContent {
		t.Errorf("DELETE: %d", a.status)
	}
	if a := callAuth(t, h, "GET", "/healthz", "", ""); a.status != http.StatusOK {
		t.Errorf("GET /healthz: %d", a.status)
	}
}

// TestStoreDown: a store that fails gives 500 and 503 with JSON errors,
// and the failure is logged.
func TestStoreDown(t *testing.T) {
	h := New(Config{Store: failing{}, Log: log.New(io.Discard, "", 0)})
	for _, r := range [][2]string{{"GET", "/todos"}, {"POST", "/todos"}, {"GET", "/todos/x"}, {"PUT", "/todos/x"}, {"DELETE", "/todos/x"}} {
		wantError(t, call(t, h, r[0], r[1], `{"title":"a"}`), http.StatusInternalServerError)
	}
	wantError(t, callAuth(t, h, "GET", "/healthz", "", ""), http.StatusServiceUnavailable)
}

type failing struct{}

var errDown = fmt.Errorf("store down")

func (failing) Create(context.Context, Todo) (Todo, error)      { return Todo{}, errDown }
func (failing) Get(context.Context, string) (Todo, bool, error) { return Todo{}, false, errDown }
func (failing) Replace(context.Context, Todo) (bool, error)     { return false, errDown }
func (failing) Delete(context.Context, string) (bool, error)    { return false, errDown }
func (failing) List(context.Context) ([]Todo, error)            { return nil, errDown }
func (failing) Ping(context.Context) error                      { return errDown }
