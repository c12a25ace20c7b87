// Package npy reads and writes NumPy .npy files holding float32 or float64 arrays
// in C order, the interchange format sgdlab uses for parameter vectors and user data.
//
// Only what sgdlab needs is supported: little-endian or big-endian float32/float64,
// C (row-major) order, any number of dimensions. Fortran-ordered arrays, object
// arrays and other dtypes are rejected with an error that says what to do.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/internal/fileio"
)

// Array is a dense float64 array read from or written to a .npy file.
type Array struct {
	Shape []int     // dimensions, outermost first; empty for a scalar
	Data  []float64 // row-major (C order) values; len(Data) == product of Shape
}

// Len returns the number of elements implied by the shape, or -1 when the product
// overflows an int (a corrupt or hostile header: (2^61, 8) must not wrap to 0).
func (a Array) Len() int {
	n := uint64(1)
	for _, s := range a.Shape {
		if s < 0 {
			return -1
		}
		hi, lo := bits.Mul64(n, uint64(s))
		if hi != 0 || lo > math.MaxInt64 {
			return -1
		}
		n = lo
	}
	return int(n)
}

var magic = []byte("\x93NUMPY")

// ReadFile reads the .npy file at path.
func ReadFile(path string) (Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return Array{}, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	limit := int64(math.MaxInt64)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		limit = st.Size()
	}
	a, err := read(bufio.NewReader(f), limit)
	if err != nil {
		return Array{}, fmt.Errorf("npy: %s: %w", path, err)
	}
	return a, nil
}

// Read parses one .npy array from r.
func Read(r io.Reader) (Array, error) { return read(r, math.MaxInt64) }

// read parses an array from r, which holds at most limit bytes: a header promising more
// data than that is reported as truncated before anything is allocated for it.
func read(r io.Reader, limit int64) (Array, error) {
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		return Array{}, errors.New("file too short to be a .npy array (truncated or not .npy)")
	}
	if string(head[:6]) != string(magic) {
		return Array{}, errors.New("not a .npy file (bad magic); save arrays with numpy.save")
	}
	major := head[6]
	var hlen int
	switch major {
	case 1:
		hlen = int(binary.LittleEndian.Uint16(head[8:10]))
	case 2, 3:
		more := make([]byte, 2)
		if _, err := io.ReadFull(r, more); err != nil {
			return Array{}, errors.New("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint32(append(head[8:10:10], more...)))
	default:
		return Array{}, fmt.Errorf("unsupported .npy format version %d", major)
	}
	if hlen > 1<<20 {
		return Array{}, fmt.Errorf("implausible .npy header length %d (corrupt file)", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Array{}, errors.New("truncated .npy header")
	}
	descr, fortran, shape, err := parseHeader(string(hdr))
	if err != nil {
		return Array{}, err
	}
	if fortran {
		return Array{}, errors.New("Fortran-ordered array; save with numpy.save(path, numpy.ascontiguousarray(a))")
	}
	var order binary.ByteOrder
	switch descr[0] {
	case '<', '|', '=':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	default:
		return Array{}, fmt.Errorf("unsupported dtype %q", descr)
	}
	a := Array{Shape: shape}
	n := a.Len()
	if n < 0 || n > 1<<34 {
		return Array{}, fmt.Errorf("implausible shape %v: more than 2^34 values (corrupt header?)", shape)
	}
	var size int
	switch descr[1:] {
	case "f8":
		size = 8
	case "f4":
		size = 4
	default:
		return Array{}, fmt.Errorf("unsupported dtype %q: only float32 (<f4) and float64 (<f8) are read; convert "+
			"with a.astype(numpy.float64)", descr)
	}
	if int64(n)*int64(size) > limit {
		return Array{}, fmt.Errorf("truncated data: header promises %d values of %d bytes, the file holds %d bytes "+
			"in all", n, size, limit)
	}
	raw := make([]byte, n*size)
	got, err := io.ReadFull(r, raw)
	if err != nil {
		return Array{}, fmt.Errorf("truncated data: header promises %d values of %d bytes, file holds %d bytes", n,
			size, got)
	}
	if k, _ := r.Read(make([]byte, 1)); k > 0 {
		return Array{}, fmt.Errorf("bytes follow the %d values the header promises (several arrays saved into "+
			"one file, or a damaged file): save one array per file with numpy.save", n)
	}
	a.Data = make([]float64, n)
	if size == 8 {
		for i := range a.Data {
			a.Data[i] = math.Float64frombits(order.Uint64(raw[8*i:]))
		}
	} else {
		for i := range a.Data {
			a.Data[i] = float64(math.Float32frombits(order.Uint32(raw[4*i:])))
		}
	}
	return a, nil
}

// parseHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
func parseHeader(h string) (descr string, fortran bool, shape []int, err error) {
	h = strings.TrimSpace(h)
	get := func(key string) (string, bool) {
		i := strings.Index(h, "'"+key+"'")
		if i < 0 {
			return "", false
		}
		rest := strings.TrimSpace(h[i+len(key)+2:])
		if !strings.HasPrefix(rest, ":") {
			return "", false
		}
		return strings.TrimSpace(rest[1:]), true
	}
	v, ok := get("descr")
	if !ok || len(v) < 2 || v[0] != '\'' {
		return "", false, nil, errors.New("corrupt .npy header: no descr")
	}
	end := strings.IndexByte(v[1:], '\'')
	if end < 0 {
		return "", false, nil, errors.New("corrupt .npy header: bad descr")
	}
	descr = v[1 : 1+end]
	if len(descr) < 3 {
		return "", false, nil, fmt.Errorf("unsupported dtype %q", descr)
	}
	v, ok = get("fortran_order")
	if !ok {
		return "", false, nil, errors.New("corrupt .npy header: no fortran_order")
	}
	fortran = strings.HasPrefix(v, "True")
	v, ok = get("shape")
	if !ok || !strings.HasPrefix(v, "(") {
		return "", false, nil, errors.New("corrupt .npy header: no shape")
	}
	end = strings.IndexByte(v, ')')
	if end < 0 {
		return "", false, nil, errors.New("corrupt .npy header: bad shape")
	}
	for _, part := range strings.Split(v[1:end], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		part = strings.TrimSuffix(part, "L")
		d, err := strconv.Atoi(part)
		if err != nil || d < 0 {
			return "", false, nil, fmt.Errorf("corrupt .npy header: bad dimension %q", part)
		}
		shape = append(shape, d)
	}
	return descr, fortran, shape, nil
}

// Write writes a as a little-endian float64 .npy (format version 1.0) to w.
func Write(w io.Writer, a Array) error {
	if a.Len() != len(a.Data) {
		return fmt.Errorf("npy: shape %v does not match %d values", a.Shape, len(a.Data))
	}
	dims := make([]string, len(a.Shape))
	for i, s := range a.Shape {
		dims[i] = strconv.Itoa(s)
	}
	shape := strings.Join(dims, ", ")
	if len(a.Shape) == 1 {
		shape += ","
	}
	hdr := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", shape)
	// Pad so that the data starts on a 64-byte boundary, ending the header with '\n'.
	total := 10 + len(hdr) + 1
	pad := (64 - total%64) % 64
	hdr += strings.Repeat(" ", pad) + "\n"
	buf := make([]byte, 10, 10+len(hdr)+8*len(a.Data))
	copy(buf, magic)
	buf[6], buf[7] = 1, 0
	binary.LittleEndian.PutUint16(buf[8:], uint16(len(hdr)))
	buf = append(buf, hdr...)
	for _, x := range a.Data {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
	}
	_, err := w.Write(buf)
	return err
}

// WriteFile writes a to path atomically (temporary file then rename), so an
// interrupted write never leaves a truncated file under the final name.
func WriteFile(path string, a Array) error {
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		return fmt.Errorf("npy: %s: %w", path, err)
	}
	if err := fileio.WriteAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

// Vector returns a 1-D array holding v.
func Vector(v []float64) Array { return Array{Shape: []int{len(v)}, Data: v} }

// Matrix returns a rows x cols array holding data (row-major).
func Matrix(rows, cols int, data []float64) Array {
	return Array{Shape: []int{rows, cols}, Data: data}
}
