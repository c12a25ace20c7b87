package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/store"
)

type runsCmd struct {
	DB     string `arg:"" help:"Run store file (opened read-only)."`
	RunRef string `help:"Show or export one run: its id (as listed) or key:PREFIX of its key." name:"run"`
	Export string `help:"${runs_export}" enum:"csv,json," default:""`
	Out    string `help:"File for the export (default stdout)." placeholder:"FILE"`
}

func (c *runsCmd) Run(e *env) error {
	if err := outFile("--out", c.Out); err != nil {
		return err
	}
	s, err := store.OpenReadOnly(c.DB)
	if err != nil {
		return err
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
		if c.Export == "csv" {
			return fault.Field("export", fault.Invalid("CSV exports one run's trajectories: give --run (the list "+
				"of runs exports with --export json)"))
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%-4s %-24s %-10s %-6s %-6s %s\n", "id", "key", "kind", "seed", "done", "label")
		for _, r := range runs {
			fmt.Fprintf(&b, "%-4d %-24s %-10s %-6d %-6d %s\n", r.ID, r.Key, r.Kind, r.Seed, r.Done, r.Label)
		}
		return writeOut(e, c.Out, b.Bytes())
	}
	r, err := s.Find(c.RunRef)
	if err != nil {
		return fmt.Errorf("--run: %w", err)
	}
	ts, err := s.Trajectories(r)
	if err != nil {
		return err
	}
	if c.Export != "csv" {
		b, err := report.JSON(map[string]any{"run": r, "trajectories": ts})
		if err != nil {
			return err
		}
		return writeOut(e, c.Out, b)
	}
	var rows [][]string
	var header []string
	idx := make([]int, 0, len(ts))
	for i := range ts {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		var m map[string]any
		if err := json.Unmarshal(ts[i], &m); err != nil {
			return fault.Invalid("store %s: trajectory %d of run %d is not a JSON object: %v", c.DB, i, r.ID, err)
		}
		flat := map[string]string{"index": strconv.Itoa(i)}
		flatten("", m, flat)
		if header == nil {
			header = []string{"index"}
			for k := range flat {
				if k != "index" {
					header = append(header, k)
				}
			}
			sort.Strings(header[1:])
		}
		row := make([]string, len(header))
		for j, h := range header {
			row[j] = flat[h]
		}
		rows = append(rows, row)
	}
	return writeOut(e, c.Out, csvBytes(header, rows))
}

type mergeCmd struct {
	Into  string   `arg:"" help:"Store to merge into (created if missing)."`
	Froms []string `arg:"" help:"Shard stores to merge."`
}

func (c *mergeCmd) Run(e *env) error {
	dst, err := store.Open(c.Into)
	if err != nil {
		return err
	}
	defer dst.Close()
	st, err := dst.Merge(model.Arithmetic(), c.Froms...)
	if err != nil {
		return err
	}
	if e.g.JSON {
		return e.writeJSON(
			map[string]any{"into": c.Into, "from": c.Froms, "runs": st.Runs, "trajectories_added": st.New,
				"duplicates": st.Duplicates},
		)
	}
	fmt.Fprintf(e.out, "merged %d run records from %d stores into %s: %d trajectories added, %d already present\n",
		st.Runs, len(c.Froms), c.Into, st.New, st.Duplicates)
	return nil
}
