package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/store"
)

// storeFlags attach a run store and a shard to ensemble commands.
type storeFlags struct {
	Store string `help:"SQLite run store: every trajectory is recorded as it finishes; repeating the same run resumes and recomputes nothing." placeholder:"FILE.db"`
	Shard string `help:"Run only shard i/n of the ensemble (default from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX+SGDLAB_SHARDS); combine shard stores with sgdlab merge." placeholder:"i/n"`
}

// open returns the ensemble environment; close must be called when done.
func (f storeFlags) open(workers int) (ensemble.Env, func(), error) {
	sh, err := store.ParseShard(f.Shard)
	if err != nil {
		return ensemble.Env{}, nil, badInput(err)
	}
	env := ensemble.Env{Shard: sh, Version: version + "+" + buildRevision(), Workers: workers}
	if f.Store == "" {
		if sh.N > 1 {
			return env, nil, badInput(errors.New("--shard needs --store: each shard's trajectories must be recorded to be merged"))
		}
		return env, func() {}, nil
	}
	s, err := store.Open(f.Store)
	if err != nil {
		return env, nil, badInput(err)
	}
	env.Store = s
	return env, func() { s.Close() }, nil
}

type runsCmd struct {
	DB     string `arg:"" help:"Run store file." type:"existingfile"`
	RunRef string `name:"run" help:"Show or export one run (id or key prefix)."`
	Export string `help:"Export format for --run: csv (one row per trajectory, flattened) or json." enum:"csv,json," default:""`
	Out    string `help:"File for the export (default stdout)." placeholder:"FILE"`
}

func (c *runsCmd) Run(e *env) error {
	s, err := store.Open(c.DB)
	if err != nil {
		return badInput(err)
	}
	defer s.Close()
	if c.RunRef == "" {
		runs, err := s.Runs()
		if err != nil {
			return err
		}
		if e.g.JSON || c.Export == "json" {
			b, err := report.JSON(runs)
			if err != nil {
				return err
			}
			return writeOut(e, c.Out, b)
		}
		fmt.Fprintf(e.out, "%-4s %-24s %-10s %-6s %-6s %s\n", "id", "key", "kind", "seed", "done", "label")
		for _, r := range runs {
			fmt.Fprintf(e.out, "%-4d %-24s %-10s %-6d %-6d %s\n", r.ID, r.Key, r.Kind, r.Seed, r.Done, r.Label)
		}
		return nil
	}
	r, err := s.Find(c.RunRef)
	if err != nil {
		return badInput(err)
	}
	ts, err := s.Trajectories(r)
	if err != nil {
		return err
	}
	switch c.Export {
	case "csv":
		var rows [][]string
		var header []string
		for idx, raw := range ts {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			flat := map[string]string{"index": strconv.Itoa(idx)}
			flatten("", m, flat)
			if header == nil {
				header = []string{"index"}
				for k := range flat {
					if k != "index" {
						header = append(header, k)
					}
				}
				sortStrings(header[1:])
			}
			row := make([]string, len(header))
			for i, h := range header {
				row[i] = flat[h]
			}
			rows = append(rows, row)
		}
		sortRows(rows)
		return writeOut(e, c.Out, csvBytes(header, rows))
	default:
		out := map[string]any{"run": r, "trajectories": ts}
		b, err := report.JSON(out)
		if err != nil {
			return err
		}
		return writeOut(e, c.Out, b)
	}
}

type mergeCmd struct {
	Into  string   `arg:"" help:"Store to merge into (created if missing)."`
	Froms []string `arg:"" help:"Shard stores to merge." type:"existingfile"`
}

func (c *mergeCmd) Run(e *env) error {
	dst, err := store.Open(c.Into)
	if err != nil {
		return badInput(err)
	}
	defer dst.Close()
	for _, f := range c.Froms {
		if abs(f) == abs(c.Into) {
			return badInput(fmt.Errorf("cannot merge %s into itself", f))
		}
	}
	runs, n, err := dst.Merge(c.Froms...)
	if err != nil {
		return badInput(err)
	}
	if e.g.JSON {
		fmt.Fprintf(e.out, "{\"runs\": %d, \"trajectories\": %d, \"into\": %q}\n", runs, n, c.Into)
		return nil
	}
	fmt.Fprintf(e.out, "merged %d run records and %d trajectories from %d stores into %s\n", runs, n, len(c.Froms), c.Into)
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
