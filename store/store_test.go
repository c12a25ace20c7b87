package store

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/fault"
)

type traj struct {
	T float64 `json:"t"`
	E bool    `json:"e"`
}

func TestResumeAndMerge(t *testing.T) {
	dir := t.TempDir()
	spec := RunSpec{Kind: "escape", Label: "test", Params: map[string]any{"eta": 0.1, "B": 1}, Seed: 7, Version: "x"}
	whole, err := Open(filepath.Join(dir, "whole.db"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := whole.Begin(spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := whole.Put(r, i, traj{float64(i) * 1.5, i%3 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	// Same result again: no-op; different result: error.
	if err := whole.Put(r, 3, traj{4.5, true}); err != nil {
		t.Fatal(err)
	}
	if err := whole.Put(r, 3, traj{9, true}); err == nil {
		t.Fatal("conflicting result accepted")
	}
	// Reopen: the run and its trajectories are found again (resume).
	whole.Close()
	whole, err = Open(filepath.Join(dir, "whole.db"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := whole.Begin(spec)
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID != r.ID || r2.Done != 10 {
		t.Fatalf("reopened run %+v", r2)
	}
	// Four shards merged equal the whole, record for record.
	var paths []string
	for i := 0; i < 4; i++ {
		p := filepath.Join(dir, "shard", "s"+string(rune('0'+i))+".db")
		paths = append(paths, p)
		s, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sr, err := s.Begin(spec)
		if err != nil {
			t.Fatal(err)
		}
		for idx := i; idx < 10; idx += 4 {
			if err := s.Put(sr, idx, traj{float64(idx) * 1.5, idx%3 == 0}); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
	merged, err := Open(filepath.Join(dir, "merged.db"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := merged.Merge("", paths...); err != nil || st.New != 10 || st.Duplicates != 0 {
		t.Fatalf("merged %+v: %v", st, err)
	}
	// Merging the same shards again adds nothing and says so.
	if st, err := merged.Merge("", paths...); err != nil || st.New != 0 || st.Duplicates != 10 {
		t.Fatalf("second merge %+v: %v", st, err)
	}
	mr, err := merged.Begin(spec)
	if err != nil {
		t.Fatal(err)
	}
	a, err := whole.Trajectories(r2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := merged.Trajectories(mr)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d vs %d trajectories", len(a), len(b))
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			t.Fatalf("trajectory %d: %s vs %s", i, a[i], b[i])
		}
	}
}

func TestCorruptFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.db")
	os.WriteFile(p, []byte("this is not sqlite at all, just text padding padding padding padding padding padding "+
		"padding padding"), 0o644)
	if _, err := Open(p); err == nil {
		t.Fatal("a corrupt store was opened")
	}
}

// A changed digit inside a stored result is detected on read and on merge.
func TestChecksum(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	spec := RunSpec{Kind: "escape", Label: "tampered", Params: 1, Seed: 1}
	r, err := s.Begin(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(r, 0, traj{1.25, true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(r, 1, traj{2.5, false}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE trajectories SET result = '{"t":1.35,"e":true}' WHERE idx = 0`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err = s.Begin(spec)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Trajectories(r)
	if !errors.Is(err, fault.ErrInvalid) || !strings.Contains(err.Error(), "trajectory 0") ||
		!strings.Contains(err.Error(), "checksum") {
		t.Fatalf("tampered record: %v", err)
	}
	into, err := Open(filepath.Join(dir, "into.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer into.Close()
	if _, err := into.Merge("", p); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("merge of a tampered store: %v", err)
	}
}

// Ids and key prefixes are separate forms; an ambiguous prefix is an error.
func TestFind(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var keys []string
	for i := 0; i < 40; i++ {
		r, err := s.Begin(RunSpec{Kind: "k", Label: fmt.Sprint(i), Params: i})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.Key)
	}
	if r, err := s.Find("3"); err != nil || r.ID != 3 {
		t.Fatalf("id 3: %+v %v", r, err)
	}
	if r, err := s.Find("key:" + keys[1][:12]); err != nil || r.ID != 2 {
		t.Fatalf("key prefix: %+v %v", r, err)
	}
	// Some one-character prefix is shared by several of 40 keys.
	counts := map[byte]int{}
	for _, k := range keys {
		counts[k[0]]++
	}
	for c, n := range counts {
		if n > 1 {
			if _, err := s.Find("key:" + string(c)); err == nil || !strings.Contains(err.Error(), "matches runs") {
				t.Fatalf("ambiguous prefix %q: %v", c, err)
			}
			break
		}
	}
	if _, err := s.Find("99"); err == nil {
		t.Fatal("a missing id was found")
	}
}

// File names with characters that mean something in a URI are kept as given; read-only
// opening changes nothing; foreign and empty databases are refused clearly.
func TestPathsAndForeignFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"we?ird.db", "a#b.db", "100%.db"} {
		p := filepath.Join(dir, name)
		s, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Begin(RunSpec{Kind: "k", Params: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Put(r, 0, traj{1, true}); err != nil {
			t.Fatal(err)
		}
		var mode string
		s.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
		s.Close()
		if mode != "wal" {
			t.Errorf("%s: journal mode %q, want wal", name, mode)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was not created under its own name: %v", name, err)
		}
	}
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	if _, err := OpenReadOnly(empty); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty file: %v", err)
	}
	if st, err := os.Stat(empty); st.Size() != 0 {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal("reading an empty file changed it")
	}
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec("CREATE TABLE customers (id INTEGER)")
	db.Close()
	before, err := os.ReadFile(foreign)
	if err != nil {
		t.Fatal(err)
	}
	for _, open := range []func(string) (*Store, error){Open, OpenReadOnly} {
		if _, err := open(foreign); !errors.Is(err, fault.ErrInvalid) ||
			!strings.Contains(err.Error(), "not an sgdlab store") {
			t.Fatalf("foreign database: %v", err)
		}
	}
	if after, err := os.ReadFile(foreign); string(after) != string(before) {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal("a foreign database was modified")
	}
	// Merging a store into itself through a symbolic link is refused.
	p := filepath.Join(dir, "self.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	link := filepath.Join(dir, "link.db")
	os.Symlink(p, link)
	if _, err := s.Merge("", link); err == nil || !strings.Contains(err.Error(), "being merged into") {
		t.Fatalf("self merge: %v", err)
	}
}

// A run recorded with one arithmetic is neither continued nor merged with another.
func TestArithmetic(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	spec := RunSpec{Kind: "k", Params: 1, Arith: "pure Go"}
	r, err := a.Begin(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(r, 0, traj{1, true}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := Open(filepath.Join(dir, "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	spec.Arith = "OpenBLAS"
	rb, err := b.Begin(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(rb, 1, traj{2, true}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Merge("", filepath.Join(dir, "a.db")); err == nil || !strings.Contains(err.Error(), "pure Go") {
		t.Fatalf("merge across arithmetic: %v", err)
	}
	// A new key is refused too: a destination without runs takes the merging build's.
	c, err := Open(filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Merge("OpenBLAS", filepath.Join(dir, "a.db")); err == nil || !strings.Contains(err.Error(),
		"this build's is OpenBLAS") || !errors.Is(err, fault.ErrInvalid) {
		t.Fatalf("merge of a new key across arithmetic: %v", err)
	}
	if st, err := c.Merge("pure Go", filepath.Join(dir, "a.db")); err != nil || st.New != 1 {
		t.Fatalf("merge with the same arithmetic: %v %+v", err, st)
	}
}
