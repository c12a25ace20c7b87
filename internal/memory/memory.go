// Package memory estimates what a computation will allocate before it allocates it, so that
// a request too large for the machine (a dataset of 10^12 samples, a dense Hessian of a
// million parameters, 10^12 escape runs) is refused with the estimate in a one-line error
// instead of dying in the Go runtime or being killed by the kernel.
package memory

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/fault"
)

// Mul returns the product of its arguments, saturating at math.MaxInt64 (never
// overflowing into a small or negative size); a negative factor counts as 0.
func Mul(xs ...int64) int64 {
	p := int64(1)
	for _, x := range xs {
		if x <= 0 {
			return 0
		}
		if p > math.MaxInt64/x {
			return math.MaxInt64
		}
		p *= x
	}
	return p
}

// Add returns the sum of its non-negative arguments, saturating at math.MaxInt64.
func Add(xs ...int64) int64 {
	s := int64(0)
	for _, x := range xs {
		if x < 0 {
			continue
		}
		if s > math.MaxInt64-x {
			return math.MaxInt64
		}
		s += x
	}
	return s
}

// Floats is the size in bytes of n float64 values.
func Floats(n ...int64) int64 { return Mul(append(n, 8)...) }

// Available returns the memory this process may use: MemAvailable from /proc/meminfo
// (or 4 GiB when it cannot be read), lowered by a cgroup limit when one is set.
func Available() int64 {
	avail := int64(4 << 30)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
					avail = kb << 10
				}
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if lim, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && lim < avail {
			avail = lim
		}
	}
	return avail
}

// ParseSize reads a size such as 512M, 16G, 2.5GiB or a plain number of bytes.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1<<10, t[:n-1]
		case 'M':
			mult, t = 1<<20, t[:n-1]
		case 'G':
			mult, t = 1<<30, t[:n-1]
		case 'T':
			mult, t = 1<<40, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v > 0) || v*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a memory size (examples: 512M, 16G)", s)
	}
	return int64(v * mult), nil
}

// Limit is the memory a computation may use: Cap when set (> 0), else Available().
type Limit struct{ Cap int64 }

// Bytes returns the limit in bytes.
func (l Limit) Bytes() int64 {
	if l.Cap > 0 {
		return l.Cap
	}
	return Available()
}

// Check returns an ErrInvalid error when need exceeds the limit; what says what needs it.
func (l Limit) Check(what string, need int64) error {
	if have := l.Bytes(); need > have {
		src := "available on this machine"
		if l.Cap > 0 {
			src = "allowed by the memory cap"
		}
		return fault.Invalid(
			"%s needs about %s of memory, more than the %s %s: make it smaller (or raise the memory cap if the "+
				"estimate is too cautious)",
			what,
			Format(need),
			Format(have),
			src,
		)
	}
	return nil
}

// Format writes a byte count for people (1.5 GiB).
func Format(b int64) string {
	if b == math.MaxInt64 {
		return "more than 8 EiB"
	}
	v := float64(b)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"} {
		if v < 1024 {
			return strconv.FormatFloat(v, 'g', 3, 64) + " " + u
		}
		v /= 1024
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " EiB"
}
