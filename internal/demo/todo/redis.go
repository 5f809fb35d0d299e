package todo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/specgate/specgate/internal/demo/resp"
)

// Redis is a Store in Redis: each todo a hash at <prefix>todo:<id>, the
// set <prefix>todos of their ids, and the counter <prefix>seq that orders
// them. It is not transactional: the demo has one writer at a time.
type Redis struct {
	c      *resp.Client
	prefix string
}

// NewRedis returns a Store on c whose keys all begin with prefix.
func NewRedis(c *resp.Client, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

func (s *Redis) key(id string) string { return s.prefix + "todo:" + id }
func (s *Redis) set() string          { return s.prefix + "todos" }

// Create implements Store.
func (s *Redis) Create(ctx context.Context, t Todo) (Todo, error) {
	seq, err := s.c.Incr(ctx, s.prefix+"seq")
	if err != nil {
		return Todo{}, fmt.Errorf("create todo: %w", err)
	}
	t.Seq = seq
	if err := s.write(ctx, t); err != nil {
		return Todo{}, fmt.Errorf("create todo: %w", err)
	}
	if _, err := s.c.SAdd(ctx, s.set(), t.ID); err != nil {
		return Todo{}, fmt.Errorf("create todo: %w", err)
	}
	return t, nil
}

// write stores every field of t in its hash.
func (s *Redis) write(ctx context.Context, t Todo) error {
	tags, err := json.Marshal(t.Tags)
	if err != nil {
		return fmt.Errorf("encode tags: %w", err)
	}
	done := "0"
	if t.Done {
		done = "1"
	}
	_, err = s.c.HSet(ctx, s.key(t.ID),
		"id", t.ID,
		"title", t.Title,
		"description", t.Description,
		"done", done,
		"priority", strconv.Itoa(t.Priority),
		"createdAt", t.CreatedAt.UTC().Format(time.RFC3339Nano),
		"tags", string(tags),
		"owner", t.Owner,
		"seq", strconv.FormatInt(t.Seq, 10),
	)
	return err
}

// Get implements Store.
func (s *Redis) Get(ctx context.Context, id string) (Todo, bool, error) {
	h, err := s.c.HGetAll(ctx, s.key(id))
	if err != nil {
		return Todo{}, false, fmt.Errorf("get todo %s: %w", id, err)
	}
	if len(h) == 0 {
		return Todo{}, false, nil
	}
	t, err := decodeHash(h)
	if err != nil {
		return Todo{}, false, fmt.Errorf("get todo %s: %w", id, err)
	}
	return t, true, nil
}

func decodeHash(h map[string]string) (Todo, error) {
	t := Todo{ID: h["id"], Title: h["title"], Description: h["description"], Done: h["done"] == "1", Owner: h["owner"]}
	var err error
	if t.Priority, err = strconv.Atoi(h["priority"]); err != nil {
		return Todo{}, fmt.Errorf("bad priority %q", h["priority"])
	}
	if t.Seq, err = strconv.ParseInt(h["seq"], 10, 64); err != nil {
		return Todo{}, fmt.Errorf("bad seq %q", h["seq"])
	}
	if t.CreatedAt, err = time.Parse(time.RFC3339Nano, h["createdAt"]); err != nil {
		return Todo{}, fmt.Errorf("bad createdAt %q", h["createdAt"])
	}
	if err := json.Unmarshal([]byte(h["tags"]), &t.Tags); err != nil {
		return Todo{}, fmt.Errorf("bad tags %q", h["tags"])
	}
	return t, nil
}

// Replace implements Store.
func (s *Redis) Replace(ctx context.Context, t Todo) (bool, error) {
	old, ok, err := s.Get(ctx, t.ID)
	if err != nil || !ok {
		return false, err
	}
	t.Seq = old.Seq
	if err := s.write(ctx, t); err != nil {
		return false, fmt.Errorf("replace todo %s: %w", t.ID, err)
	}
	return true, nil
}

// Delete implements Store.
func (s *Redis) Delete(ctx context.Context, id string) (bool, error) {
	n, err := s.c.Del(ctx, s.key(id))
	if err != nil {
		return false, fmt.Errorf("delete todo %s: %w", id, err)
	}
	if _, err := s.c.SRem(ctx, s.set(), id); err != nil {
		return false, fmt.Errorf("delete todo %s: %w", id, err)
	}
	return n == 1, nil
}

// List implements Store.
func (s *Redis) List(ctx context.Context) ([]Todo, error) {
	ids, err := s.c.SMembers(ctx, s.set())
	if err != nil {
		return nil, fmt.Errorf("list todos: %w", err)
	}
	out := make([]Todo, 0, len(ids))
	for _, id := range ids {
		t, ok, err := s.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("list todos: %w", err)
		}
		if ok { // deleted since SMEMBERS
			out = append(out, t)
		}
	}
	sortBySeq(out)
	return out, nil
}

// Ping implements Store.
func (s *Redis) Ping(ctx context.Context) error { return s.c.Ping(ctx) }
