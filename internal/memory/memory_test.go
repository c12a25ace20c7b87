package memory

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/fault"
)

func TestSaturating(t *testing.T) {
	if Mul(3037000500, 3037000500, 8) != math.MaxInt64 || Mul(1<<20, 1<<20) != 1<<40 || Mul(5, -1) != 0 {
		t.Fatal("Mul")
	}
	if Add(math.MaxInt64, 1) != math.MaxInt64 || Add(2, 3) != 5 {
		t.Fatal("Add")
	}
	if Floats(1e12) != 8e12 {
		t.Fatal("Floats")
	}
}

func TestCheck(t *testing.T) {
	l := Limit{Cap: 1 << 30}
	if err := l.Check("x", 1<<29); err != nil {
		t.Fatal(err)
	}
	err := l.Check("the dataset gauss:N=1e12", Floats(1e12, 2))
	if !errors.Is(err, fault.ErrInvalid) || !strings.Contains(err.Error(), "14.6 TiB") ||
		!strings.Contains(err.Error(), "1 GiB") {
		t.Fatalf("%v", err)
	}
	if Available() <= 0 {
		t.Fatal("Available")
	}
	for s, want := range map[string]int64{"512M": 512 << 20, "16G": 16 << 30, "2.5GiB": 5 << 29, "1000": 1000} {
		if v, err := ParseSize(s); err != nil || v != want {
			t.Errorf("%s: %v %v", s, v, err)
		}
	}
	for _, s := range []string{"", "x", "-1G", "NaN", "1e30T"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
