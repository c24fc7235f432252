//go:build !linux

package main

import "log"

func main() { log.Fatal("hbfloor: needs Linux (epoll)") }
