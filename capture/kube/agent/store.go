package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/specgate/specgate/internal/atomicfile"
	"github.com/specgate/specgate/internal/oserr"
)

// ShardInfo describes one shard: an NDJSON file of exchanges and the
// statistics file written beside it.
type ShardInfo struct {
	// Name is "NODE-SEQ.ndjson", SEQ nine digits counting up on each node,
	// so that names sort by node, then in the order they were written.
	Name   string `json:"name"`
	Node   string `json:"node"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Stats is the statistics file ("NODE-SEQ.stats.json"), when written.
	Stats *FileInfo `json:"stats,omitempty"`
}

// FileInfo names a file, its size and its SHA-256 (hex).
type FileInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

const (
	shardSuffix = ".ndjson"
	statsSuffix = ".stats.json"
	seqDigits   = 9
)

// Store is the directory an agent writes its shards to. It knows the
// checksum of every finished shard, bounds the disk the shards use, and
// serves them read-only over HTTP. A Store is safe for concurrent use.
type Store struct {
	dir, node string
	maxDisk   int64

	mu      sync.Mutex
	shards  map[string]*ShardInfo // finished shards by name
	next    uint64                // the next sequence number of this node
	deleted int                   // shards deleted to bound the disk
}

// OpenStore opens (creating it if need be) the shard directory dir of
// node. Shards already there, from an earlier run, are indexed and served
// again; this node's numbering continues after them. Temporary files left
// by an interrupted write are removed. maxDisk bounds the bytes the
// shards use (0: no bound).
func OpenStore(dir, node string, maxDisk int64) (*Store, error) {
	if node == "" || strings.ContainsAny(node, `/\`) || node == "." || node == ".." {
		return nil, fmt.Errorf("shard directory: invalid node name %q", node)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, oserr.Cause(err))
	}
	s := &Store{dir: dir, node: node, maxDisk: maxDisk, shards: map[string]*ShardInfo{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, oserr.Cause(err))
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		n, seq, ok := parseShardName(name)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := s.describe(name)
		if err != nil {
			return nil, err
		}
		info.Node = n
		if st, err := s.describe(statsName(name)); err == nil {
			info.Stats = &FileInfo{Name: st.Name, Size: st.Size, SHA256: st.SHA256}
		}
		s.shards[name] = info
		if n == node && seq >= s.next {
			s.next = seq + 1
		}
	}
	return s, nil
}

// Dir returns the directory of the store.
func (s *Store) Dir() string { return s.dir }

// parseShardName splits "NODE-SEQ.ndjson".
func parseShardName(name string) (node string, seq uint64, ok bool) {
	base, found := strings.CutSuffix(name, shardSuffix)
	i := strings.LastIndexByte(base, '-')
	if !found || i <= 0 || len(base)-i-1 != seqDigits {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(base[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return base[:i], seq, true
}

// statsName returns the name of the statistics file of a shard.
func statsName(shard string) string { return strings.TrimSuffix(shard, shardSuffix) + statsSuffix }

// Reserve returns the name of this node's next shard and the path to
// write it to (atomically: the name appears only once the file is whole).
func (s *Store) Reserve() (name, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = fmt.Sprintf("%s-%0*d%s", s.node, seqDigits, s.next, shardSuffix)
	s.next++
	return name, filepath.Join(s.dir, name)
}

// describe hashes the file name of the store.
func (s *Store) describe(name string) (*ShardInfo, error) {
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, oserr.Cause(err))
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, oserr.Cause(err))
	}
	return &ShardInfo{Name: name, Node: s.node, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Commit records the shard name, which the caller has written in full,
// writes its statistics file (atomically) and, when the shards use more
// than the disk bound, deletes the oldest ones. It returns the names of
// the shards deleted.
func (s *Store) Commit(name string, stats []byte) (deleted []string, err error) {
	info, err := s.describe(name)
	if err != nil {
		return nil, err
	}
	if stats != nil {
		sn := statsName(name)
		if err := atomicfile.WriteFile(filepath.Join(s.dir, sn), stats); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(stats)
		info.Stats = &FileInfo{Name: sn, Size: int64(len(stats)), SHA256: hex.EncodeToString(sum[:])}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shards[name] = info
	return s.bound(name), nil
}

// bound deletes the oldest shards (never keep, the newest) while the
// shards use more than maxDisk. s.mu is held.
func (s *Store) bound(keep string) []string {
	if s.maxDisk <= 0 {
		return nil
	}
	var total int64
	for _, sh := range s.shards {
		total += sh.Size
		if sh.Stats != nil {
			total += sh.Stats.Size
		}
	}
	if total <= s.maxDisk {
		return nil
	}
	names := s.sortedNames()
	var deleted []string
	for _, n := range names {
		if total <= s.maxDisk {
			break
		}
		if n == keep {
			continue
		}
		sh := s.shards[n]
		os.Remove(filepath.Join(s.dir, n))
		total -= sh.Size
		if sh.Stats != nil {
			os.Remove(filepath.Join(s.dir, sh.Stats.Name))
			total -= sh.Stats.Size
		}
		delete(s.shards, n)
		deleted = append(deleted, n)
	}
	s.deleted += len(deleted)
	return deleted
}

// Deleted returns the number of shards deleted so far to bound the disk.
func (s *Store) Deleted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleted
}

// sortedNames returns the shard names, oldest first. s.mu is held.
func (s *Store) sortedNames() []string {
	names := make([]string, 0, len(s.shards))
	for n := range s.shards {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// List returns the finished shards, oldest first.
func (s *Store) List() []ShardInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ShardInfo, 0, len(s.shards))
	for _, n := range s.sortedNames() {
		sh := *s.shards[n]
		if sh.Stats != nil {
			st := *sh.Stats
			sh.Stats = &st
		}
		out = append(out, sh)
	}
	return out
}

// servable reports whether name is a finished shard or its statistics
// file, and its media type.
func (s *Store) servable(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.shards[name]; ok {
		return "application/x-ndjson", true
	}
	if base, ok := strings.CutSuffix(name, statsSuffix); ok {
		if sh, ok := s.shards[base+shardSuffix]; ok && sh.Stats != nil {
			return "application/json", true
		}
	}
	return "", false
}

// Handler serves the store read-only:
//
//	GET /healthz        "ok"
//	GET /shards         the finished shards as a JSON list of ShardInfo
//	GET /shards/NAME    a shard or a statistics file
//
// Shards being written are not listed; nothing else is served.
func (s *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /shards", func(w http.ResponseWriter, _ *http.Request) {
		b, err := json.Marshal(s.List())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(b, '\n'))
	})
	mux.HandleFunc("GET /shards/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		ctype, ok := s.servable(name)
		if !ok {
			http.Error(w, "no shard "+strconv.Quote(name), http.StatusNotFound)
			return
		}
		f, err := os.Open(filepath.Join(s.dir, name))
		if err != nil {
			// Deleted to bound the disk since it was listed.
			http.Error(w, "no shard "+strconv.Quote(name), http.StatusNotFound)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, name, fi.ModTime(), f)
	})
	return mux
}
