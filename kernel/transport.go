package kernel

import (
	"bufio"
	"context"
	"net"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// bufferedTCP and bufferedIPC are zmq4's TCP and Unix socket transports with a read buffer on every
// connection. zmq4 reads each frame header and body with its own io.ReadFull on the raw connection,
// two to three syscalls per frame; a Jupyter message has seven or more frames, and a `1+1` execution
// crosses hops six times.
const (
	bufferedTCP = "hops+tcp"
	bufferedIPC = "hops+ipc"
)

func init() {
	for name, network := range map[string]string{bufferedTCP: "tcp", bufferedIPC: "unix"} {
		if err := zmq4.RegisterTransport(name, bufferedTransport{transport.New(network)}); err != nil {
			panic(err)
		}
	}
}

type bufferedTransport struct{ transport.Transport }

func (t bufferedTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := t.Transport.Dial(ctx, d, addr)
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c), nil
}

func (t bufferedTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := t.Transport.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	return bufferedListener{l}, nil
}

type bufferedListener struct{ net.Listener }

func (l bufferedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c), nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read buffer sizes: IOPub carries bursts of output; shell, control and stdin carry replies.
const (
	bulkReadBuffer  = 16 << 10
	replyReadBuffer = 4 << 10
)

func newBufferedConn(c net.Conn) net.Conn { return newBufferedConnSize(c, bulkReadBuffer) }

func newBufferedConnSize(c net.Conn, size int) net.Conn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, size)}
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
