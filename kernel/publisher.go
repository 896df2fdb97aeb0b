package kernel

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// publisher is the kernel's IOPub socket: a ZeroMQ PUB endpoint that coalesces messages. zmq4's PUB
// socket writes each message with its own syscall; on loopback a write costs tens of microseconds and
// an execution publishes four or more messages, often in bursts. Here every subscriber has a pending
// buffer and a writer goroutine: what is published while a write is in flight goes out in the next
// single write, as libzmq does. zmq4 still does the ZMTP handshake; the frames are written here.
type publisher struct {
	ln   net.Listener
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	conn   *zmq4.Conn
	raw    net.Conn
	mu     sync.Mutex
	topics []string // subscribed prefixes
	buf    []byte   // encoded frames waiting for the writer
	busy   bool     // the writer holds frames it has not written yet
	wake   chan struct{}
	done   chan struct{}
}

// listenPublisher binds the IOPub endpoint ("tcp://host:port" or "ipc://path").
func listenPublisher(ctx context.Context, endpoint string) (*publisher, error) {
	ln, err := net.Listen(listenAddr(endpoint))
	if err != nil {
		return nil, err
	}
	p := &publisher{ln: ln, subs: map[*subscriber]struct{}{}}
	go p.accept(ctx)
	return p, nil
}

// listenAddr maps a ZeroMQ endpoint to net.Listen's network and address.
func listenAddr(endpoint string) (network, addr string) {
	if rest, ok := strings.CutPrefix(endpoint, "ipc://"); ok {
		return "unix", rest
	}
	addr = strings.TrimPrefix(endpoint, "tcp://")
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "*" {
		addr = net.JoinHostPort("0.0.0.0", port) // ZeroMQ's "all interfaces"
	}
	return "tcp", addr
}

func (p *publisher) accept(ctx context.Context) {
	for {
		raw, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		go p.serve(ctx, raw)
	}
}

// serve handshakes with one subscriber, then reads its (un)subscriptions until it goes away.
func (p *publisher) serve(ctx context.Context, raw net.Conn) {
	buffered := newBufferedConn(raw)
	conn, err := zmq4.Open(buffered, null.Security(), zmq4.Pub, zmq4.SocketIdentity(""), true, nil)
	if err != nil {
		raw.Close()
		return
	}
	s := &subscriber{conn: conn, raw: raw, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.mu.Lock()
	p.subs[s] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.subs, s)
		p.mu.Unlock()
		close(s.done)
		raw.Close()
	}()
	go s.write()
	for ctx.Err() == nil {
		msg, err := conn.RecvMsg()
		if err != nil {
			return
		}
		// A (un)subscription is one frame: 1 or 0, then the topic prefix (ZMTP 3.0).
		if len(msg.Frames) != 1 || len(msg.Frames[0]) == 0 {
			continue
		}
		f := msg.Frames[0]
		s.mu.Lock()
		switch f[0] {
		case 1:
			s.topics = append(s.topics, string(f[1:]))
		case 0:
			for i, t := range s.topics {
				if t == string(f[1:]) {
					s.topics = append(s.topics[:i], s.topics[i+1:]...)
					break
				}
			}
		}
		s.mu.Unlock()
	}
}

// write sends whatever has been published since its last write, in one syscall.
func (s *subscriber) write() {
	var out []byte
	for {
		select {
		case <-s.wake:
		case <-s.done:
			return
		}
		s.mu.Lock()
		out, s.buf = s.buf, out[:0]
		s.busy = len(out) > 0
		s.mu.Unlock()
		if len(out) > 0 {
			_, err := s.raw.Write(out)
			s.mu.Lock()
			s.busy = false
			s.mu.Unlock()
			if err != nil {
				s.raw.Close() // serve sees the error and removes the subscriber
				return
			}
		}
	}
}

// send publishes one message (frames[0] is the topic) to every subscriber of a matching prefix.
// It never blocks on a slow subscriber: its buffer grows instead, so no output is ever dropped.
func (p *publisher) send(frames [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.subs {
		s.mu.Lock()
		if s.matches(frames[0]) {
			s.buf = appendFrames(s.buf, frames)
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
		s.mu.Unlock()
	}
	return nil
}

func (s *subscriber) matches(topic []byte) bool {
	for _, t := range s.topics {
		if strings.HasPrefix(string(topic), t) {
			return true
		}
	}
	return false
}

// appendFrames encodes a multipart message as ZMTP frames: a flags byte (MORE, LONG), the size in one
// byte or eight big-endian bytes, the body.
func appendFrames(b []byte, frames [][]byte) []byte {
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags |= 0x01
		}
		if len(f) > 255 {
			b = append(b, flags|0x02)
			b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		} else {
			b = append(b, flags, byte(len(f)))
		}
		b = append(b, f...)
	}
	return b
}

// flush waits until everything published has been written to every subscriber, or timeout.
func (p *publisher) flush(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		pending := false
		p.mu.Lock()
		for s := range p.subs {
			s.mu.Lock()
			pending = pending || len(s.buf) > 0 || s.busy
			s.mu.Unlock()
		}
		p.mu.Unlock()
		if !pending {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *publisher) Close() error { return p.ln.Close() }
