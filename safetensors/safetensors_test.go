package safetensors

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/fault"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.safetensors")
	in := []Tensor{{Name: "b", Shape: []int{2, 3}, Data: []float64{1, 2, 3, 4, 5, 6}}, {Name: "a", Shape: []int{},
		Data: []float64{-0.5}}}
	if err := Write(path, in, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 2 || f.Tensors[0].Name != "b" || f.Tensors[1].Data[0] != -0.5 || f.Metadata["k"] != "v" {
		t.Fatalf("%+v", f)
	}
}

// header builds a file from a JSON header and data bytes.
func header(js string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	return append(append(b, js...), data...)
}

// Hostile files are one-line errors of class ErrInvalid, never panics or huge allocations.
func TestHostileFiles(t *testing.T) {
	f32 := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	nan := binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN()))
	cases := []struct {
		file []byte
		want string
	}{
		{[]byte{1, 2, 3}, "shorter than"},
		{binary.LittleEndian.AppendUint64(nil, 1<<62), "exceeds the file"},
		{header("{not json", nil), "not JSON"},
		{header(`{"w":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, []byte{0, 0}), "dtype F16"},
		{header(`{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, nan), "do not hold"},
		{header(`{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,800]}}`, nan), "do not hold"},
		{header(`{"w":{"dtype":"F64","shape":[99999999999,99999999999],"data_offsets":[0,8]}}`, nan), "has shape"},
		{header(`{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, nan), "finite"},
		{header(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		// Layout: overlapping tensors, a key given twice, trailing and unindexed bytes.
		{header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],`+
			`"data_offsets":[0,4]}}`, f32), "overlaps"},
		{header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],`+
			`"data_offsets":[0,4]}}`, f32), "appears twice"},
		{header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, append(f32, 0, 0, 0, 0)),
			"4 bytes after the last tensor"},
		{header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, append(f32, f32...)), "unindexed"},
	}
	for i, c := range cases {
		path := filepath.Join(t.TempDir(), "x.safetensors")
		os.WriteFile(path, c.file, 0o644)
		_, err := Read(path)
		if err == nil || !errors.Is(err, fault.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v, want %q", i, err, c.want)
		}
	}
	path := filepath.Join(t.TempDir(), "f32.safetensors")
	os.WriteFile(path, header(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32), 0o644)
	if f, err := Read(path); err != nil || f.Tensors[0].Data[0] != 1.5 {
		t.Errorf("F32: %v %v", f, err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add(header(`{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.safetensors")
		os.WriteFile(path, b, 0o644)
		if _, err := Read(path); err != nil && (!errors.Is(err, fault.ErrInvalid) || strings.Contains(err.Error(),
			"\n")) {
			t.Fatalf("%v", err)
		}
	})
}
