package kernel

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// Peer is one client connection to a kernel (DEALER or SUB). Each has exactly one peer, so a client
// needs none of a socket's routing: zmq4 does the ZMTP handshake, then frames are read in the
// goroutine that handles them and a message is written with one syscall. This keeps a goroutine
// hand-off off every engine message, on the path of every execution.
type Peer struct {
	conn *zmq4.Conn
	raw  net.Conn
	mu   sync.Mutex // serializes writes
	buf  []byte
}

// DialPeer connects to a ZeroMQ endpoint of a kernel, retrying while the kernel binds it, until
// ctx ends (the kernel exited or the client is stopping). Reads go through a buffer of readBuffer
// bytes: large where output floods in, small where a server holds many connections of small replies.
func DialPeer(ctx context.Context, endpoint string, typ zmq4.SocketType, id zmq4.SocketIdentity, readBuffer int) (*Peer, error) {
	network, addr := listenAddr(endpoint)
	var d net.Dialer
	for {
		raw, err := d.DialContext(ctx, network, addr)
		if err == nil {
			conn, err := zmq4.Open(newBufferedConnSize(raw, readBuffer), null.Security(), typ, id, false, nil)
			if err != nil {
				raw.Close()
				return nil, err
			}
			return &Peer{conn: conn, raw: raw}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Send writes one multipart message.
func (p *Peer) Send(frames [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = appendFrames(p.buf[:0], frames)
	_, err := p.raw.Write(p.buf)
	if cap(p.buf) > 1<<20 {
		p.buf = nil // do not keep a large message's buffer
	}
	return err
}

// Subscribe sends a SUB's subscription to a topic prefix (ZMTP 3.0: a message of 1 and the topic).
func (p *Peer) Subscribe(topic string) error {
	return p.Send([][]byte{append([]byte{1}, topic...)})
}

// Serve calls handle with every message until the connection closes.
func (p *Peer) Serve(handle func(frames [][]byte)) {
	for {
		msg, err := p.conn.RecvMsg()
		if err != nil {
			return
		}
		handle(msg.Frames)
	}
}

// Close closes the connection; Serve returns.
func (p *Peer) Close() error { return p.raw.Close() }
