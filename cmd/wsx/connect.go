package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	websocket "github.com/hybi/websocket"
	"github.com/hybi/websocket/frame"
)

const connectUsage = `usage: wsx connect [flags] URL [MESSAGE...]

An interactive WebSocket client. Each line typed on stdin is sent as a text
message; received messages are printed on stdout as they arrive ("< text",
"< binary N bytes: hex"). Lines starting with / are commands:

  /binary TEXT        send TEXT as a binary message
  /hex 0a0bff         send these bytes as a binary message
  /text TEXT          send TEXT as a text message (also: //TEXT sends "/TEXT")
  /ping [TEXT]        send a Ping (its Pong shows with -trace)
  /close [CODE [REASON]]  start the closing handshake (default 1000)
  /sleep DURATION     pause (for scripts), e.g. /sleep 1.5s
  /quit               same as /close 1000

End of input (Ctrl-D) or /close ends the input: wsx waits for the replies
(-wait; by default one per data message sent, none when stdin is a
terminal) for at most -timeout, then closes (with 1000 unless /close named
a code). Ctrl-C closes with 1001 at once; a second Ctrl-C drops the
connection. When the connection ends, wsx prints how:
who closed, the code and reason, which Close frames crossed in which order,
and the cause.

Non-interactive mode: messages given after the URL (or with -file, one a
line, same syntax as typed lines) are sent in order, then the input ends as
above: wsx waits for the replies, closes and exits.

-read-timeout sets a read deadline before every read: a timeout is printed
and reading goes on, since a hybi connection survives it; -timeout-closes
instead drops the connection at the first timeout, as clients whose
timeouts are fatal do, to reproduce their failure (see docs/wsx.md).

-trace prints every frame in both directions on stderr: time, seconds since
start, direction (client→server or server→client), opcode, FIN, RSV1, MASK,
payload length, and the payload of control frames and small data frames
(a Close frame's code and reason).

Exit status: 0 the closing handshake completed (started by wsx with any
code, or by the server with 1000, 1001 or 1005);
1 the connection failed or closed with another code, or fewer replies than
-wait arrived; 2 bad usage; 3 could not connect (the refused handshake's
status and body are printed).

Examples:
  wsx connect ws://127.0.0.1:9001/
  wsx connect -trace ws://127.0.0.1:9001/ hello '/ping hi' '/close 4000 done'
  wsx connect -H 'Authorization: Bearer x' -subprotocol chat.v2 wss://example.com/ws
  wsx connect -cacert ca.pem -wait 3 -timeout 5s -file msgs.txt wss://127.0.0.1:9443/

Flags:
`

// action is one parsed input line.
type action struct {
	kind   string // "data", "ping", "close", "sleep"
	typ    websocket.MessageType
	data   []byte
	code   websocket.CloseCode
	reason string
	dur    time.Duration
}

// message is a received message.
type message struct {
	typ websocket.MessageType
	p   []byte
}

// parseLine turns one input line into an action; binary sends every plain
// line as a binary message.
func parseLine(line string, binary bool) (action, error) {
	plain := websocket.Text
	if binary {
		plain = websocket.Binary
	}
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		if strings.HasPrefix(line, "//") {
			line = line[1:]
		}
		return action{kind: "data", typ: plain, data: []byte(line)}, nil
	}
	cmd, arg, _ := strings.Cut(line[1:], " ")
	switch cmd {
	case "text":
		return action{kind: "data", typ: websocket.Text, data: []byte(arg)}, nil
	case "binary":
		return action{kind: "data", typ: websocket.Binary, data: []byte(arg)}, nil
	case "hex":
		b, err := hex.DecodeString(strings.Join(strings.Fields(arg), ""))
		if err != nil {
			return action{}, fmt.Errorf("/hex: invalid hex: %v", err)
		}
		return action{kind: "data", typ: websocket.Binary, data: b}, nil
	case "ping":
		if len(arg) > frame.MaxControlPayload {
			return action{}, fmt.Errorf("/ping: payload of %d bytes, at most %d", len(arg), frame.MaxControlPayload)
		}
		return action{kind: "ping", data: []byte(arg)}, nil
	case "close", "quit":
		a := action{kind: "close", code: frame.CloseNormal}
		if arg = strings.TrimSpace(arg); arg != "" && cmd == "close" {
			num, reason, _ := strings.Cut(arg, " ")
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n > 65535 {
				return action{}, fmt.Errorf("/close: %q is not a close code", num)
			}
			a.code, a.reason = websocket.CloseCode(n), reason
			var scratch [frame.MaxControlPayload]byte
			if a.code != frame.CloseNoStatus {
				if _, err := frame.AppendClose(scratch[:0], a.code, a.reason); err != nil {
					return action{}, fmt.Errorf("/close: %v", err)
				}
			}
		}
		return a, nil
	case "sleep":
		d, err := time.ParseDuration(strings.TrimSpace(arg))
		if err != nil || d < 0 {
			return action{}, fmt.Errorf("/sleep: %q is not a duration", arg)
		}
		return action{kind: "sleep", dur: d}, nil
	case "help":
		return action{kind: "help"}, nil
	}
	return action{}, fmt.Errorf("unknown command /%s (try /help)", cmd)
}

// printMessage prints a received message on w.
func printMessage(w io.Writer, typ websocket.MessageType, p []byte) {
	if typ == websocket.Text && utf8.Valid(p) && !strings.ContainsAny(string(p), "\r\n") {
		fmt.Fprintf(w, "< %s\n", p)
		return
	}
	if typ == websocket.Text {
		fmt.Fprintf(w, "< %q\n", p)
		return
	}
	const max = 256
	more := ""
	if len(p) > max {
		p, more = p[:max], "…"
	}
	fmt.Fprintf(w, "< binary %d bytes: %x%s\n", len(p), p, more)
}

// isTerminal reports whether r is an *os.File on a character device (a
// terminal).
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func runConnect(args []string, stdout, stderr io.Writer) int {
	return connect(args, os.Stdin, stdout, stderr)
}

func connect(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("connect", connectUsage, stderr)
	var cf clientFlags
	cf.register(fs, true)
	trace := fs.Bool("trace", false, "print every frame in both directions on stderr")
	binary := fs.Bool("binary", false, "send plain lines as binary messages")
	file := fs.String("file", "", "non-interactive: send the lines of this `file` ('-' for stdin)")
	wait := fs.Int("wait", -1, "at the end of the input, replies to wait for before closing (default: the number of data messages sent; 0 on a terminal)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for those replies; also bounds the opening handshake")
	closeTimeout := fs.Duration("close-timeout", 5*time.Second, "how long the closing handshake may take")
	readTimeout := fs.Duration("read-timeout", 0, "set a read deadline this far ahead before every read; a timeout is printed and reading goes on (hybi's connection survives it)")
	timeoutCloses := fs.Bool("timeout-closes", false, "with -read-timeout: drop the connection at the first timeout, as clients whose timeouts are fatal do (to reproduce their failure)")
	pos, code, done := parseInterleaved(fs, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "wsx connect: want a URL (wsx connect -h)")
		return exitUsage
	}
	rawURL, msgs := pos[0], pos[1:]
	if err := checkURL(rawURL); err != nil {
		fmt.Fprintln(stderr, "wsx connect:", err)
		return exitUsage
	}
	opts, err := cf.dialOptions()
	if err != nil {
		fmt.Fprintln(stderr, "wsx connect:", err)
		return exitUsage
	}
	opts.CloseTimeout = *closeTimeout
	tr := newTracer(stderr)
	if *trace {
		opts.Trace = tr.hook("", "client→server", "server→client")
		opts.TracePayload = true
	}

	// The script: arguments or a file; else stdin is read as it comes.
	interactive := len(msgs) == 0 && *file == ""
	var script []action
	if !interactive {
		lines := msgs
		if *file != "" {
			var r io.Reader = stdin
			if *file != "-" {
				f, err := os.Open(*file)
				if err != nil {
					fmt.Fprintln(stderr, "wsx connect:", err)
					return exitUsage
				}
				defer f.Close()
				r = f
			}
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 16<<20)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			if err := sc.Err(); err != nil {
				fmt.Fprintln(stderr, "wsx connect:", err)
				return exitUsage
			}
		}
		for i, l := range lines {
			a, err := parseLine(l, *binary)
			if err != nil {
				fmt.Fprintf(stderr, "wsx connect: message %d: %v\n", i+1, err)
				return exitUsage
			}
			script = append(script, a)
		}
	}

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	dialDone := make(chan struct{})
	go func() { // Ctrl-C during the handshake abandons it.
		select {
		case <-sig:
			cancel()
		case <-dialDone:
		}
	}()
	c, res, err := websocket.Dial(ctx, rawURL, opts)
	close(dialDone)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "wsx connect:", dialError(err))
		return exitNoDial
	}
	exts := make([]string, len(res.Extensions))
	for i, e := range res.Extensions {
		exts[i] = e.String()
	}
	fmt.Fprintf(stderr, "connected to %s (subprotocol %q, extensions %q)\n", rawURL, res.Subprotocol, strings.Join(exts, ", "))

	// The reader hands each message to a printer and reads again at once:
	// a Close started by another goroutine discards data messages that
	// arrive while no read is in progress.
	replies := make(chan struct{}, 1024)
	readerDone := make(chan error, 1)
	printed := make(chan struct{})
	inbox := make(chan message, 64)
	go func() {
		defer close(printed)
		for m := range inbox {
			printMessage(stdout, m.typ, m.p)
			select {
			case replies <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		for {
			if *readTimeout > 0 {
				c.SetReadDeadline(time.Now().Add(*readTimeout))
			}
			typ, p, err := c.ReadMessage(nil)
			if *readTimeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				if *timeoutCloses {
					tr.note("", fmt.Sprintf("read timed out after %s: -timeout-closes drops the connection (no Close frame)", *readTimeout))
					c.CloseNow()
				} else {
					tr.note("", fmt.Sprintf("read timed out after %s; the connection stays open, reading on", *readTimeout))
				}
				continue
			}
			if err != nil {
				close(inbox)
				<-printed
				readerDone <- err
				return
			}
			inbox <- message{typ, p}
		}
	}()

	// Input: the script, or stdin parsed line by line. Pauses happen
	// here, so the loop below always answers Ctrl-C.
	actions := make(chan action)
	go func() {
		defer close(actions)
		feed := func(a action) {
			if a.kind == "sleep" {
				time.Sleep(a.dur)
				return
			}
			actions <- a
		}
		if !interactive {
			for _, a := range script {
				feed(a)
			}
			return
		}
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			a, err := parseLine(sc.Text(), *binary)
			if err != nil {
				fmt.Fprintln(stderr, "wsx connect:", err)
				continue
			}
			feed(a)
		}
	}()

	// When the input ends (or says /close), wsx waits for the replies
	// (-wait, by default one per data message sent; none on a terminal,
	// where a person watches) for at most -timeout, then closes. Closing
	// at once would lose replies still in flight: Close discards data
	// messages that arrive while it waits for the peer's Close.
	closing, inputDone := false, false
	closeCode, closeReason := frame.CloseNormal, ""
	startClose := func(code websocket.CloseCode, reason string) {
		if !closing {
			closing = true
			go c.Close(code, reason)
		}
	}
	sent, got, want := 0, 0, 0
	var deadline <-chan time.Time
	endInput := func() {
		inputDone, actions = true, nil
		want = *wait
		if want < 0 {
			want = sent
			if interactive && isTerminal(stdin) {
				want = 0
			}
		}
		deadline = time.After(*timeout)
	}
	var endErr error
loop:
	for {
		if inputDone && got >= want {
			startClose(closeCode, closeReason)
		}
		select {
		case a, ok := <-actions:
			if !ok {
				endInput()
				continue
			}
			var err error
			switch a.kind {
			case "data":
				sent++
				err = c.WriteMessage(a.typ, a.data)
			case "ping":
				err = c.Ping(a.data)
			case "close":
				closeCode, closeReason = a.code, a.reason
				endInput()
			case "help":
				fmt.Fprint(stderr, connectUsage[strings.Index(connectUsage, "  /binary"):strings.Index(connectUsage, "End of input")])
			}
			if err != nil {
				fmt.Fprintln(stderr, "wsx connect: send:", err)
			}
		case <-replies:
			got++
		case <-deadline:
			startClose(closeCode, closeReason)
		case <-sig:
			if closing {
				c.CloseNow()
			}
			startClose(frame.CloseGoingAway, "interrupted")
		case endErr = <-readerDone:
			break loop
		}
	}
	for len(replies) > 0 { // counted but not yet taken
		<-replies
		got++
	}
	short := ""
	if inputDone && got < want {
		short = fmt.Sprintf("got %d of %d replies", got, want)
	}
	fmt.Fprint(stderr, describeClose("", endErr))
	if short != "" {
		fmt.Fprintln(stderr, "wsx connect:", short)
		return exitFailed
	}
	if cleanClose(endErr) {
		return exitClean
	}
	return exitFailed
}
