package webdataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// indexWriter writes index.parquet (Snappy-compressed, which every Parquet
// reader decodes without plugins) in memory: a row is a few hundred bytes,
// so an index of a million samples is some tens of megabytes.
type indexWriter struct {
	buf  bytes.Buffer
	w    *parquet.GenericWriter[row]
	rows int
}

func newIndexWriter() *indexWriter {
	iw := &indexWriter{}
	iw.w = parquet.NewGenericWriter[row](&iw.buf, parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(100_000))
	return iw
}

func (iw *indexWriter) write(rs ...row) error {
	_, err := iw.w.Write(rs)
	iw.rows += len(rs)
	return err
}

// close ends the file and returns its bytes.
func (iw *indexWriter) close() ([]byte, error) {
	if err := iw.w.Close(); err != nil {
		return nil, err
	}
	return iw.buf.Bytes(), nil
}

// readRows calls fn with every row of an index, in order.
func readRows(b []byte, fn func(row) error) error {
	r := parquet.NewGenericReader[row](bytes.NewReader(b))
	defer r.Close()
	batch := make([]row, 1024)
	for {
		n, err := r.Read(batch)
		for _, x := range batch[:n] {
			if ferr := fn(x); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("index.parquet: %w", err)
		}
	}
}
