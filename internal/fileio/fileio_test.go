package fileio

import (
	"os"
	"path/filepath"
	"testing"
)

// A write that fails leaves neither a half-written file nor a temporary one; an existing
// file is replaced whole; a device is written in place, never replaced.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := WriteAtomic(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("content %q", b)
	}
	// The rename fails: the target is a directory that is not empty.
	d := filepath.Join(dir, "d")
	os.MkdirAll(filepath.Join(d, "x"), 0o755)
	if err := WriteAtomic(d, []byte("x")); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
	if _, err := os.Stat("/dev/full"); err == nil {
		if err := WriteAtomic("/dev/full", []byte("x")); err == nil {
			t.Fatal("a write to /dev/full succeeded")
		}
		if st, err := os.Stat("/dev/full"); err != nil || st.Mode().IsRegular() {
			t.Fatal("/dev/full was replaced")
		}
	}
}
