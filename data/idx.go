package data

import (
	"bufio"

	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// readIDX reads an IDX file (the MNIST format), gzip-compressed or not, and returns
// its dimensions and at most maxItems items of raw bytes (maxItems <= 0: all).
func readIDX(r io.Reader, wantDims int, maxItems int) (dims []int, raw []byte, err error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("corrupt gzip stream: %w", err)
		}
		br = bufio.NewReader(z)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, nil, errors.New("file too short for an IDX header")
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 {
		return nil, nil, errors.New("not an IDX file of unsigned bytes (bad magic number)")
	}
	nd := int(magic[3])
	if nd != wantDims {
		return nil, nil, fmt.Errorf("IDX file has %d dimensions, expected %d", nd, wantDims)
	}
	dims = make([]int, nd)
	item := 1
	for i := range dims {
		var v uint32
		if err := binary.Read(br, binary.BigEndian, &v); err != nil {
			return nil, nil, errors.New("truncated IDX header")
		}
		dims[i] = int(v)
		if i > 0 {
			item *= dims[i]
		}
	}
	n := dims[0]
	if maxItems > 0 && maxItems < n {
		n = maxItems
	}
	raw = make([]byte, n*item)
	if got, err := io.ReadFull(br, raw); err != nil {
		return nil, nil, fmt.Errorf("truncated IDX data: expected %d items of %d bytes, got %d bytes", n, item, got)
	}
	return dims, raw, nil
}

// idxImages decodes up to n images and labels from two IDX streams, scaling pixels to [0,1].
func idxImages(img, lab io.Reader, n int, name string) (x []float64, labels []int, d int, err error) {
	dims, raw, err := readIDX(img, 3, n)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s images: %w", name, err)
	}
	if n > dims[0] {
		return nil, nil, 0, fmt.Errorf("%s has %d training images, %d requested", name, dims[0], n)
	}
	ldims, lraw, err := readIDX(lab, 1, n)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s labels: %w", name, err)
	}
	if ldims[0] < n {
		return nil, nil, 0, fmt.Errorf("%s has %d labels, %d requested", name, ldims[0], n)
	}
	d = dims[1] * dims[2]
	x = make([]float64, n*d)
	for i, b := range raw[:n*d] {
		x[i] = float64(b) / 255
	}
	labels = make([]int, n)
	for i, b := range lraw[:n] {
		if b > 9 {
			return nil, nil, 0, fmt.Errorf("%s labels: label %d of sample %d is not a digit 0-9 (corrupt file)", name,
				b, i)
		}
		labels[i] = int(b)
	}
	return x, labels, d, nil
}

// openIDXPair opens <dir>/<prefix>-images-idx3-ubyte[.gz] and the matching labels.
func openIDXPair(dir, prefix string) (img, lab []byte, err error) {
	find := func(kind string) ([]byte, error) {
		base := filepath.Join(dir, prefix+"-"+kind)
		for _, p := range []string{base + ".gz", base} {
			b, err := os.ReadFile(p)
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
		return nil, os.ErrNotExist
	}
	if img, err = find("images-idx3-ubyte"); err != nil {
		return nil, nil, err
	}
	if lab, err = find("labels-idx1-ubyte"); err != nil {
		return nil, nil, err
	}
	return img, lab, nil
}
