package frame

import "io"

// Reader reads frame headers from an io.Reader. It owns its scratch space,
// so reading a header allocates nothing. When the underlying reader fails
// part way through a header (a read deadline expired, say), the bytes read
// so far are kept and the next ReadHeader resumes where it stopped.
//
// A Reader reads exactly the header bytes and nothing more, so the payload
// can be read from the same io.Reader afterwards.
type Reader struct {
	src io.Reader
	buf [MaxHeaderSize]byte
	n   int // bytes of the current header already read
}

// NewReader returns a Reader that reads from src.
func NewReader(src io.Reader) *Reader { return &Reader{src: src} }

// Reset discards any partial header and reads from src from now on.
func (r *Reader) Reset(src io.Reader) { *r = Reader{src: src} }

// ReadHeader reads and decodes one header. A structural error
// (*ProtocolError) leaves the stream unusable; any other error is the
// underlying reader's, returned as is (io.EOF when the stream ended
// cleanly between frames, io.ErrUnexpectedEOF when it ended inside a
// header), and the call may be repeated after a temporary one.
func (r *Reader) ReadHeader() (Header, error) {
	for {
		need := 2
		if r.n >= 2 {
			need = sizeFromSecondByte(r.buf[1])
		}
		if r.n >= need {
			h, _, err := ParseHeader(r.buf[:need])
			r.n = 0
			return h, err
		}
		m, err := r.src.Read(r.buf[r.n:need])
		r.n += m
		if err != nil {
			if r.n >= 2 && r.n >= sizeFromSecondByte(r.buf[1]) {
				continue // the header is complete; report the error next time
			}
			if err == io.EOF && r.n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Header{}, err
		}
	}
}

// Writer writes frame headers to an io.Writer from scratch space of its
// own, so writing a header allocates nothing.
type Writer struct {
	dst io.Writer
	buf [MaxHeaderSize]byte
}

// NewWriter returns a Writer that writes to dst.
func NewWriter(dst io.Writer) *Writer { return &Writer{dst: dst} }

// Reset makes w write to dst from now on.
func (w *Writer) Reset(dst io.Writer) { w.dst = dst }

// WriteHeader encodes h and writes it in one Write call.
func (w *Writer) WriteHeader(h Header) error {
	b := AppendHeader(w.buf[:0], h)
	_, err := w.dst.Write(b)
	return err
}
