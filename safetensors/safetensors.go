// Package safetensors reads and writes the safetensors format (a little-endian 8-byte
// header length, a JSON header naming every tensor's dtype, shape and byte range, then the
// raw data), the format in which PyTorch users save state_dicts
// (safetensors.torch.save_file). sgdlab reads F64 and F32 tensors (as float64) and writes
// F64, so weights trained elsewhere can be analysed and sgdlab's weights loaded back.
//
// The format is small enough to implement directly; doing so keeps the checks sgdlab wants
// on hostile files (header size, offsets inside the file, byte counts matching shapes,
// finite values) in one place.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/fileio"
	"github.com/sgdlab/sgdlab/internal/strictjson"
)

// Tensor is one named tensor.
type Tensor struct {
	Name  string
	DType string // as read: F64 or F32 (written: F64)
	Shape []int
	Data  []float64 // row-major
}

// Len is the number of values the shape holds.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a safetensors file: its tensors in the order of their data and its metadata.
type File struct {
	Tensors  []Tensor
	Metadata map[string]string
}

// Get returns the tensor named name.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// maxHeader bounds the JSON header (the format's reference implementation uses 100 MB).
const maxHeader = 100 << 20

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Read reads a safetensors file. Errors are of class fault.ErrInvalid and name the file.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fault.Invalid("%v", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fault.Invalid("%v", err)
	}
	f, err := read(fh, st.Size())
	if err != nil {
		return nil, fault.Invalid("%s: %v", path, err)
	}
	return f, nil
}

func read(r io.ReaderAt, size int64) (*File, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("not a safetensors file: %d bytes, shorter than the 8-byte header length", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("not a safetensors file: header length %d exceeds the file (%d bytes)", n, size)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("not a safetensors file: its header is not JSON (%v)", err)
	}
	if err := strictjson.Check(hdr, strictjson.Options{}); err != nil {
		return nil, fmt.Errorf("corrupt header: %v", err)
	}
	out := &File{Metadata: map[string]string{}}
	base := 8 + int64(n)
	type pos struct {
		t          Tensor
		start, end int64
	}
	var all []pos
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &out.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: %v", name, err)
		}
		width := map[string]int64{"F64": 8, "F32": 4}[e.DType]
		if width == 0 {
			return nil, fmt.Errorf("tensor %q has dtype %s: sgdlab reads F64 and F32 (save with "+
				"model.double() or model.float())", name, e.DType)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt32*64/int64(d)) {
				return nil, fmt.Errorf("tensor %q has shape %v", name, e.Shape)
			}
			count *= int64(d)
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || base+hi > size || hi-lo != count*width {
			return nil, fmt.Errorf("tensor %q: bytes %d..%d do not hold %v values of %s inside the file", name, lo,
				hi, e.Shape, e.DType)
		}
		buf := make([]byte, hi-lo)
		if _, err := r.ReadAt(buf, base+lo); err != nil {
			return nil, fmt.Errorf("tensor %q: %v", name, err)
		}
		t := Tensor{Name: name, DType: e.DType, Shape: slices.Clone(e.Shape), Data: make([]float64, count)}
		for i := range t.Data {
			if width == 8 {
				t.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:]))
			} else {
				t.Data[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:])))
			}
			if math.IsNaN(t.Data[i]) || math.IsInf(t.Data[i], 0) {
				return nil, fmt.Errorf("tensor %q holds %v at index %d: weights must be finite", name, t.Data[i], i)
			}
		}
		all = append(all, pos{t, lo, hi})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].start < all[j].start })
	// The data must be indexed exactly once, without holes, and end with the file (the
	// format's rule: no overlapping tensors, no hidden bytes, no polyglot files).
	end := int64(0)
	for _, p := range all {
		if p.start != end {
			what := "overlaps the one before it"
			if p.start > end {
				what = fmt.Sprintf("leaves bytes %d..%d unindexed before it", end, p.start)
			}
			return nil, fmt.Errorf("corrupt layout: tensor %q at bytes %d..%d %s", p.t.Name, p.start, p.end, what)
		}
		end = p.end
	}
	if base+end != size {
		return nil, fmt.Errorf("corrupt layout: %d bytes after the last tensor (the file has %d, the header indexes "+
			"%d)", size-base-end, size, base+end)
	}
	for _, p := range all {
		out.Tensors = append(out.Tensors, p.t)
	}
	return out, nil
}

// Write writes tensors (as F64, in the given order) and metadata to path.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if t.Len() != len(t.Data) {
			return fmt.Errorf("tensor %q: shape %v does not hold %d values", t.Name, t.Shape, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = entry{DType: "F64", Shape: shape, Offsets: [2]int64{off, off + int64(8*len(t.Data))}}
		off += int64(8 * len(t.Data))
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 { // the reference implementation pads the header to 8 bytes
		js = append(js, ' ')
	}
	buf := make([]byte, 8, 8+len(js)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(js)))
	buf = append(buf, js...)
	for _, t := range tensors {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
	}
	return fileio.WriteAtomic(path, buf)
}
