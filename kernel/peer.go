package kernel

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// peer is one of hops' client connections to the engine (DEALER or SUB). Each has exactly one peer,
// so hops needs none of a socket's routing: zmq4 does the ZMTP handshake, then frames are read in the
// goroutine that handles them and a message is written with one syscall. This keeps a goroutine
// hand-off off every engine message, on the path of every execution.
type peer struct {
	conn *zmq4.Conn
	raw  net.Conn
	mu   sync.Mutex // serializes writes
	buf  []byte
}

// dialPeer connects to a ZeroMQ endpoint of the engine, retrying while the engine binds it, until
// ctx ends (the engine exited or hops is stopping).
func dialPeer(ctx context.Context, endpoint string, typ zmq4.SocketType, id zmq4.SocketIdentity) (*peer, error) {
	network, addr := listenAddr(endpoint)
	var d net.Dialer
	for {
		raw, err := d.DialContext(ctx, network, addr)
		if err == nil {
			conn, err := zmq4.Open(newBufferedConn(raw), null.Security(), typ, id, false, nil)
			if err != nil {
				raw.Close()
				return nil, err
			}
			return &peer{conn: conn, raw: raw}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// send writes one multipart message.
func (p *peer) send(frames [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = appendFrames(p.buf[:0], frames)
	_, err := p.raw.Write(p.buf)
	if cap(p.buf) > 1<<20 {
		p.buf = nil // do not keep a large message's buffer
	}
	return err
}

// subscribe sends a SUB's subscription to a topic prefix (ZMTP 3.0: a message of 1 and the topic).
func (p *peer) subscribe(topic string) error {
	return p.send([][]byte{append([]byte{1}, topic...)})
}

// serve calls handle with every message until the connection closes.
func (p *peer) serve(handle func(frames [][]byte)) {
	for {
		msg, err := p.conn.RecvMsg()
		if err != nil {
			return
		}
		handle(msg.Frames)
	}
}

func (p *peer) Close() error { return p.raw.Close() }
