// Package store keeps every run sgdlab performs in an SQLite file (pure Go,
// modernc.org/sqlite): its parameters, seed, code version and per-trajectory results. Each
// trajectory is committed in its own transaction as soon as it finishes, with WAL journaling
// and full synchronisation, so a process killed at any moment loses nothing that was
// recorded, and the primary key (run, index) means nothing is recorded twice. Re-running
// resumes: the trajectories already stored are skipped. Shards of an ensemble write separate
// files that Merge combines.
package store

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"
)

// Store is an open run store.
type Store struct {
	db   *sql.DB
	path string
}

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id       INTEGER PRIMARY KEY,
	key      TEXT NOT NULL UNIQUE,
	kind     TEXT NOT NULL,
	label    TEXT NOT NULL,
	params   TEXT NOT NULL,
	seed     INTEGER NOT NULL,
	version  TEXT NOT NULL,
	created  TEXT NOT NULL,
	summary  TEXT
);
CREATE TABLE IF NOT EXISTS trajectories (
	run_id  INTEGER NOT NULL REFERENCES runs(id),
	idx     INTEGER NOT NULL,
	result  TEXT NOT NULL,
	PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
`

// Open opens (creating if needed) the store at path.
func Open(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s is not a usable sgdlab store (%v): move it away or choose another path", path, err)
	}
	var ok string
	if err := db.QueryRow("PRAGMA quick_check").Scan(&ok); err != nil || ok != "ok" {
		db.Close()
		return nil, fmt.Errorf("store %s is corrupt (%v %s): move it away or choose another path", path, err, ok)
	}
	db.Exec("INSERT OR IGNORE INTO meta(k, v) VALUES ('format', 'sgdlab-store-1')")
	return &Store{db: db, path: path}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// RunSpec identifies a run: its kind (escape, stationary, ...), a human label, its full
// parameters (anything JSON-encodable) and master seed. The key is a hash of kind, params
// and seed: the same run always maps to the same record, on every machine and shard.
type RunSpec struct {
	Kind    string
	Label   string
	Params  any
	Seed    uint64
	Version string
}

// Key returns the run key.
func (r RunSpec) Key() (string, []byte, error) {
	p, err := json.Marshal(r.Params)
	if err != nil {
		return "", nil, fmt.Errorf("store: parameters: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", r.Kind, r.Seed)
	h.Write(p)
	return hex.EncodeToString(h.Sum(nil))[:24], p, nil
}

// Run is a run record.
type Run struct {
	ID      int64           `json:"id"`
	Key     string          `json:"key"`
	Kind    string          `json:"kind"`
	Label   string          `json:"label"`
	Params  json.RawMessage `json:"params"`
	Seed    uint64          `json:"seed"`
	Version string          `json:"version"`
	Created string          `json:"created"`
	Summary json.RawMessage `json:"summary,omitempty"`
	Done    int             `json:"trajectories"`
}

// Begin returns the run for spec, creating it if new.
func (s *Store) Begin(spec RunSpec) (*Run, error) {
	key, params, err := spec.Key()
	if err != nil {
		return nil, err
	}
	_, err = s.db.Exec(`INSERT OR IGNORE INTO runs(key, kind, label, params, seed, version, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		key, spec.Kind, spec.Label, string(params), int64(spec.Seed), spec.Version, time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return s.runByKey(key)
}

func (s *Store) runByKey(key string) (*Run, error) {
	r := &Run{}
	var params string
	var summary sql.NullString
	var seed int64
	err := s.db.QueryRow(`SELECT id, key, kind, label, params, seed, version, created, summary,
		(SELECT COUNT(*) FROM trajectories t WHERE t.run_id = runs.id) FROM runs WHERE key = ?`, key).
		Scan(&r.ID, &r.Key, &r.Kind, &r.Label, &params, &seed, &r.Version, &r.Created, &summary, &r.Done)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	r.Params, r.Seed = json.RawMessage(params), uint64(seed)
	if summary.Valid {
		r.Summary = json.RawMessage(summary.String)
	}
	return r, nil
}

// Put records trajectory idx of run r in its own transaction. Recording an index that is
// already stored with the same result is a no-op; a different result is an error (it would
// mean non-deterministic simulation).
func (s *Store) Put(r *Run, idx int, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	res, err := s.db.Exec(`INSERT OR IGNORE INTO trajectories(run_id, idx, result) VALUES (?, ?, ?)`, r.ID, idx, string(b))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var old string
		if err := s.db.QueryRow(`SELECT result FROM trajectories WHERE run_id = ? AND idx = ?`, r.ID, idx).Scan(&old); err == nil && old != string(b) {
			return fmt.Errorf("store: trajectory %d of run %s was recorded with a different result", idx, r.Key)
		}
	}
	return nil
}

// Trajectories returns the stored results of run r by index.
func (s *Store) Trajectories(r *Run) (map[int]json.RawMessage, error) {
	rows, err := s.db.Query(`SELECT idx, result FROM trajectories WHERE run_id = ? ORDER BY idx`, r.ID)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := map[int]json.RawMessage{}
	for rows.Next() {
		var idx int
		var res string
		if err := rows.Scan(&idx, &res); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out[idx] = json.RawMessage(res)
	}
	return out, rows.Err()
}

// SetSummary stores the run's summary result (fits, rates).
func (s *Store) SetSummary(r *Run, summary any) error {
	b, err := json.Marshal(summary)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, err = s.db.Exec(`UPDATE runs SET summary = ? WHERE id = ?`, string(b), r.ID)
	return err
}

// Runs lists all runs.
func (s *Store) Runs() ([]Run, error) {
	rows, err := s.db.Query(`SELECT key FROM runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	var out []Run
	for _, k := range keys {
		r, err := s.runByKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// Find returns the run with the given id or key prefix.
func (s *Store) Find(ref string) (*Run, error) {
	runs, err := s.Runs()
	if err != nil {
		return nil, err
	}
	for i := range runs {
		if strconv.FormatInt(runs[i].ID, 10) == ref || strings.HasPrefix(runs[i].Key, ref) {
			return &runs[i], nil
		}
	}
	return nil, fmt.Errorf("no run %q in %s: `sgdlab runs` lists them", ref, s.path)
}

// Merge copies every run and trajectory of the stores at paths into s. Runs are matched
// by key; a trajectory present in two sources must have identical results.
func (s *Store) Merge(paths ...string) (runs, trajectories int, err error) {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return runs, trajectories, fmt.Errorf("merge: %w", err)
		}
		src, err := Open(p)
		if err != nil {
			return runs, trajectories, err
		}
		rs, err := src.Runs()
		if err != nil {
			src.Close()
			return runs, trajectories, err
		}
		for _, r := range rs {
			dst, err := s.Begin(RunSpec{Kind: r.Kind, Label: r.Label, Params: r.Params, Seed: r.Seed, Version: r.Version})
			if err != nil {
				src.Close()
				return runs, trajectories, err
			}
			if dst.Key != r.Key {
				src.Close()
				return runs, trajectories, errors.New("merge: run key mismatch (store format changed?)")
			}
			runs++
			ts, err := src.Trajectories(&r)
			if err != nil {
				src.Close()
				return runs, trajectories, err
			}
			for idx, res := range ts {
				if err := s.Put(dst, idx, res); err != nil {
					src.Close()
					return runs, trajectories, fmt.Errorf("merge %s: %w", p, err)
				}
				trajectories++
			}
		}
		src.Close()
	}
	return runs, trajectories, nil
}

// Shard is the part i of n of an ensemble (trajectory indices idx with idx mod n == i).
type Shard struct{ I, N int }

// All is the unsharded ensemble.
var All = Shard{0, 1}

// Indices returns the trajectory indices of this shard among 0..total-1.
func (s Shard) Indices(total int) []int {
	var out []int
	for i := s.I; i < total; i += max(s.N, 1) {
		out = append(out, i)
	}
	return out
}

// String formats the shard as i/n.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// ParseShard parses "i/n" (0 <= i < n). An empty string reads the environment: a Slurm job
// array (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or SLURM_ARRAY_TASK_MAX and
// _MIN) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with SGDLAB_SHARDS giving n);
// without either it is the whole ensemble.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		if id := os.Getenv("SLURM_ARRAY_TASK_ID"); id != "" {
			i, err1 := strconv.Atoi(id)
			n, err2 := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_COUNT"))
			if err2 != nil {
				lo, e1 := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_MIN"))
				hi, e2 := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_MAX"))
				if e1 == nil && e2 == nil {
					n, err2 = hi-lo+1, nil
					i -= lo
				}
			}
			if err1 != nil || err2 != nil || i < 0 || i >= n {
				return All, fmt.Errorf("SLURM_ARRAY_TASK_ID=%s: cannot tell the shard count (set SLURM_ARRAY_TASK_COUNT or pass --shard i/n)", id)
			}
			return Shard{i, n}, nil
		}
		if id := os.Getenv("JOB_COMPLETION_INDEX"); id != "" {
			i, err1 := strconv.Atoi(id)
			n, err2 := strconv.Atoi(os.Getenv("SGDLAB_SHARDS"))
			if err1 != nil || err2 != nil || i < 0 || i >= n {
				return All, fmt.Errorf("JOB_COMPLETION_INDEX=%s: set SGDLAB_SHARDS to the Job's completions (or pass --shard i/n)", id)
			}
			return Shard{i, n}, nil
		}
		return All, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return All, fmt.Errorf("--shard %q: expected i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{i, n}, nil
}
