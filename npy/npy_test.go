package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{5}, {2, 3}, {2, 3, 4}, {0}} {
		a := Array{Shape: shape}
		a.Data = make([]float64, a.Len())
		for i := range a.Data {
			a.Data[i] = float64(i)*1.5 - 2
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		if (buf.Len()-len(a.Data)*8)%64 != 0 {
			t.Errorf("header not 64-byte aligned: total %d", buf.Len())
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		if len(b.Shape) != len(shape) {
			t.Fatalf("shape %v read back as %v", shape, b.Shape)
		}
		for i := range a.Data {
			if a.Data[i] != b.Data[i] {
				t.Fatalf("value %d: %v != %v", i, a.Data[i], b.Data[i])
			}
		}
	}
}

// handmade builds a .npy byte stream with the given header dict and payload.
func handmade(dict string, payload []byte) []byte {
	hdr := dict + strings.Repeat(" ", 3) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(hdr)))
	b = append(b, hdr...)
	return append(b, payload...)
}

func TestFloat32AndBigEndian(t *testing.T) {
	var p []byte
	for _, x := range []float32{1.5, -2, 3.25} {
		p = binary.LittleEndian.AppendUint32(p, math.Float32bits(x))
	}
	a, err := Read(bytes.NewReader(handmade("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", p)))
	if err != nil || a.Data[0] != 1.5 || a.Data[1] != -2 || a.Data[2] != 3.25 {
		t.Fatalf("float32: %v %v", a.Data, err)
	}
	p = nil
	for _, x := range []float64{7, -1} {
		p = binary.BigEndian.AppendUint64(p, math.Float64bits(x))
	}
	a, err = Read(bytes.NewReader(handmade("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }", p)))
	if err != nil || a.Data[0] != 7 || a.Data[1] != -1 || a.Shape[1] != 2 {
		t.Fatalf("big-endian float64: %v %v", a.Data, err)
	}
}

func TestBadInput(t *testing.T) {
	good := handmade("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", make([]byte, 32))
	cases := map[string][]byte{"truncated data": good[:len(good)-5], "not npy": []byte("hello world, this is text"),
		"empty": nil, "fortran": handmade("{'descr': '<f8', "+
			"'fortran_order': True, 'shape': (2, 2), }", make([]byte, 32)),
		"int dtype":        handmade("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", make([]byte, 32)),
		"truncated header": good[:20], "trailing bytes": append(slices.Clone(good), 0)}
	for name, b := range cases {
		if _, err := Read(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: expected an error", name)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(handmade("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err == nil && a.Len() != len(a.Data) {
			t.Fatalf("inconsistent array: shape %v, %d values", a.Shape, len(a.Data))
		}
	})
}
