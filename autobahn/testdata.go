package autobahn

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"unicode/utf8"
)

// The testsuite compresses five files it ships (a JSON document, a bitmap,
// Goethe's Faust from Project Gutenberg, an HTML page and a PDF). We do not
// copy them: each corpus here is generated deterministically with the same
// kind of content, the same text/binary flag and about the same size, which
// is what the cases depend on (slices wrap around the corpus).
type corpus struct {
	key    string
	desc   string
	binary bool
	data   []byte
	runes  []int // text corpora: byte offset of each code point
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

var words = []string{"der", "die", "das", "und", "ist", "nicht", "Welt", "Geist", "Natur", "Himmel", "Erde",
	"Faust", "Mephistopheles", "Gretchen", "Wagner", "Nacht", "Studierzimmer", "wär", "Herz", "Liebe",
	"Glück", "Brüder", "schön", "müssen", "Straße", "hören", "Zauber", "Teufel", "Wissenschaft", "Gefühl"}

func genJSON(size int) []byte {
	r := newRand(1)
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := 0; b.Len() < size-200; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `  {"id": %d, "name": "%s %s", "city": "%s", "score": %.3f, "tags": ["%s", "%s"], "active": %v, "note": "%s café naïve ☃ 東京"}`,
			r.IntN(1000000), words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))],
			r.Float64()*100, words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(2) == 1, words[r.IntN(len(words))])
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}

func genText(size int) []byte {
	r := newRand(2)
	var b bytes.Buffer
	for b.Len() < size {
		n := 4 + r.IntN(10)
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		b.WriteString([]string{".\n", ",\n", "!\n", "?\n"}[r.IntN(4)])
	}
	return b.Bytes()[:size]
}

func genHTML(size int) []byte {
	r := newRand(3)
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Übersicht</title></head><body>\n")
	for b.Len() < size-100 {
		fmt.Fprintf(&b, "<div class=\"item item-%d\"><a href=\"/wiki/%s_%d\">%s</a> <span>%s – %s</span></div>\n",
			r.IntN(50), words[r.IntN(len(words))], r.IntN(10000), words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))])
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

func genBitmap(size int) []byte {
	// A 512x512 8-bit grey "photo": smooth gradients plus noise, behind a
	// BMP-like header.
	r := newRand(4)
	b := make([]byte, 0, size)
	b = append(b, 'B', 'M')
	for len(b) < 1078 {
		b = append(b, byte(len(b)))
	}
	for y := 0; len(b) < size; y++ {
		for x := 0; x < 512 && len(b) < size; x++ {
			v := (x*x/700 + y*3/2 + (x^y)/16 + r.IntN(12)) & 0xff
			b = append(b, byte(v))
		}
	}
	return b
}

func genPDF(size int) []byte {
	r := newRand(5)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for obj := 1; b.Len() < size; obj++ {
		if obj%3 == 0 {
			// a "compressed stream": incompressible bytes
			n := 2000 + r.IntN(6000)
			fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", obj, n)
			for i := 0; i < n; i++ {
				b.WriteByte(byte(r.Uint32()))
			}
			b.WriteString("\nendstream\nendobj\n")
		} else {
			fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>\nBT /F1 12 Tf 72 712 Td (%s %s) Tj ET\nendobj\n",
				obj, obj+1, words[r.IntN(len(words))], words[r.IntN(len(words))])
		}
	}
	return b.Bytes()[:size]
}

var corpora = sync.OnceValue(func() map[string]*corpus {
	m := map[string]*corpus{
		"json_data1":      {key: "json_data1", desc: "Large JSON data file", binary: false, data: genJSON(194056)},
		"lena512":         {key: "lena512", desc: "Lena Picture, Bitmap 512x512 bw", binary: true, data: genBitmap(263222)},
		"gutenberg_faust": {key: "gutenberg_faust", desc: "Human readable text, Goethe's Faust I (German)", binary: true, data: genText(222218)},
		"html_data1":      {key: "html_data1", desc: "Large HTML file", binary: false, data: genHTML(263647)},
		"ooms":            {key: "ooms", desc: "A larger PDF", binary: true, data: genPDF(1042328)},
	}
	for _, c := range m {
		if !c.binary {
			for i := range string(c.data) {
				c.runes = append(c.runes, i)
			}
		}
	}
	return m
})

// slice returns n units (code points for text, bytes for binary) starting
// at unit ptr, wrapping around the end, and the next ptr, as the testsuite
// does.
func (c *corpus) slice(ptr, n int) ([]byte, int) {
	if c.binary {
		total := len(c.data)
		to := (ptr + n) % total
		if to > ptr {
			return append([]byte(nil), c.data[ptr:to]...), to
		}
		return append(append([]byte(nil), c.data[ptr:]...), c.data[:to]...), to
	}
	total := len(c.runes)
	off := func(i int) int {
		if i >= total {
			return len(c.data)
		}
		return c.runes[i]
	}
	to := (ptr + n) % total
	if to > ptr {
		return append([]byte(nil), c.data[off(ptr):off(to)]...), to
	}
	return append(append([]byte(nil), c.data[off(ptr):]...), c.data[:off(to)]...), to
}

// units is the length the testsuite compares: code points for text.
func (c *corpus) units(msg []byte) int {
	if c.binary {
		return len(msg)
	}
	return utf8.RuneCount(msg)
}
