package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/npy"
)

func TestGaussMoments(t *testing.T) {
	d, err := Load("gauss:N=100000,d=2,seed=5", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 100000 || d.D != 2 || d.K != 1 {
		t.Fatalf("shape %d %d %d", d.N, d.D, d.K)
	}
	var m, v float64
	for _, x := range d.X {
		m += x
		v += x * x
	}
	m /= float64(len(d.X))
	v /= float64(len(d.X))
	// Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032; 4 sigma.
	if math.Abs(m) > 4*0.0022 || math.Abs(v-1) > 4*0.0032 {
		t.Fatalf("x mean %v variance %v", m, v)
	}
	again, _ := Load("gauss:N=100000,d=2,seed=5", Options{})
	if again.X[12345] != d.X[12345] || again.Y[999] != d.Y[999] {
		t.Fatal("same seed gave different data")
	}
}

func TestMNIST(t *testing.T) {
	d, err := Load("mnist:parity:1000", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 1000 || d.D != 784 || d.K != 1 {
		t.Fatalf("shape %d %d %d", d.N, d.D, d.K)
	}
	// The first MNIST training labels are 5 0 4 1 9 2: parity -1 +1 +1 -1 -1 +1.
	want := []float64{-1, 1, 1, -1, -1, 1}
	for i, w := range want {
		if d.Y[i] != w {
			t.Fatalf("parity targets %v, want %v", d.Y[:6], want)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range d.X {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	if lo != 0 || hi != 1 {
		t.Fatalf("pixels in [%v, %v], want [0, 1]", lo, hi)
	}
	oh, err := Load("mnist:onehot:10", Options{})
	if err != nil || oh.K != 10 || oh.Y[5] != 1 || oh.Classes[0] != 5 {
		t.Fatalf("one-hot: %v %v", oh.Y[:10], err)
	}
}

func TestFashion(t *testing.T) {
	if _, err := os.Stat(DefaultFashionDir); err != nil {
		_, err := Load("fashion:10", Options{})
		if err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
			t.Fatalf("missing files must name the Debian package, got %v", err)
		}
		t.Skip("dataset-fashion-mnist is not installed; checked the error message only")
	}
	d, err := Load("fashion:100", Options{})
	if err != nil || d.K != 10 || d.D != 784 || d.N != 100 {
		t.Fatalf("%v %v", d, err)
	}
	// The first Fashion-MNIST training label is 9 (ankle boot).
	if d.Classes[0] != 9 {
		t.Fatalf("first label %d, want 9", d.Classes[0])
	}
	if _, err := Load("fashion:10,dir=/nonexistent", Options{}); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent") {
		t.Fatalf("wrong directory: %v", err)
	}
}

func TestUserData(t *testing.T) {
	dir := t.TempDir()
	xp, yp := filepath.Join(dir, "X.npy"), filepath.Join(dir, "y.npy")
	if err := npy.WriteFile(xp, npy.Matrix(3, 2, []float64{1, 2, 3, 4, 5, 6})); err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteFile(yp, npy.Vector([]float64{7, 8, 9})); err != nil {
		t.Fatal(err)
	}
	d, err := Load("npy:x="+xp+",y="+yp, Options{})
	if err != nil || d.N != 3 || d.D != 2 || d.K != 1 || d.X[3] != 4 || d.Y[2] != 9 {
		t.Fatalf("npy: %+v %v", d, err)
	}
	csv := filepath.Join(dir, "d.csv")
	os.WriteFile(csv, []byte("a,b,y\n1,2,3\n4,5,6\n"), 0o644)
	d, err = Load("csv:path="+csv, Options{})
	if err != nil || d.N != 2 || d.D != 2 || d.Y[1] != 6 {
		t.Fatalf("csv: %+v %v", d, err)
	}
	// Shape mismatch and NaN.
	npy.WriteFile(yp, npy.Vector([]float64{7, 8}))
	if _, err := Load("npy:x="+xp+",y="+yp, Options{}); err == nil || !strings.Contains(err.Error(), "rows") {
		t.Fatalf("row mismatch not reported: %v", err)
	}
	os.WriteFile(csv, []byte("1,2,3\n4,nan,6\n"), 0o644)
	if _, err := Load("csv:path="+csv, Options{}); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN not reported: %v", err)
	}
}

func TestBadSpecsAndFiles(t *testing.T) {
	for _, s := range []string{"", "imagenet", "gauss:N=abc", "gauss:d=0", "gauss:q=1", "mnist:foo:10", "mnist:70000",
		"cifar10:10", "npy:x=a.npy"} {
		if _, err := Load(s, Options{}); err == nil {
			t.Errorf("Load(%q) succeeded", s)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("Load(%q): multi-line error", s)
		}
	}
	// A truncated IDX file (gzip stream cut short).
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write([]byte{0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28})
	z.Write(make([]byte, 100))
	z.Close()
	if _, _, err := readIDX(bytes.NewReader(buf.Bytes()), 3, 0); err == nil ||
		!strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated IDX: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), buf.Bytes()[:30], 0o644)
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), []byte{0, 0, 8, 1, 0, 0, 0, 10}, 0o644)
	if _, err := Load("fashion:5,dir="+dir, Options{}); err == nil {
		t.Fatal("corrupt Fashion-MNIST files accepted")
	}
}

func TestCSVQuotedFields(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.csv")
	os.WriteFile(p, []byte("\"x 1\",\"x,2\",y\n\"1\",2,\"3\"\n# a comment\n4,\"5\",6\n"), 0o644)
	d, err := Load("csv:path="+p, Options{})
	if err != nil || d.N != 2 || d.D != 2 || d.X[1] != 2 || d.Y[0] != 3 || d.X[2] != 4 {
		t.Fatalf("quoted CSV: %+v %v", d, err)
	}
}

// Sizes beyond the machine are refused before anything is allocated, with the estimate.
func TestHugeSpecs(t *testing.T) {
	for _, s := range []string{"gauss:N=1e12", "gauss:N=3037000500,d=3037000500", "gauss:N=1000,d=1e9", "tanh:N=1e13",
		"mnist:parity:1e12"} {
		_, err := Load(s, Options{MaxBytes: 1 << 30})
		if err == nil || !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("%s: %v", s, err)
		}
		if !strings.Contains(err.Error(), "memory") && !strings.Contains(err.Error(), "not an integer") {
			t.Errorf("%s: the message should give the estimate: %v", s, err)
		}
	}
	if _, err := Load("gauss:N=1000,d=10", Options{MaxBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
}

// The CIFAR-10 loader reads the binary format: a label byte, then 1024 red, 1024 green and
// 1024 blue bytes per record; inputs in [0,1], channel-major, one-hot targets.
func TestCIFARBinary(t *testing.T) {
	dir := t.TempDir()
	var recs []byte
	labels := []byte{3, 0, 9}
	for i, l := range labels {
		rec := make([]byte, cifarRecord)
		rec[0] = l
		for c := 0; c < 3; c++ {
			for p := 0; p < 1024; p++ {
				rec[1+c*1024+p] = byte((i*7 + c*50 + p) % 256)
			}
		}
		recs = append(recs, rec...)
	}
	os.WriteFile(filepath.Join(dir, "data_batch_1.bin"), recs, 0o644)
	d, err := Load("cifar10:3,dir="+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 3 || d.D != 3072 || d.K != 10 {
		t.Fatalf("shape %d %d %d", d.N, d.D, d.K)
	}
	for i, l := range labels {
		if d.Classes[i] != int(l) || d.Y[i*10+int(l)] != 1 {
			t.Fatalf("sample %d: class %d", i, d.Classes[i])
		}
		for _, c := range []int{0, 1, 2} {
			for _, p := range []int{0, 77, 1023} {
				want := float64((i*7+c*50+p)%256) / 255
				if got := d.X[i*3072+c*1024+p]; got != want {
					t.Fatalf("sample %d channel %d pixel %d: %v, want %v", i, c, p, got, want)
				}
			}
		}
	}
	if _, err := Load("cifar10:4,dir="+dir, Options{}); err == nil || !strings.Contains(err.Error(), "data_batch_2") {
		t.Fatalf("a missing second batch must be named: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "data_batch_1.bin"), recs[:cifarRecord+100], 0o644)
	if _, err := Load("cifar10:2,dir="+dir, Options{}); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a truncated batch must be reported: %v", err)
	}
}

// FuzzDataSpec: any spec either loads or fails with a one-line error of class ErrInvalid;
// sizes are capped so that a fuzzed N cannot exhaust memory.
func FuzzDataSpec(f *testing.F) {
	for _, s := range []string{"gauss:N=100,d=2,seed=3", "tanh:N=50,w=2,sigma=0.3", "mnist:parity:20",
		"mnist:onehot:N=5", "gauss:N=1e12", "csv:path=/nonexistent", "npy:x=a,y=b", "cifar10:3", "gauss:sigma=NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Load(s, Options{MaxBytes: 64 << 20, FashionDir: "/nonexistent", CIFARDir: "/nonexistent"})
		if err != nil {
			if !errors.Is(err, fault.ErrInvalid) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if d.Validate() != nil {
			t.Fatalf("%q loaded an invalid dataset", s)
		}
	})
}
