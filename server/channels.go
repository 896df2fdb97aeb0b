package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hopsml/hops/kernel"
)

// v1Protocol is the binary kernel websocket protocol JupyterLab offers first. Without it, the legacy
// JSON protocol is spoken (reference/jupyter-protocol.md §1.6).
const v1Protocol = "v1.kernel.websocket.jupyter.org"

// Websocket limits: a client that stops reading gets disconnected instead of growing the server's
// memory; it reconnects and receives what was buffered meanwhile.
const (
	maxQueuedBytes = 256 << 20
	writeTimeout   = 30 * time.Second
	pingInterval   = 30 * time.Second
)

// channel is one websocket attached to a kernel.
type channel struct {
	k       *Kernel
	ws      *websocket.Conn
	session string // the client's session id: header.session of its messages
	v1      bool

	mu     sync.Mutex
	queue  [][]byte // encoded frames waiting for the writer
	queued int
	wake   chan struct{}
	closed bool
	done   chan struct{}
	cancel context.CancelFunc // ends sends to the kernel on behalf of this websocket
}

// wsWriteBuffers lends websockets their write buffer only while they write: most kernel websockets
// sit idle most of the time, and a buffer each would cost 16 KiB per open notebook.
var wsWriteBuffers sync.Pool

func (s *Server) handleChannels(w http.ResponseWriter, r *http.Request) {
	k, err := s.kernels.get(r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	upgrader := websocket.Upgrader{
		Subprotocols:      []string{v1Protocol},
		CheckOrigin:       s.auth.checkOrigin,
		EnableCompression: false, // kernel traffic is small and latency-bound
		WriteBufferSize:   16 << 10,
		WriteBufferPool:   &wsWriteBuffers,
		// ReadBufferSize 0 reuses the 4 KiB reader net/http already gave the connection.
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ws.SetReadLimit(kernel.MaxMessageSize)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch := &channel{k: k, ws: ws, session: r.URL.Query().Get("session_id"), v1: ws.Subprotocol() == v1Protocol,
		wake: make(chan struct{}, 1), done: make(chan struct{}), cancel: cancel}
	k.attach(ch)
	defer k.detach(ch)
	go ch.writeLoop()
	ch.readLoop(ctx)
	ch.close(websocket.CloseNormalClosure, "")
}

// readLoop forwards the client's messages to the kernel until the websocket closes.
func (ch *channel) readLoop(ctx context.Context) {
	for {
		typ, data, err := ch.ws.ReadMessage()
		if err != nil {
			return
		}
		var channelName string
		var m *kernel.Message
		if ch.v1 {
			if typ != websocket.BinaryMessage {
				ch.k.log.Warn("dropped a text frame on a v1 websocket")
				continue
			}
			channelName, m, err = decodeV1(data)
		} else {
			channelName, m, err = decodeLegacy(typ, data)
		}
		if err != nil {
			ch.k.log.Warn("dropped a malformed websocket message", "err", err)
			continue
		}
		if err := ch.k.send(ctx, channelName, m); err != nil {
			if ctx.Err() != nil {
				return
			}
			ch.k.log.Warn("could not forward a message to the kernel", "channel", channelName, "err", err)
		}
	}
}

// send queues a kernel message for this websocket, encoded in its framing.
func (ch *channel) send(o outgoing) {
	var frame []byte
	if ch.v1 {
		frame = encodeV1(o.channel, o.msg)
	} else {
		frame = encodeLegacy(o.channel, o.msg)
	}
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	if ch.queued+len(frame) > maxQueuedBytes {
		ch.mu.Unlock()
		ch.k.log.Warn("client is not reading its output; disconnecting it")
		go ch.close(websocket.CloseTryAgainLater, "client too slow")
		return
	}
	ch.queue = append(ch.queue, frame)
	ch.queued += len(frame)
	ch.mu.Unlock()
	select {
	case ch.wake <- struct{}{}:
	default:
	}
}

// writeLoop is the websocket's only writer (gorilla allows one): it drains the queue and pings.
func (ch *channel) writeLoop() {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ch.done:
			return
		case <-ping.C:
			ch.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := ch.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				ch.close(websocket.CloseGoingAway, "")
				return
			}
		case <-ch.wake:
			ch.mu.Lock()
			batch := ch.queue
			ch.queue, ch.queued = nil, 0
			ch.mu.Unlock()
			for _, frame := range batch {
				typ := websocket.BinaryMessage
				if !ch.v1 && len(frame) > 0 && frame[0] == '{' {
					typ = websocket.TextMessage
				}
				ch.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
				if err := ch.ws.WriteMessage(typ, frame); err != nil {
					ch.close(websocket.CloseGoingAway, "")
					return
				}
			}
		}
	}
}

// close closes the websocket with a close frame, once.
func (ch *channel) close(code int, reason string) {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.closed = true
	ch.mu.Unlock()
	close(ch.done)
	ch.cancel()
	msg := websocket.FormatCloseMessage(code, reason)
	_ = ch.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	ch.ws.Close()
}

// encodeV1 frames a kernel message for the v1 protocol: a count of offsets, the offsets (u64 little
// endian), then channel, header, parent, metadata, content and buffers. The parts are the kernel's
// bytes, unparsed.
func encodeV1(channel string, m *kernel.Message) []byte {
	parts := append([][]byte{[]byte(channel), m.Header, m.Parent, m.Metadata, m.Content}, m.Buffers...)
	n := len(parts) + 1
	size := 8 * (1 + n)
	for _, p := range parts {
		size += len(p)
	}
	b := make([]byte, 8*(1+n), size)
	binary.LittleEndian.PutUint64(b, uint64(n))
	off := 8 * (1 + n)
	for i, p := range parts {
		binary.LittleEndian.PutUint64(b[8*(1+i):], uint64(off))
		off += len(p)
	}
	binary.LittleEndian.PutUint64(b[8*n:], uint64(off))
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// decodeV1 splits a v1 frame into its channel and message parts.
func decodeV1(b []byte) (string, *kernel.Message, error) {
	if len(b) < 8 {
		return "", nil, errors.New("v1 frame shorter than its offset count")
	}
	n := binary.LittleEndian.Uint64(b)
	if n < 6 || n > 1<<16 || uint64(len(b)) < 8*(1+n) {
		return "", nil, fmt.Errorf("v1 frame declares %d offsets in %d bytes", n, len(b))
	}
	offsets := make([]int, n)
	prev := 8 * (1 + n)
	for i := range offsets {
		o := binary.LittleEndian.Uint64(b[8*(1+i):])
		if o < prev || o > uint64(len(b)) {
			return "", nil, fmt.Errorf("v1 frame offset %d is out of order or past the end", i)
		}
		offsets[i], prev = int(o), o
	}
	if offsets[0] != int(8*(1+n)) {
		return "", nil, errors.New("v1 frame: the first part does not start after the offsets")
	}
	part := func(i int) []byte { return b[offsets[i]:offsets[i+1]] }
	m := &kernel.Message{Header: part(1), Parent: part(2), Metadata: part(3), Content: part(4)}
	for i := 5; i+1 < len(offsets); i++ {
		m.Buffers = append(m.Buffers, part(i))
	}
	if len(m.Parent) == 0 {
		m.Parent = []byte("{}")
	}
	return string(part(0)), m, checkHeader(m.Header)
}

// checkHeader refuses a message whose header has no msg_id or msg_type: the kernel would drop it
// and the client wait forever.
func checkHeader(h []byte) error {
	if kernel.HeaderField(h, "msg_id") == "" || kernel.HeaderField(h, "msg_type") == "" {
		return errors.New("message header needs msg_id and msg_type")
	}
	return nil
}

// legacyMessage is a message of the legacy JSON protocol.
type legacyMessage struct {
	Header   json.RawMessage `json:"header"`
	Parent   json.RawMessage `json:"parent_header"`
	Metadata json.RawMessage `json:"metadata"`
	Content  json.RawMessage `json:"content"`
	Channel  string          `json:"channel"`
}

// decodeLegacy reads a legacy-protocol message: a JSON text frame, or a binary frame of big-endian
// u32 buffer count and offsets, then the JSON, then the buffers.
func decodeLegacy(typ int, b []byte) (string, *kernel.Message, error) {
	var buffers [][]byte
	if typ == websocket.BinaryMessage {
		if len(b) < 4 {
			return "", nil, errors.New("binary frame shorter than its buffer count")
		}
		n := int(binary.BigEndian.Uint32(b))
		if n < 1 || n > 1<<16 || len(b) < 4*(n+1) {
			return "", nil, fmt.Errorf("binary frame declares %d offsets in %d bytes", n, len(b))
		}
		offsets := make([]int, n+1)
		for i := 0; i < n; i++ {
			offsets[i] = int(binary.BigEndian.Uint32(b[4*(i+1):]))
		}
		offsets[n] = len(b)
		for i := 0; i < n; i++ {
			if offsets[i] < 4*(n+1) || offsets[i] > offsets[i+1] {
				return "", nil, errors.New("binary frame offsets out of order")
			}
		}
		for i := 1; i < n; i++ {
			buffers = append(buffers, b[offsets[i]:offsets[i+1]])
		}
		b = b[offsets[0]:offsets[1]]
	}
	var lm legacyMessage
	if err := json.Unmarshal(b, &lm); err != nil {
		return "", nil, fmt.Errorf("message is not JSON: %w", err)
	}
	orEmpty := func(r json.RawMessage) []byte {
		if len(r) == 0 || bytes.Equal(r, []byte("null")) {
			return []byte("{}")
		}
		return r
	}
	m := &kernel.Message{Header: orEmpty(lm.Header), Parent: orEmpty(lm.Parent), Metadata: orEmpty(lm.Metadata),
		Content: orEmpty(lm.Content), Buffers: buffers}
	return lm.Channel, m, checkHeader(m.Header)
}

// encodeLegacy writes a kernel message in the legacy protocol: JSON text, or the binary framing when
// the message has buffers.
func encodeLegacy(channel string, m *kernel.Message) []byte {
	var js bytes.Buffer
	js.Grow(len(m.Header) + len(m.Parent) + len(m.Metadata) + len(m.Content) + 128)
	js.WriteString(`{"header":`)
	js.Write(m.Header)
	js.WriteString(`,"msg_id":`)
	writeJSONString(&js, kernel.HeaderField(m.Header, "msg_id"))
	js.WriteString(`,"msg_type":`)
	writeJSONString(&js, kernel.HeaderField(m.Header, "msg_type"))
	js.WriteString(`,"parent_header":`)
	js.Write(m.Parent)
	js.WriteString(`,"metadata":`)
	js.Write(m.Metadata)
	js.WriteString(`,"content":`)
	js.Write(m.Content)
	js.WriteString(`,"channel":`)
	writeJSONString(&js, channel)
	js.WriteString(`,"buffers":[]}`)
	if len(m.Buffers) == 0 {
		return js.Bytes()
	}
	n := 1 + len(m.Buffers)
	b := make([]byte, 4*(n+1))
	binary.BigEndian.PutUint32(b, uint32(n))
	off := 4 * (n + 1)
	binary.BigEndian.PutUint32(b[4:], uint32(off))
	off += js.Len()
	for i, buf := range m.Buffers {
		binary.BigEndian.PutUint32(b[4*(i+2):], uint32(off))
		off += len(buf)
	}
	b = append(b, js.Bytes()...)
	for _, buf := range m.Buffers {
		b = append(b, buf...)
	}
	return b
}

func writeJSONString(b *bytes.Buffer, s string) {
	e, _ := json.Marshal(s)
	b.Write(e)
}
