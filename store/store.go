// Package store keeps every run sgdlab performs in an SQLite file (pure Go,
// modernc.org/sqlite): its parameters, seed, code version, arithmetic and per-trajectory
// results. Each trajectory is committed in its own transaction as soon as it finishes, with
// WAL journaling and full synchronisation, so a process killed at any moment loses nothing
// that was recorded, and the primary key (run, index) means nothing is recorded twice. Every
// result carries a checksum that is verified whenever it is read or merged, so a changed
// digit is found rather than used. Re-running resumes: the trajectories already stored are
// skipped. Shards of an ensemble write separate files that Merge combines.
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

	"github.com/sgdlab/sgdlab/fault"
)

// Store is an open run store.
type Store struct {
	db       *sql.DB
	path     string
	readOnly bool
	sums     bool // the trajectories table has checksums (false only for old stores opened read-only)
}

// Format is the store format this package writes (meta table, key "format").
const Format = "sgdlab-store-2"

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
	summary  TEXT,
	arith    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS trajectories (
	run_id  INTEGER NOT NULL REFERENCES runs(id),
	idx     INTEGER NOT NULL,
	result  TEXT NOT NULL,
	sum     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
`

// dsn is the modernc.org/sqlite data source for path: a file: URI whose path is
// percent-encoded (a '?', '#' or '%' in a file name would otherwise start the query part).
func dsn(path string, readOnly bool) string {
	var b strings.Builder
	for _, c := range []byte(path) {
		switch c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	q := "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	if readOnly {
		return "file:" + b.String() + q + "&mode=ro"
	}
	return "file:" + b.String() + q + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
}

// Open opens (creating if needed) the store at path for reading and writing. An existing
// file must be an sgdlab store or an empty SQLite database; anything else is refused
// (fault.ErrInvalid) and left untouched.
func Open(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fault.Invalid("store %s: %v", path, err)
		}
	}
	if err := checkExisting(path); err != nil {
		return nil, err
	}
	if err := checkWritable(path); err != nil {
		return nil, err
	}
	return open(path, false)
}

// checkWritable refuses a store that cannot be written (a read-only or immutable file, a
// directory where SQLite cannot create its journal) with that reason, before SQLite reports
// it in the middle of a run.
func checkWritable(path string) error {
	advice := "choose a writable store (sgdlab runs reads a read-only one as it is)"
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fault.Invalid("store %s is read-only (%v): %s", path, errors.Unwrap(err), advice)
		}
		f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".sgdlab-store-check-*")
	if err != nil {
		return fault.Invalid("store %s: its directory is not writable (%v): %s", path, errors.Unwrap(err), advice)
	}
	f.Close()
	return os.Remove(f.Name())
}

// OpenReadOnly opens an existing store without changing it (no schema, no journal mode).
func OpenReadOnly(path string) (*Store, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fault.Invalid("store %s: %v", path, errors.Unwrap(err))
	}
	if st.Size() == 0 {
		return nil, fault.Invalid("store %s is an empty file, not an sgdlab store", path)
	}
	return open(path, true)
}

// checkExisting refuses a file that exists, is not empty and is not an SQLite database
// with sgdlab's tables (or none), before SQLite touches it.
func checkExisting(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		return nil // new or empty: becomes a store
	}
	s, err := open(path, true)
	if err != nil {
		if errors.Is(err, errNoTables) {
			return nil // an empty database
		}
		return err
	}
	return s.Close()
}

var errNoTables = errors.New("no tables")

func open(path string, readOnly bool) (*Store, error) {
	db, err := sql.Open("sqlite", dsn(path, readOnly))
	if err != nil {
		return nil, fault.Invalid("store %s: %v", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path, readOnly: readOnly, sums: true}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init checks the file's integrity and schema, creating or migrating the schema when
// writable.
func (s *Store) init() error {
	var ok string
	if err := s.db.QueryRow("PRAGMA quick_check").Scan(&ok); err != nil || ok != "ok" {
		why := ok
		if err != nil {
			why = firstLine(err.Error())
		}
		return fault.Invalid("store %s is damaged or not an SQLite file (%s): move it away or choose another path",
			s.path, why)
	}
	tables, err := s.tables()
	if err != nil {
		return fault.Invalid("store %s: %v", s.path, firstLine(err.Error()))
	}
	format := ""
	if tables["meta"] {
		s.db.QueryRow("SELECT v FROM meta WHERE k = 'format'").Scan(&format)
	}
	switch {
	case len(tables) == 0 && s.readOnly:
		return fault.Invalid("store %s: %w", s.path, errNoTables)
	case len(tables) == 0:
	case !strings.HasPrefix(format, "sgdlab-store-") || !tables["runs"] || !tables["trajectories"]:
		names := make([]string, 0, len(tables))
		for t := range tables {
			names = append(names, t)
		}
		return fault.Invalid("%s is an SQLite database but not an sgdlab store (tables %s): choose another path",
			s.path, strings.Join(names, ", "))
	case format != Format && format != "sgdlab-store-1":
		return fault.Invalid("store %s has format %s, newer than this sgdlab (%s): use a newer sgdlab", s.path,
			format, Format)
	}
	if s.readOnly {
		s.sums = format == Format
		return nil
	}
	if _, err := s.db.Exec(schema); err != nil {
		return fault.Invalid("store %s: %v", s.path, firstLine(err.Error()))
	}
	if format == "sgdlab-store-1" {
		return s.migrate1()
	}
	_, err = s.db.Exec("INSERT OR IGNORE INTO meta(k, v) VALUES ('format', ?)", Format)
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (s *Store) tables() (map[string]bool, error) {
	rows, err := s.db.Query("SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// migrate1 adds the columns of format 2 to a format-1 store and checksums its results.
func (s *Store) migrate1() error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{"ALTER TABLE runs ADD COLUMN arith TEXT NOT NULL DEFAULT ''",
		"ALTER TABLE trajectories ADD COLUMN sum TEXT NOT NULL DEFAULT ''"} {
		if _, err := tx.Exec(q); err != nil && !strings.Contains(err.Error(), "duplicate column") {
			return fmt.Errorf("store %s: migrating to %s: %w", s.path, Format, err)
		}
	}
	rows, err := tx.Query("SELECT run_id, idx, result FROM trajectories")
	if err != nil {
		return err
	}
	type rec struct {
		run int64
		idx int
		sum string
	}
	var recs []rec
	for rows.Next() {
		var r rec
		var res string
		if err := rows.Scan(&r.run, &r.idx, &res); err != nil {
			rows.Close()
			return err
		}
		r.sum = checksum(res)
		recs = append(recs, r)
	}
	rows.Close()
	for _, r := range recs {
		if _, err := tx.Exec("UPDATE trajectories SET sum = ? WHERE run_id = ? AND idx = ?", r.sum, r.run,
			r.idx); err != nil {
			return err
		}
	}
	if _, err := tx.Exec("INSERT OR REPLACE INTO meta(k, v) VALUES ('format', ?)", Format); err != nil {
		return err
	}
	return tx.Commit()
}

// checksum is the first 16 bytes of the SHA-256 of a stored result, in hex.
func checksum(result string) string {
	h := sha256.Sum256([]byte(result))
	return hex.EncodeToString(h[:16])
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// RunSpec identifies a run: its kind (escape, stationary, ...), a human label, its full
// parameters (anything JSON-encodable) and master seed. The key is a hash of kind, params
// and seed: the same run always maps to the same record, on every machine and shard.
// Arith names the floating-point arithmetic the results were computed with (see
// model.Arithmetic): it is recorded, not hashed, and a run is never continued or merged
// across two arithmetics.
type RunSpec struct {
	Kind    string
	Label   string
	Params  any
	Seed    uint64
	Version string
	Arith   string
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
	Arith   string          `json:"arithmetic"`
	Created string          `json:"created"`
	Summary json.RawMessage `json:"summary,omitempty"`
	Done    int             `json:"trajectories"`
}

// Begin returns the run for spec, creating it if new. A run stored with another
// arithmetic is an error: its results would not be reproduced here.
func (s *Store) Begin(spec RunSpec) (*Run, error) {
	key, params, err := spec.Key()
	if err != nil {
		return nil, err
	}
	const insert = `INSERT OR IGNORE INTO runs(key, kind, label, params, seed, version, created, arith)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	_, err = s.db.Exec(insert, key, spec.Kind, spec.Label, string(params), int64(spec.Seed), spec.Version,
		time.Now().UTC().Format(time.RFC3339), spec.Arith)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	r, err := s.runByKey(key)
	if err != nil {
		return nil, err
	}
	if r.Arith == "" && spec.Arith != "" {
		s.db.Exec(`UPDATE runs SET arith = ? WHERE id = ?`, spec.Arith, r.ID)
		r.Arith = spec.Arith
	}
	if spec.Arith != "" && r.Arith != spec.Arith {
		return nil, fault.Invalid(
			"store %s: run %d (%s) was computed with %s, this sgdlab uses %s; the results would differ in "+
				"rounding: use another store",
			s.path,
			r.ID,
			r.Label,
			r.Arith,
			spec.Arith,
		)
	}
	return r, nil
}

const runColumns = `id, key, kind, label, params, seed, version, arith, created, summary,
	(SELECT COUNT(*) FROM trajectories t WHERE t.run_id = runs.id)`

func scanRun(row interface{ Scan(...any) error }) (*Run, error) {
	r := &Run{}
	var params string
	var summary sql.NullString
	var seed int64
	if err := row.Scan(&r.ID, &r.Key, &r.Kind, &r.Label, &params, &seed, &r.Version, &r.Arith, &r.Created, &summary,
		&r.Done); err != nil {
		return nil, err
	}
	r.Params, r.Seed = json.RawMessage(params), uint64(seed)
	if summary.Valid {
		r.Summary = json.RawMessage(summary.String)
	}
	return r, nil
}

func (s *Store) runByKey(key string) (*Run, error) {
	r, err := scanRun(s.db.QueryRow(`SELECT `+s.columns()+` FROM runs WHERE key = ?`, key))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	return r, nil
}

// columns is runColumns, with an empty arithmetic for old stores opened read-only.
func (s *Store) columns() string {
	if s.sums {
		return runColumns
	}
	return strings.Replace(runColumns, "arith,", "'' AS arith,", 1)
}

// Put records trajectory idx of run r in its own transaction. Recording an index that is
// already stored with the same result is a no-op; a different result is an error (it would
// mean non-deterministic simulation).
func (s *Store) Put(r *Run, idx int, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, err = s.putRaw(r, idx, string(b))
	return err
}

// putRaw stores one result and reports whether it was new.
func (s *Store) putRaw(r *Run, idx int, res string) (bool, error) {
	const insert = `INSERT OR IGNORE INTO trajectories(run_id, idx, result, sum) VALUES (?, ?, ?, ?)`
	out, err := s.db.Exec(insert, r.ID, idx, res, checksum(res))
	if err != nil {
		return false, fmt.Errorf("store %s: %w", s.path, err)
	}
	if n, _ := out.RowsAffected(); n == 1 {
		return true, nil
	}
	var old string
	q := `SELECT result FROM trajectories WHERE run_id = ? AND idx = ?`
	if err := s.db.QueryRow(q, r.ID, idx).Scan(&old); err == nil &&
		old != res {
		return false, fmt.Errorf("store %s: trajectory %d of run %d (%s) was recorded with a different result",
			s.path, idx, r.ID, r.Label)
	}
	return false, nil
}

// Trajectories returns the stored results of run r by index, each verified against its
// checksum: a result changed after it was written is an error naming it.
func (s *Store) Trajectories(r *Run) (map[int]json.RawMessage, error) {
	q := `SELECT idx, result, sum FROM trajectories WHERE run_id = ? ORDER BY idx`
	if !s.sums {
		q = `SELECT idx, result, '' FROM trajectories WHERE run_id = ? ORDER BY idx`
	}
	rows, err := s.db.Query(q, r.ID)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	defer rows.Close()
	out := map[int]json.RawMessage{}
	for rows.Next() {
		var idx int
		var res, sum string
		if err := rows.Scan(&idx, &res, &sum); err != nil {
			return nil, fmt.Errorf("store %s: %w", s.path, err)
		}
		if s.sums && sum != checksum(res) {
			return nil, fault.Invalid(
				"store %s: trajectory %d of run %d (%s) does not match its checksum: the record was changed after "+
					"it was written; delete the run or use another store",
				s.path,
				idx,
				r.ID,
				r.Label,
			)
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
	rows, err := s.db.Query(`SELECT ` + s.columns() + ` FROM runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.path, err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// Find returns the run named by ref: a run id (digits only, as `sgdlab runs` lists them),
// or a key prefix written key:PREFIX (or any prefix that is not all digits). A prefix that
// matches several runs is an error listing them.
func (s *Store) Find(ref string) (*Run, error) {
	runs, err := s.Runs()
	if err != nil {
		return nil, err
	}
	prefix, isKey := strings.CutPrefix(ref, "key:")
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && !isKey {
		for i := range runs {
			if runs[i].ID == id {
				return &runs[i], nil
			}
		}
		return nil, fault.Invalid("no run with id %d in %s: `sgdlab runs %s` lists them (a key prefix of digits is "+
			"written key:%s)", id, s.path, s.path, ref)
	}
	if prefix == "" {
		return nil, fault.Invalid("empty run reference: give an id or key:PREFIX")
	}
	var found []*Run
	for i := range runs {
		if strings.HasPrefix(runs[i].Key, prefix) {
			found = append(found, &runs[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, fault.Invalid("no run with key prefix %q in %s: `sgdlab runs %s` lists them", prefix, s.path, s.path)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, r := range found {
		ids[i] = strconv.FormatInt(r.ID, 10)
	}
	return nil, fault.Invalid("key prefix %q matches runs %s in %s: give more of the key or the id", prefix,
		strings.Join(ids, ", "), s.path)
}

// MergeStats counts what Merge did.
type MergeStats struct {
	Runs       int // run records in the sources
	New        int // trajectories added
	Duplicates int // trajectories already present with the same result
}

// Merge copies every run and trajectory of the stores at paths into s. Runs are matched
// by key; a trajectory present in two stores must have identical results, every result is
// verified against its checksum, and a store holds one arithmetic: a run computed with
// another than the destination's runs (or, for a destination without any, than arith, the
// merging build's) is refused, whether or not its key is new. A source that is s itself
// (under any name) is an error.
func (s *Store) Merge(arith string, paths ...string) (MergeStats, error) {
	var st MergeStats
	self, _ := os.Stat(s.path)
	var have string
	s.db.QueryRow(`SELECT arith FROM runs WHERE arith != '' LIMIT 1`).Scan(&have)
	want, whose := arith, "this build's"
	if have != "" {
		want, whose = have, "the destination store's"
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return st, fault.Invalid("merge: %v", err)
		}
		if self != nil && os.SameFile(fi, self) {
			return st, fault.Invalid("merge: %s is the store being merged into (%s)", p, s.path)
		}
		src, err := OpenReadOnly(p)
		if err != nil {
			return st, err
		}
		err = s.mergeFrom(src, &st, want, whose)
		src.Close()
		if err != nil {
			return st, fmt.Errorf("merge %s: %w", p, err)
		}
	}
	return st, nil
}

func (s *Store) mergeFrom(src *Store, st *MergeStats, want, whose string) error {
	rs, err := src.Runs()
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Arith != "" && want != "" && r.Arith != want {
			return fault.Invalid("run %d (%s) was computed with %s arithmetic, %s is %s: results that round "+
				"differently are not merged; merge stores made with the same arithmetic (sgdlab version prints it)",
				r.ID, r.Label, r.Arith, whose, want)
		}
		dst, err := s.Begin(
			RunSpec{Kind: r.Kind, Label: r.Label, Params: r.Params, Seed: r.Seed, Version: r.Version, Arith: r.Arith},
		)
		if err != nil {
			return err
		}
		if dst.Key != r.Key {
			return errors.New("run key mismatch (store format changed?)")
		}
		st.Runs++
		ts, err := src.Trajectories(&r)
		if err != nil {
			return err
		}
		for idx, res := range ts {
			added, err := s.putRaw(dst, idx, string(res))
			if err != nil {
				return err
			}
			if added {
				st.New++
			} else {
				st.Duplicates++
			}
		}
	}
	return nil
}
