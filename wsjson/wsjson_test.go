package wsjson_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hybi/websocket"
	"github.com/hybi/websocket/wsjson"
)

type chat struct {
	User string   `json:"user"`
	Text string   `json:"text"`
	Tags []string `json:"tags,omitempty"`
}

// newServer starts a loopback HTTP server with bounded request heads, as
// every server that calls websocket.Accept should have.
func newServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.MaxHeaderBytes = 16 << 10
	srv.Start()
	return srv
}

// pair returns a client Conn and the server Conn it is connected to.
func pair(t testing.TB) (client, server *websocket.Conn) {
	t.Helper()
	got := make(chan *websocket.Conn, 1)
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- c
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	server = <-got
	t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
	return client, server
}

func TestRoundTrip(t *testing.T) {
	client, server := pair(t)
	big := chat{User: "ana", Text: strings.Repeat("long text ", 20000)} // 200 KB: several fragments
	for _, tc := range []struct {
		name  string
		write func(*websocket.Conn, any) error
		v     chat
	}{
		{"Write", wsjson.Write, chat{User: "ana", Text: "héllo", Tags: []string{"a"}}},
		{"WriteStream", wsjson.WriteStream, chat{User: "bo", Text: "hi"}},
		{"WriteStream/large", wsjson.WriteStream, big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() { errc <- tc.write(client, tc.v) }()
			var got chat
			if err := wsjson.Read(server, &got); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.v, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	client, server := pair(t)
	// A value that cannot be encoded: nothing is sent.
	if err := wsjson.Write(client, make(chan int)); err == nil {
		t.Fatal("Write(chan) succeeded")
	}
	for _, tc := range []struct {
		msg  string
		want error // nil: any decoding error
	}{
		{`{"user":"a"} {"user":"b"}`, wsjson.ErrTrailingData},
		{`{"user":`, nil},
		{`not json`, nil},
	} {
		if err := client.WriteMessage(websocket.Text, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		var v chat
		err := wsjson.Read(server, &v)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Read(%q) = %v, want %v", tc.msg, err, tc.want)
		}
	}
	// The connection is still fine.
	go wsjson.Write(client, chat{User: "ok"})
	var v chat
	if err := wsjson.Read(server, &v); err != nil || v.User != "ok" {
		t.Fatalf("after bad input: %+v, %v", v, err)
	}
}

func Example() {
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		var m chat
		for wsjson.Read(c, &m) == nil {
			m.Text = strings.ToUpper(m.Text)
			wsjson.Write(c, m)
		}
	}))
	defer srv.Close()

	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	wsjson.Write(c, chat{User: "ana", Text: "hello"})
	var reply chat
	if err := wsjson.Read(c, &reply); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %s\n", reply.User, reply.Text)
	c.Close(websocket.CloseNormal, "")
	// Output: ana: HELLO
}
