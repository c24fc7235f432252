package autobahn_test

import (
	"fmt"

	"github.com/hybi/websocket/autobahn"
)

func ExampleSelect() {
	cases := autobahn.Select([]string{"7.9.*"}, []string{"7.9.1"})
	fmt.Println(len(autobahn.Cases()), "cases in the catalogue")
	for _, c := range cases[:2] {
		fmt.Println(c.ID, c.Description)
	}
	// Output:
	// 517 cases in the catalogue
	// 7.9.2 Send close with invalid close code 999
	// 7.9.3 Send close with invalid close code 1004
}

func ExampleGateIndex() {
	idx := autobahn.Index{"hybi": {
		"6.4.3":  {Behavior: autobahn.NonStrict, BehaviorClose: autobahn.OK},
		"7.13.1": {Behavior: autobahn.Informational, BehaviorClose: autobahn.Informational},
		"12.1.1": {Behavior: autobahn.Unimplemented, BehaviorClose: autobahn.OK},
	}}
	bad, err := autobahn.GateIndex("index.json", idx)
	for _, b := range bad {
		fmt.Println(b)
	}
	fmt.Println(err)
	// Output:
	// index.json: agent "hybi" case 6.4.3: behavior NON-STRICT, behaviorClose OK
	// index.json: agent "hybi" case 12.1.1: behavior UNIMPLEMENTED, behaviorClose OK
	// <nil>
}
