// Package lib holds one small adapter per WebSocket library under comparison
// (hybi, gorilla/websocket, coder/websocket, gobwas/ws, lxzan/gws and
// lesismal/nbio), each written against that library's documented fast path,
// behind one interface: an echo server that can also broadcast, and a client
// that does one round trip at a time. hybi-loop is hybi's server on a
// websocket.Loop (no goroutine per connection) with hybi's client.
//
// All adapters send and echo binary messages; the peers' UTF-8 checks are
// therefore not part of any measurement. Servers keep every connection in a
// registry (a map) so that they can broadcast; that costs every library the
// same few dozen bytes per connection.
package lib
