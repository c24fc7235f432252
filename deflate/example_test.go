package deflate_test

import (
	"bytes"
	"compress/flate"
	"fmt"

	"github.com/hybi/websocket/deflate"
	"github.com/hybi/websocket/handshake"
)

// A payload compressed by any permessage-deflate peer (here compress/flate
// with the sync-flush tail removed) is inflated in pieces as it arrives.
func ExampleInflater() {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte("hello, hello, hello, websocket"))
	w.Flush()
	payload := bytes.TrimSuffix(buf.Bytes(), deflate.Tail[:])

	var f deflate.Inflater
	var msg []byte
	out := make([]byte, 8) // a tiny buffer: output is bounded by it
	for len(payload) > 0 {
		in := payload[:min(3, len(payload))] // three bytes at a time
		n, m, err := f.Inflate(out, in)
		if err != nil {
			panic(err)
		}
		msg = append(msg, out[:n]...)
		payload = payload[m:]
	}
	for {
		n, done, err := f.FinishMessage(out)
		if err != nil {
			panic(err)
		}
		msg = append(msg, out[:n]...)
		if done {
			break
		}
	}
	fmt.Printf("%s\n", msg)
	// Output: hello, hello, hello, websocket
}

// Under context takeover a repeated message compresses to a few bytes.
func ExampleCompressor() {
	c, _ := deflate.NewCompressor(flate.DefaultCompression, false, 15)
	msg := []byte(`{"type":"update","symbol":"HYBI","price":100.25}`)
	first, _ := c.AppendMessage(nil, msg)
	second, _ := c.AppendMessage(nil, msg)
	empty, _ := c.AppendMessage(nil, nil)
	fmt.Println(len(msg), len(first), len(second))
	fmt.Printf("% x\n", empty)
	// Output:
	// 48 50 4
	// 00
}

// A server accepts the first offer it can and answers with the parameters
// it uses.
func ExampleServer_Negotiate() {
	offers, _ := handshake.ParseExtensions([]string{
		"permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits; server_no_context_takeover",
	})
	s := &deflate.Server{ClientNoContextTakeover: true}
	resp, ok := s.Negotiate(offers)
	fmt.Println(ok, resp)

	p, _ := deflate.ParseResponse(resp)
	fmt.Printf("%+v\n", p)
	fmt.Println("server compressor resets:", p.CompressorResets(true), "server inflater resets:", p.InflaterResets(true))
	// Output:
	// true permessage-deflate; server_no_context_takeover; client_no_context_takeover
	// {ServerNoContextTakeover:true ClientNoContextTakeover:true ServerMaxWindowBits:15 ClientMaxWindowBits:15}
	// server compressor resets: true server inflater resets: true
}

// A client sends its offers and checks the response.
func ExampleClient() {
	c := deflate.NewClient(
		deflate.Offer{ServerMaxWindowBits: 10, ClientMaxWindowBits: deflate.Valueless},
		deflate.Offer{ClientMaxWindowBits: deflate.Valueless}, // fallback
	)
	for _, o := range c.Offers() {
		fmt.Println(o)
	}
	resp, _ := handshake.ParseExtensions([]string{"permessage-deflate; client_max_window_bits=12"})
	p, err := c.Params(resp[0])
	fmt.Printf("%+v %v\n", p, err)

	bad, _ := handshake.ParseExtensions([]string{"permessage-deflate; client_max_window_bits"})
	fmt.Println(c.Accept(bad[0]))
	// Output:
	// permessage-deflate; server_max_window_bits=10; client_max_window_bits
	// permessage-deflate; client_max_window_bits
	// {ServerNoContextTakeover:false ClientNoContextTakeover:false ServerMaxWindowBits:15 ClientMaxWindowBits:12} <nil>
	// deflate: bad permessage-deflate response: client_max_window_bits: value must be 8 to 15 without leading zeroes
}
