// Package adversary attacks hybi's servers as a hostile peer would and
// reports, for each attack, what the attacker saw (the close code or HTTP
// status, the time until the server closed) and what it cost the server
// (peak goroutines and resident memory, and whether both came back down).
//
// The servers under attack run in a separate process (Serve), so that
// their memory is theirs alone: hybi's goroutine-per-connection server and
// its Loop server, each with permessage-deflate on and off. Every attack is
// bounded in connections, bytes and time and talks to loopback only.
// Soak runs many verified echo connections against the same servers.
//
// The command is adversary/cmd/adversary; docs/reliability.md holds the
// full table and the soak figures with the commands that produced them.
package adversary
