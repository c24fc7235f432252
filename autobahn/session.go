package autobahn

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hybi/websocket/frame"
	"github.com/hybi/websocket/mask"
)

// Timeouts of the fuzzer's own closing behaviour, the defaults of the
// testsuite's protocol options.
const (
	closeHandshakeTimeout       = time.Second // we sent close first; the peer must answer within
	serverConnectionDropTimeout = time.Second // as a client, after the handshake the server must close TCP within
	maxPeerMessage              = 64 << 20    // bound on any frame or message from the peer
)

type connState int

const (
	stateOpen connState = iota
	stateClosing
	stateClosed
)

// frameSpec is one frame the fuzzer sends, deliberately allowing anything the
// wire format can carry: reserved opcodes and bits, fragmented control
// frames, oversized control payloads.
type frameSpec struct {
	Opcode  frame.Opcode
	Payload []byte
	NoFin   bool  // clear FIN
	RSV     uint8 // three bits as the testsuite numbers them: 4 = RSV1, 2 = RSV2, 1 = RSV3
	Len     int   // when > 0, repeat Payload up to this many bytes
	Chop    int   // when > 0, write the frame's bytes in chunks of this size
	Sync    bool  // write the frame on its own, not coalesced with what follows
}

// writeQueue is the fuzzer's transport buffer: writes never block the case
// script (like a Twisted transport), a goroutine drains them in order.
type writeQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  [][]byte
	closed bool
	broken bool // a write failed: later writes are dropped
}

func newWriteQueue() *writeQueue {
	q := &writeQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *writeQueue) push(b []byte) {
	q.mu.Lock()
	if !q.closed && !q.broken {
		q.items = append(q.items, b)
		q.cond.Signal()
	}
	q.mu.Unlock()
}

// close stops accepting writes; the writer flushes what is queued (bounded
// by the write deadline the caller sets) and then closes the connection.
func (q *writeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *writeQueue) run(w net.Conn) {
	defer w.Close()
	for {
		q.mu.Lock()
		for len(q.items) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		b := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		q.mu.Unlock()
		if _, err := w.Write(b); err != nil {
			// The peer reset the connection. Closing it now would
			// throw away what the peer sent before and the reader has
			// not read yet (an echo, a Close frame): a peer that fails
			// the connection while chopped bytes are still coming
			// would be judged on a race. Stop writing and let the
			// reader drain the socket; its error ends the session,
			// which closes the queue.
			q.mu.Lock()
			q.broken = true
			q.items = nil
			for !q.closed {
				q.cond.Wait()
			}
			q.mu.Unlock()
			return
		}
	}
}

// session is one run of one case over one connection: the fuzzing peer.
// Every method runs on the session's event loop (case scripts, timers and
// received frames are serialized there), so a case needs no locking.
type session struct {
	Case     *Case
	isServer bool // the fuzzer's role: true tests a client, false tests a server
	conn     net.Conn
	br       *bufio.Reader
	wq       *writeQueue

	events chan func()
	done   chan struct{}
	ended  bool

	state          connState
	wasOpen        bool
	closedByMe     bool
	failedByMe     bool
	droppedByMe    bool
	wasClean       bool
	notCleanReason string
	serverDropTO   bool
	closeHSTO      bool
	localCode      *int
	localReason    []byte
	remoteCode     *int
	remoteReason   []byte

	closeHSTimer   *time.Timer
	serverDropTime *time.Timer

	// receive side
	inMessage  bool
	msgOpcode  frame.Opcode
	msgDeflate bool
	msgBuf     []byte
	utf8       utf8Validator

	// send side
	pmd              *pmdSession
	timersMu         sync.Mutex
	timers           []*time.Timer // started by after, stopped at the end
	AutoFragmentSize int
	txFrames         map[frame.Opcode]int
	streamKey        mask.Key
	streamPos        int
	streamMasked     bool

	// judging
	received      []event
	expected      []expectation
	expectedClose expectedClose
	suppressClose bool
	Behavior      Verdict
	BehaviorClose Verdict
	Result        string
	ResultClose   string

	// OnMessage, when set, replaces the default recording of data messages.
	OnMessage func(payload []byte, binary bool)
	// OnLost, when set, runs after the standard verdicts are computed.
	OnLost func()

	start, end time.Time
	trace      []string
	traceOn    bool
}

func newSession(c *Case, conn net.Conn, br *bufio.Reader, isServer bool, pmd *pmdSession) *session {
	s := &session{
		Case:          c,
		isServer:      isServer,
		conn:          conn,
		br:            br,
		wq:            newWriteQueue(),
		events:        make(chan func(), 256),
		done:          make(chan struct{}),
		pmd:           pmd,
		txFrames:      map[frame.Opcode]int{},
		Behavior:      Failed,
		BehaviorClose: Failed,
		Result:        "Actual events differ from any expected.",
		ResultClose:   "TCP connection was dropped without close handshake",
		traceOn:       true,
	}
	return s
}

// post runs fn on the event loop, unless the session has ended.
func (s *session) post(fn func()) {
	select {
	case s.events <- fn:
	case <-s.done:
	}
}

// after runs fn on the event loop after d. The timer is stopped when the
// session ends: a pending one would keep the whole session (its deflate
// state included) alive until it fires, long after the case.
func (s *session) after(d time.Duration, fn func()) *time.Timer {
	t := time.AfterFunc(d, func() { s.post(fn) })
	s.timersMu.Lock()
	s.timers = append(s.timers, t)
	s.timersMu.Unlock()
	return t
}

// stopTimers stops every timer after started.
func (s *session) stopTimers() {
	s.timersMu.Lock()
	for _, t := range s.timers {
		t.Stop()
	}
	s.timers = nil
	s.timersMu.Unlock()
}

func (s *session) tracef(format string, args ...any) {
	if s.traceOn && len(s.trace) < 400 {
		s.trace = append(s.trace, fmt.Sprintf("%8.3fs ", time.Since(s.start).Seconds())+fmt.Sprintf(format, args...))
	}
}

// EnableTrace switches the wire trace on or off (off for bulk traffic).
func (s *session) EnableTrace(on bool) { s.traceOn = on }

// conclude records a bulk case's verdict once its last echo is judged,
// traces the closing handshake and starts it with 1000.
func (s *session) conclude(b Verdict, result string) {
	s.Behavior = b
	s.Result = result
	s.EnableTrace(true)
	s.SendClose(1000, "")
}

// run drives the case until the connection is lost or the hard bound
// expires, then returns with the verdicts computed.
func (s *session) run(ctx context.Context, bound time.Duration) {
	go s.wq.run(s.conn)
	go s.readLoop()
	s.wasOpen = true
	s.start = time.Now()
	hard := time.NewTimer(bound)
	defer hard.Stop()
	defer s.stopTimers()
	s.Case.open(s)
	for !s.ended {
		select {
		case fn := <-s.events:
			fn()
		case <-hard.C:
			s.tracef("hard time bound %v reached: dropping", bound)
			s.notCleanReason = fmt.Sprintf("case exceeded its time bound of %v", bound)
			s.dropConnection()
		case <-ctx.Done():
			s.notCleanReason = "run cancelled"
			s.dropConnection()
		}
	}
}

// IsOpen reports whether the WebSocket connection is open (no close frame
// sent or received yet).
func (s *session) IsOpen() bool { return s.state == stateOpen }

// Expect adds an acceptable sequence of observed events and the verdict it
// earns.
func (s *session) Expect(v Verdict, events ...event) {
	if events == nil {
		events = []event{}
	}
	for i := range s.expected {
		if s.expected[i].Verdict == v {
			s.expected[i].Events = events
			return
		}
	}
	s.expected = append(s.expected, expectation{v, events})
}

// ExpectClose sets the expected closing behaviour.
func (s *session) ExpectClose(ec expectedClose) { s.expectedClose = ec }

// SuppressClose stops the automatic close the fuzzer sends when the
// observed events match what is expected.
func (s *session) SuppressClose() { s.suppressClose = true }

// Record appends an observation (a timeout marker) and checks whether the
// case is done.
func (s *session) Record(e event) {
	s.received = append(s.received, e)
	s.finishWhenDone()
}

// finishWhenDone starts the closing handshake once the observations equal
// every expected outcome, if the fuzzer is the one expected to close.
func (s *session) finishWhenDone() {
	for _, e := range s.expected {
		if !eventsEqual(s.received, e.Events) {
			return
		}
	}
	if s.expectedClose.ClosedByMe && !s.suppressClose {
		code := 1000
		if len(s.expectedClose.CloseCodes) > 0 {
			code = s.expectedClose.CloseCodes[0]
		}
		s.SendClose(code, "")
	}
}

// ---- sending ----

func (s *session) newKey() (mask.Key, bool) {
	if s.isServer {
		return mask.Key{}, false
	}
	return mask.NewKey(), true
}

func (s *session) sendData(b []byte, sync bool, chop int) {
	if chop > 0 {
		for i := 0; i < len(b); i += chop {
			j := min(i+chop, len(b))
			s.wq.push(b[i:j:j])
		}
		return
	}
	_ = sync // every queued write is its own Write call, which is what sync asks for
	s.wq.push(b)
}

// SendFrame writes one frame exactly as described, whatever the state of
// the connection (like the testsuite's sendFrame).
func (s *session) SendFrame(f frameSpec) {
	payload := f.Payload
	if f.Len > 0 && len(payload) > 0 {
		p := make([]byte, f.Len)
		for i := 0; i < f.Len; i += len(payload) {
			copy(p[i:], payload)
		}
		payload = p
	}
	key, masked := s.newKey()
	h := frame.Header{
		Fin:    !f.NoFin,
		RSV1:   f.RSV&4 != 0,
		RSV2:   f.RSV&2 != 0,
		RSV3:   f.RSV&1 != 0,
		Opcode: f.Opcode,
		Masked: masked,
		Key:    key,
		Length: int64(len(payload)),
	}
	buf := make([]byte, 0, frame.MaxHeaderSize+len(payload))
	buf = frame.AppendFrame(buf, h, payload)
	s.txFrames[f.Opcode]++
	s.tracef("TX FRAME op=%d fin=%v rsv=%d len=%d chop=%d sync=%v %s", f.Opcode, !f.NoFin, f.RSV, len(payload), f.Chop, f.Sync, logData(payload))
	s.sendData(buf, f.Sync, f.Chop)
}

// Send writes a final, unfragmented frame.
func (s *session) Send(op frame.Opcode, payload []byte) {
	s.SendFrame(frameSpec{Opcode: op, Payload: payload})
}

// SendMessage sends a data message, compressed when permessage-deflate was
// negotiated, split into fragments of fragSize bytes (or of
// AutoFragmentSize when fragSize is 0). Only while open.
func (s *session) SendMessage(payload []byte, binary bool, fragSize int) {
	if s.state != stateOpen {
		return
	}
	op := frame.OpText
	if binary {
		op = frame.OpBinary
	}
	var rsv uint8
	if s.pmd != nil {
		payload = s.pmd.compress(payload)
		rsv = 4
	}
	pfs := fragSize
	if pfs <= 0 {
		pfs = s.AutoFragmentSize
	}
	if pfs <= 0 || len(payload) <= pfs {
		s.SendFrame(frameSpec{Opcode: op, Payload: payload, RSV: rsv})
		return
	}
	// Like the testsuite: a payload that is an exact multiple of the
	// fragment size ends with an empty final fragment.
	first := true
	for i := 0; ; i += pfs {
		j := i + pfs
		done := j > len(payload)
		if done {
			j = len(payload)
		}
		if first {
			s.SendFrame(frameSpec{Opcode: op, Payload: payload[i:j], NoFin: !done, RSV: rsv})
			first = false
		} else {
			s.SendFrame(frameSpec{Opcode: frame.OpContinuation, Payload: payload[i:j], NoFin: !done})
		}
		if done {
			return
		}
	}
}

// BeginFrame starts a non-final frame of the given length whose payload is
// then written in pieces with FrameData (RFC 6455 allows a frame to arrive
// over any time). Only while open.
func (s *session) BeginFrame(op frame.Opcode, length int) {
	if s.state != stateOpen {
		return
	}
	key, masked := s.newKey()
	h := frame.Header{Opcode: op, Masked: masked, Key: key, Length: int64(length)}
	s.streamKey, s.streamPos, s.streamMasked = key, 0, masked
	s.txFrames[op]++
	s.tracef("TX FRAME HEADER op=%d fin=false len=%d", op, length)
	s.sendData(frame.AppendHeader(nil, h), false, 0)
}

// FrameData writes the next piece of the frame BeginFrame started.
func (s *session) FrameData(p []byte) {
	if s.state != stateOpen {
		return
	}
	b := append([]byte(nil), p...)
	if s.streamMasked {
		s.streamPos = mask.Apply(s.streamKey, s.streamPos, b)
	}
	s.tracef("TX FRAME DATA %s", logData(p))
	s.sendData(b, false, 0)
}

// EndMessage ends a streamed message with an empty final continuation.
func (s *session) EndMessage() {
	if s.state != stateOpen {
		return
	}
	s.SendFrame(frameSpec{Opcode: frame.OpContinuation})
}

// SendCloseFrame sends a close frame with any code (code < 0: no payload
// at all) and raw reason bytes, and moves to the closing state, like the
// testsuite's sendCloseFrame. Nothing happens unless open.
func (s *session) SendCloseFrame(code int, reason []byte) {
	s.sendCloseFrame(code, reason, false)
}

func (s *session) sendCloseFrame(code int, reason []byte, isReply bool) {
	if s.state != stateOpen {
		return
	}
	var payload []byte
	if code >= 0 {
		payload = binary.BigEndian.AppendUint16(nil, uint16(code))
		c := code
		s.localCode = &c
	}
	if reason != nil {
		payload = append(payload, reason...)
		s.localReason = reason
	}
	s.SendFrame(frameSpec{Opcode: frame.OpClose, Payload: payload})
	s.state = stateClosing
	s.closedByMe = !isReply
	if s.closedByMe {
		s.closeHSTimer = s.after(closeHandshakeTimeout, s.onCloseHandshakeTimeout)
	}
}

// SendClose starts the closing handshake with a code (< 0: none) and an
// optional reason.
func (s *session) SendClose(code int, reason string) {
	var r []byte
	if reason != "" {
		r = []byte(reason)
	}
	s.sendCloseFrame(code, r, false)
}

// KillAfter fails the connection after d unless it is closed by then: the
// fuzzer sends close 1001 (or drops TCP when already closing).
func (s *session) KillAfter(d time.Duration) {
	s.tracef("KILL AFTER %v", d)
	s.after(d, func() {
		if s.state != stateClosed {
			s.tracef("KILL")
			s.failConnection(1001, "Going Away")
		}
	})
}

// CloseAfter starts the closing handshake (close without a code) after d
// unless the connection is closing or closed by then.
func (s *session) CloseAfter(d time.Duration) {
	s.tracef("CLOSE AFTER %v", d)
	s.after(d, func() {
		if s.state != stateClosed {
			s.tracef("CLOSE TIMEOUT")
			s.SendClose(-1, "")
		}
	})
}

// ContinueLater runs fn after d unless the connection is closed by then.
func (s *session) ContinueLater(d time.Duration, fn func()) {
	s.after(d, func() {
		if s.state != stateClosed {
			fn()
		}
	})
}

// ---- failing and dropping ----

func (s *session) failConnection(code int, reason string) {
	if s.state == stateClosed {
		return
	}
	s.failedByMe = true
	if s.state != stateClosing {
		r := []byte(reason)
		if len(r) > 123 {
			r = r[:123]
		}
		s.sendCloseFrame(code, r, false)
	} else {
		s.dropConnection()
	}
}

func (s *session) protocolViolation(reason string) {
	s.tracef("PROTOCOL VIOLATION by peer: %s", reason)
	s.failConnection(1002, reason)
}

func (s *session) invalidPayload(reason string) {
	s.tracef("INVALID PAYLOAD from peer: %s", reason)
	s.failConnection(1007, reason)
}

func (s *session) onCloseHandshakeTimeout() {
	if s.state != stateClosed {
		s.tracef("close handshake timeout")
		s.wasClean = false
		s.notCleanReason = "peer did not respond (in time) in closing handshake"
		s.closeHSTO = true
		s.dropConnection()
	}
}

func (s *session) onServerConnectionDropTimeout() {
	if s.state != stateClosed {
		s.tracef("server connection drop timeout")
		s.wasClean = false
		s.notCleanReason = "server did not drop TCP connection (in time)"
		s.serverDropTO = true
		s.dropConnection()
	}
}

// dropConnection closes TCP from our side and ends the case.
func (s *session) dropConnection() {
	if s.state == stateClosed {
		return
	}
	s.tracef("DROP TCP")
	s.droppedByMe = true
	s.connectionLost()
}

// connectionLost ends the session and computes the verdicts.
func (s *session) connectionLost() {
	if s.ended {
		return
	}
	if s.state != stateClosed {
		s.state = stateClosed
	}
	if !s.wasClean && !s.droppedByMe && s.notCleanReason == "" {
		s.notCleanReason = "peer dropped the TCP connection without previous WebSocket closing handshake"
	}
	s.ended = true
	s.end = time.Now()
	if s.closeHSTimer != nil {
		s.closeHSTimer.Stop()
	}
	if s.serverDropTime != nil {
		s.serverDropTime.Stop()
	}
	// Flush what is queued (a close reply, say), but never wait long on a
	// peer that does not read.
	s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	s.wq.close()
	close(s.done)
	s.judge()
	if s.OnLost != nil {
		s.OnLost()
	}
}

// judge computes behavior and behaviorClose the way the testsuite's
// Case.onConnectionLost does.
func (s *session) judge() {
	for _, e := range s.expected {
		if eventsEqual(s.received, e.Events) {
			s.Behavior = e.Verdict
			s.Result = "Actual events match at least one expected."
			break
		}
	}
	if !s.wasOpen {
		s.BehaviorClose = Failed
		s.ResultClose = "The WebSocket opening handshake was never completed!"
		return
	}
	ec := s.expectedClose
	switch {
	case ec.ClosedByMe != s.closedByMe:
		s.BehaviorClose = Failed
		s.ResultClose = "The connection was failed by the wrong endpoint"
	case ec.RequireClean && !s.wasClean:
		s.BehaviorClose = Unclean
		s.ResultClose = "The spec requires the connection to be failed cleanly here"
	case s.remoteCode != nil && !containsInt(ec.CloseCodes, *s.remoteCode):
		s.BehaviorClose = WrongCode
		s.ResultClose = fmt.Sprintf("The close code should have been %s or empty", joinInts(ec.CloseCodes))
	case !s.isServer && s.droppedByMe:
		s.BehaviorClose = FailedByClient
		s.ResultClose = "It is preferred that the server close the TCP connection"
	default:
		s.BehaviorClose = OK
		s.ResultClose = "Connection was properly closed"
	}
	if ec.WrongEndpointFatal && ec.ClosedByMe != s.closedByMe {
		s.Behavior = Failed
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(list []int) string {
	s := ""
	for i, x := range list {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(x)
	}
	return s
}

// ---- receiving ----

// readLoop parses frames off the connection and hands them to the loop.
// It applies no protocol rules beyond the wire format; the loop judges.
func (s *session) readLoop() {
	for {
		h, payload, err := readFrame(s.br)
		if err != nil {
			var pe *frame.ProtocolError
			if errors.As(err, &pe) {
				s.post(func() {
					s.tracef("PROTOCOL VIOLATION by peer: %s", pe.Reason)
					s.failConnection(int(pe.Code), pe.Reason)
				})
				// The stream cannot be resynchronised after a malformed header:
				// wait for the close handshake to time out.
				<-s.done
				return
			}
			s.post(func() {
				if s.state != stateClosed {
					s.tracef("TCP closed by peer (%v)", err)
				}
				s.connectionLost()
			})
			return
		}
		s.post(func() { s.onFrame(h, payload) })
	}
}

var errTooBig = &frame.ProtocolError{Code: frame.CloseMessageTooBig, Reason: "frame larger than the fuzzer's limit"}

func readFrame(br *bufio.Reader) (frame.Header, []byte, error) {
	b, err := br.Peek(2)
	if err != nil {
		return frame.Header{}, nil, err
	}
	size := 2
	switch b[1] & 0x7f {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b[1]&0x80 != 0 {
		size += 4
	}
	hb, err := br.Peek(size)
	if err != nil {
		return frame.Header{}, nil, err
	}
	h, n, err := frame.ParseHeader(hb)
	if err != nil {
		return h, nil, err
	}
	if _, err := br.Discard(n); err != nil {
		return h, nil, err
	}
	if h.Length > maxPeerMessage {
		return h, nil, errTooBig
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(br, payload); err != nil {
		return h, nil, err
	}
	if h.Masked {
		mask.Apply(h.Key, 0, payload)
	}
	return h, payload, nil
}

// onFrame applies the receive rules of the testsuite's protocol to one
// frame from the peer. Violations fail the connection (close 1002) but the
// frame is still processed so the closing handshake can complete.
func (s *session) onFrame(h frame.Header, payload []byte) {
	if s.state == stateClosed {
		return
	}
	rsv := h.RSV()
	s.tracef("RX FRAME op=%d fin=%v rsv=%d masked=%v len=%d %s", h.Opcode, h.Fin, rsv, h.Masked, len(payload), logData(payload))
	if rsv != 0 && !(s.pmd != nil && rsv == frame.RSV1) {
		s.protocolViolation(fmt.Sprintf("RSV bits %03b and no extension negotiated", rsvBits(h)))
	}
	if s.isServer && !h.Masked {
		s.protocolViolation("unmasked client-to-server frame")
	}
	if !s.isServer && h.Masked {
		s.protocolViolation("masked server-to-client frame")
	}
	if h.Opcode > 7 {
		if !h.Fin {
			s.protocolViolation("fragmented control frame")
		}
		if len(payload) > 125 {
			s.protocolViolation("control frame with payload length > 125 octets")
		}
		if h.Opcode != frame.OpClose && h.Opcode != frame.OpPing && h.Opcode != frame.OpPong {
			s.protocolViolation(fmt.Sprintf("control frame using reserved opcode %d", h.Opcode))
		}
		if h.Opcode == frame.OpClose && len(payload) == 1 {
			s.protocolViolation("received close control frame with payload len 1")
		}
		if s.pmd != nil && h.RSV1 {
			s.protocolViolation("received compressed control frame")
		}
		s.onControl(h, payload)
		return
	}
	if h.Opcode > 2 {
		s.protocolViolation(fmt.Sprintf("data frame using reserved opcode %d", h.Opcode))
		return
	}
	if !s.inMessage && h.Opcode == frame.OpContinuation {
		s.protocolViolation("received continuation data frame outside fragmented message")
		return
	}
	if s.inMessage && h.Opcode != frame.OpContinuation {
		s.protocolViolation("received non-continuation data frame while inside fragmented message")
		return
	}
	if s.pmd != nil && h.RSV1 && s.inMessage {
		s.protocolViolation("received continuation data frame with compress bit set")
	}
	if !s.inMessage {
		s.inMessage = true
		s.msgOpcode = h.Opcode
		s.msgDeflate = s.pmd != nil && h.RSV1
		s.msgBuf = s.msgBuf[:0]
		s.utf8.reset()
	}
	if len(s.msgBuf)+len(payload) > maxPeerMessage {
		s.failConnection(1009, "message exceeds the fuzzer's limit")
		s.inMessage = false
		return
	}
	s.msgBuf = append(s.msgBuf, payload...)
	if !s.msgDeflate && s.msgOpcode == frame.OpText && !s.utf8.write(payload) {
		s.invalidPayload("encountered invalid UTF-8 while processing text message")
	}
	if !h.Fin {
		return
	}
	s.inMessage = false
	msg := s.msgBuf
	if s.msgDeflate {
		out, err := s.pmd.decompress(msg, maxPeerMessage)
		if err != nil {
			s.protocolViolation("permessage-deflate: " + err.Error())
			return
		}
		msg = out
		if s.msgOpcode == frame.OpText {
			s.utf8.reset()
			if !s.utf8.write(msg) {
				s.invalidPayload("encountered invalid UTF-8 while processing text message")
			}
		}
	}
	if s.msgOpcode == frame.OpText && !s.utf8.complete() {
		s.invalidPayload("UTF-8 text message payload ended within Unicode code point")
	}
	if s.failedByMe {
		return
	}
	msg = append([]byte(nil), msg...)
	binaryMsg := s.msgOpcode == frame.OpBinary
	if s.OnMessage != nil {
		s.OnMessage(msg, binaryMsg)
		return
	}
	s.Record(message(msg, binaryMsg))
}

func rsvBits(h frame.Header) int {
	v := 0
	if h.RSV1 {
		v |= 4
	}
	if h.RSV2 {
		v |= 2
	}
	if h.RSV3 {
		v |= 1
	}
	return v
}

func (s *session) onControl(h frame.Header, payload []byte) {
	switch h.Opcode {
	case frame.OpPing:
		if s.state == stateOpen {
			s.Send(frame.OpPong, payload)
		}
	case frame.OpPong:
		s.Record(pong(append([]byte(nil), payload...)))
	case frame.OpClose:
		s.onCloseFrame(payload)
	}
}

func (s *session) onCloseFrame(payload []byte) {
	var code *int
	var reason []byte
	if len(payload) >= 2 {
		c := int(binary.BigEndian.Uint16(payload))
		code = &c
		if len(payload) > 2 {
			reason = payload[2:]
		}
	}
	s.remoteCode = code
	if code != nil && !closeCodeAllowed(*code) {
		s.protocolViolation(fmt.Sprintf("invalid close code %d", *code))
	}
	if reason != nil {
		var v utf8Validator
		if !v.write(reason) || !v.complete() {
			s.invalidPayload("invalid close reason (non-UTF-8 payload)")
		}
		s.remoteReason = append([]byte(nil), reason...)
	}
	switch s.state {
	case stateClosing:
		// The peer's answer to our close.
		if s.closeHSTimer != nil {
			s.closeHSTimer.Stop()
			s.closeHSTimer = nil
		}
		s.wasClean = true
		if s.isServer {
			s.dropConnection()
		} else {
			s.serverDropTime = s.after(serverConnectionDropTimeout, s.onServerConnectionDropTimeout)
		}
	case stateOpen:
		// The peer starts the closing handshake: answer 1000.
		s.wasClean = true
		s.sendCloseFrame(1000, nil, true)
		if s.isServer {
			s.dropConnection()
		}
	}
}

// closeCodeAllowed is the testsuite's check of a received close code: 1000
// to 2999 only the defined codes, 3000 to 4999 all, the rest none.
func closeCodeAllowed(c int) bool {
	switch {
	case c < 1000 || c >= 5000:
		return false
	case c <= 2999:
		switch c {
		case 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011:
			return true
		}
		return false
	}
	return true
}
