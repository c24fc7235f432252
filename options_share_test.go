package websocket

import (
	"reflect"
	"testing"
	"time"
)

// TestOptionsKeyComplete keeps optionsKey in step with Options: every
// field of Options is a callback or has its counterpart in optionsKey, so
// that frozenOptions never shares a copy between different settings.
func TestOptionsKeyComplete(t *testing.T) {
	ot, kt := reflect.TypeFor[Options](), reflect.TypeFor[optionsKey]()
	want := 0
	for f := range ot.Fields() {
		if f.Type.Kind() == reflect.Func {
			continue
		}
		want++
		kf, ok := kt.FieldByName(f.Name)
		if !ok || kf.Type != f.Type {
			t.Errorf("optionsKey lacks Options.%s (%s)", f.Name, f.Type)
		}
	}
	if kt.NumField() != want {
		t.Errorf("optionsKey has %d fields, Options %d that are not callbacks", kt.NumField(), want)
	}
}

// TestFrozenOptions: Conns with equal callback-free Options share one
// copy; a change to the caller's Options after the handshake reaches no
// Conn; Options with a callback are copied for each Conn.
func TestFrozenOptions(t *testing.T) {
	o := Options{PingInterval: time.Hour, CloseTimeout: 3 * time.Second}
	a := frozenOptions(&o)
	b := frozenOptions(&o)
	if a != b {
		t.Error("equal Options without callbacks were not shared")
	}
	if a == &o {
		t.Fatal("frozenOptions returned the caller's Options")
	}
	o.CloseTimeout = time.Second
	c := frozenOptions(&o)
	if c == a || a.CloseTimeout != 3*time.Second || c.CloseTimeout != time.Second {
		t.Errorf("after a change: shared %v, old CloseTimeout %v, new %v", c == a, a.CloseTimeout, c.CloseTimeout)
	}
	o.OnPing = func([]byte) {}
	d, e := frozenOptions(&o), frozenOptions(&o)
	if d == e || d.OnPing == nil {
		t.Errorf("Options with a callback: shared %v, OnPing kept %v", d == e, d.OnPing != nil)
	}
	o.OnPing = nil
	if d.OnPing == nil {
		t.Error("clearing the caller's callback reached the Conn's copy")
	}
}
