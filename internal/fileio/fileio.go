// Package fileio writes sgdlab's output files: atomically, so that an interrupted or failed
// write never leaves a half-written result (or a stray temporary file) behind.
package fileio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic writes b to path through a temporary file and a rename, so that an
// interrupted run never leaves a half-written result under the final name; a write that
// fails (a full disk) removes the temporary file and returns the error. A path that exists
// and is not a regular file (/dev/stdout, a pipe, a device) is written directly, never
// replaced.
func WriteAtomic(path string, b []byte) error {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		_, err = f.Write(b)
		return errors.Join(err, f.Close())
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
