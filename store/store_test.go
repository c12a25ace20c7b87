package store

import (
	"os"
	"path/filepath"
	"testing"
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
	r, _ := whole.Begin(spec)
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
	whole, _ = Open(filepath.Join(dir, "whole.db"))
	r2, _ := whole.Begin(spec)
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
		sr, _ := s.Begin(spec)
		for _, idx := range (Shard{i, 4}).Indices(10) {
			s.Put(sr, idx, traj{float64(idx) * 1.5, idx%3 == 0})
		}
		s.Close()
	}
	merged, _ := Open(filepath.Join(dir, "merged.db"))
	if _, n, err := merged.Merge(paths...); err != nil || n != 10 {
		t.Fatalf("merged %d trajectories: %v", n, err)
	}
	mr, _ := merged.Begin(spec)
	a, _ := whole.Trajectories(r2)
	b, _ := merged.Trajectories(mr)
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
	os.WriteFile(p, []byte("this is not sqlite at all, just text padding padding padding padding padding padding padding padding"), 0o644)
	if _, err := Open(p); err == nil {
		t.Fatal("a corrupt store was opened")
	}
}

func TestParseShard(t *testing.T) {
	if s, err := ParseShard("1/4"); err != nil || s != (Shard{1, 4}) {
		t.Fatal(s, err)
	}
	for _, bad := range []string{"4/4", "x", "1/0", "-1/2"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "3")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "1")
	t.Setenv("SLURM_ARRAY_TASK_MAX", "4")
	if s, err := ParseShard(""); err != nil || s != (Shard{2, 4}) {
		t.Fatalf("slurm: %v %v", s, err)
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	t.Setenv("SGDLAB_SHARDS", "3")
	if s, err := ParseShard(""); err != nil || s != (Shard{2, 3}) {
		t.Fatalf("k8s: %v %v", s, err)
	}
}
