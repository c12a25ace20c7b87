package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/specstr"
)

// maxField is the longest CSV field read: a number never needs more, and a file without
// separators (/dev/zero, a binary file) is refused after this many bytes instead of being
// read whole into memory.
const maxField = 1 << 20

// csvFields reads a CSV stream field by field (RFC 4180: fields may be quoted, "" is a quote
// inside quotes; lines starting with # are comments; blank lines are skipped), holding one
// field at a time, never a whole line.
type csvFields struct {
	r         *bufio.Reader
	line      int // the line being read (1-based)
	recLine   int // the line the current record started on
	fieldLine int
	atStart   bool
	field     []byte
}

func newCSVFields(r io.Reader) *csvFields {
	return &csvFields{r: bufio.NewReaderSize(r, 64<<10), line: 1, atStart: true}
}

// next returns the next field and whether it ends its record; io.EOF when the stream ends
// at a record boundary.
func (c *csvFields) next() (string, bool, error) {
	c.field = c.field[:0]
	quoted, inQuotes, start := false, false, c.atStart
	defer func() {
		if start {
			c.recLine = c.fieldLine
		}
	}()
	for {
		if len(c.field) == 0 && !quoted {
			c.fieldLine = c.line
		}
		b, err := c.r.ReadByte()
		if errors.Is(err, io.EOF) {
			if inQuotes {
				return "", false, fmt.Errorf("line %d: a quoted field is not closed", c.line)
			}
			if c.atStart && len(c.field) == 0 && !quoted {
				return "", false, io.EOF
			}
			c.atStart = true
			return string(c.field), true, nil
		}
		if err != nil {
			return "", false, err
		}
		switch {
		case inQuotes && b == '"':
			if nb, err := c.r.Peek(1); err == nil && nb[0] == '"' {
				c.r.ReadByte()
				c.field = append(c.field, '"')
			} else {
				inQuotes = false
			}
			continue
		case inQuotes:
			if b == '\n' {
				c.line++
			}
		case b == '"' && len(strings.TrimSpace(string(c.field))) == 0:
			quoted, inQuotes = true, true
			c.field = c.field[:0]
			continue
		case b == '#' && c.atStart && len(c.field) == 0:
			if _, err := c.r.ReadString('\n'); err != nil && !errors.Is(err, io.EOF) {
				return "", false, err
			}
			c.line++
			continue
		case b == '\n' && c.atStart && len(strings.TrimSpace(string(c.field))) == 0 && !quoted:
			c.line++ // a blank line
			c.field = c.field[:0]
			continue
		case b == ',':
			c.atStart = false
			return string(c.field), false, nil
		case b == '\n':
			c.atStart = true
			f := strings.TrimSuffix(string(c.field), "\r")
			c.line++
			return f, true, nil
		}
		if len(c.field) >= maxField {
			return "", false, fmt.Errorf("line %d: a field is longer than %d bytes (not a CSV file of numbers?)",
				c.line, maxField)
		}
		c.field = append(c.field, b)
	}
}

// csvTable is what one pass over a CSV file found: the columns, the rows, and (on the
// filling pass) the values.
type csvTable struct {
	cols, rows int
	x, y       []float64
}

// scanCSV reads the stream once: the header (a first record that is not all numbers), then
// rows of cols numbers each, parsing every field as it arrives (the current row is the only
// buffer). With fill it appends the values to t.x and t.y; whenever a slice must grow, the
// memory it is about to take is checked against lim first (a regular file's slices are
// pre-sized by the caller, so they never grow).
func scanCSV(r io.Reader, path string, k int, t *csvTable, fill bool, lim memory.Limit) error {
	c := newCSVFields(r)
	vals := make([]float64, 0, 16)
	t.cols, t.rows = -1, 0
	header, numeric, nf := false, true, 0
	grow := func(n int) error { // the row buffer and the data slices about to double
		return lim.Check("the dataset "+path, memory.Floats(3, int64(n)))
	}
	for {
		f, end, err := c.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("data: %s: %w", path, err)
		}
		nf++
		if v, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err != nil {
			numeric = false
		} else if numeric {
			if len(vals) == cap(vals) {
				if err := grow(len(t.x) + len(t.y) + 2*len(vals)); err != nil {
					return err
				}
			}
			vals = append(vals, v)
		}
		if !end {
			continue
		}
		line := c.recLine
		switch {
		case !numeric && t.rows == 0 && !header:
			header, t.cols = true, nf // the first record names the columns
		case !numeric:
			return fmt.Errorf("data: %s line %d: a field is not a number", path, line)
		case t.cols >= 0 && len(vals) != t.cols:
			return fmt.Errorf("data: %s line %d has %d columns, expected %d", path, line, len(vals), t.cols)
		case len(vals) <= k:
			return fmt.Errorf("data: %s has %d columns, need more than targets=%d", path, len(vals), k)
		default:
			t.cols = len(vals)
			t.rows++
			if fill {
				if cap(t.x)-len(t.x) < t.cols-k || cap(t.y)-len(t.y) < k {
					if err := grow(len(t.x) + len(t.y) + len(vals)); err != nil {
						return err
					}
				}
				t.x = append(t.x, vals[:t.cols-k]...)
				t.y = append(t.y, vals[t.cols-k:]...)
			}
		}
		vals, numeric, nf = vals[:0], true, 0
	}
}

// loadCSV: csv:path=FILE[,targets=K]. Comma-separated numbers (RFC 4180: fields may be
// quoted), one sample per line; the last K columns are targets. A first line that is not
// numeric is a header; lines starting with # are comments. A regular file is read twice:
// once to count its rows and columns (holding one field at a time), then into arrays of
// exactly that size, after checking their memory; other files (pipes, devices) are read once,
// the memory checked as the arrays grow.
func loadCSV(sp *specstr.Spec, lim memory.Limit) (*Dataset, error) {
	path, err := sp.Str("path", "")
	if err != nil {
		return nil, err
	}
	if pos := sp.Positional(); path == "" && len(pos) == 1 {
		path = pos[0]
	} else if len(pos) > 0 {
		return nil, sp.Errorf("unexpected %q; name the file with path=", pos[0])
	}
	if path == "" {
		return nil, sp.Errorf("name the file, e.g. csv:path=data.csv,targets=1")
	}
	k64, err := sp.Int("targets", 1, 1, 1<<20)
	if err != nil {
		return nil, err
	}
	k := int(k64)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	var t csvTable
	st, err := f.Stat()
	regular := err == nil && st.Mode().IsRegular()
	if !regular {
		// A stream (a pipe, /dev/stdin) can be read once: a second load in the same process
		// (a command checks the data before its study builds it) gets the first one's table.
		streams.Lock()
		defer streams.Unlock()
		if d, ok := streams.m[sp.Text]; ok {
			return d, nil
		}
	}
	if regular {
		if err := scanCSV(f, path, k, &t, false, lim); err != nil {
			return nil, err
		}
		if t.rows > 0 {
			if err := lim.Check("the dataset "+sp.Text, memory.Floats(int64(t.rows), int64(t.cols))); err != nil {
				return nil, err
			}
			t.x, t.y = make([]float64, 0, t.rows*(t.cols-k)), make([]float64, 0, t.rows*k)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
	}
	if err := scanCSV(f, path, k, &t, true, lim); err != nil {
		return nil, err
	}
	if t.rows == 0 {
		return nil, fmt.Errorf("data: %s holds no rows of numbers", path)
	}
	d := &Dataset{Spec: fmt.Sprintf("csv:path=%s,targets=%d", path, k), N: t.rows, D: t.cols - k, K: k, X: t.x,
		Y: t.y, Source: "user CSV file"}
	if !regular {
		streams.m[sp.Text] = d
	}
	return d, nil
}

// streams holds the datasets read from streams in this process, by spec.
var streams = struct {
	sync.Mutex
	m map[string]*Dataset
}{m: map[string]*Dataset{}}
