package autobahn

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func BenchmarkUTF8Validator(b *testing.B) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"ascii-64KiB", []byte(strings.Repeat("plain ascii ", 64<<10/12))},
		{"greek-64KiB", []byte(strings.Repeat(kosme, 64<<10/len(kosme)))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.data)))
			for b.Loop() {
				if !validUTF8(tc.data) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkDeflateRoundTrip is the runner's own cost per 12.x message of
// 128 KiB: compress as the fuzzer sends, inflate as it receives.
func BenchmarkDeflateRoundTrip(b *testing.B) {
	c := corpora()["json_data1"]
	msg, _ := c.slice(0, 131072)
	send := newPMD(deflateParams{sendBits: 15})
	recv := newPMD(deflateParams{sendBits: 15})
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		z := send.compress(msg)
		if _, err := recv.decompress(z, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDeflateRoundTrip(t *testing.T) {
	c := corpora()["html_data1"]
	for _, p := range []deflateParams{
		{sendBits: 15},
		{sendBits: 15, sendNoContext: true, recvNoContext: true},
		{sendBits: 9},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			send, recv := newPMD(p), newPMD(p)
			ptr := 0
			for _, n := range []int{16, 40000, 5, 131072, 70000, 1, 300} {
				var msg []byte
				msg, ptr = c.slice(ptr, n)
				got, err := recv.decompress(send.compress(msg), 1<<20)
				if err != nil {
					t.Fatalf("message of %d code points: %v", n, err)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("message of %d code points does not round-trip", n)
				}
			}
			if _, err := recv.decompress(send.compress(bytes.Repeat([]byte("x"), 5000)), 100); err == nil {
				t.Error("inflating past the limit succeeded")
			}
		})
	}
}
