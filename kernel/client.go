package kernel

import (
	"context"
	"fmt"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"
)

// Client is a frontend's connection to a kernel: shell, control and stdin DEALERs and an IOPub SUB
// subscribed to everything. hops kernel is a client of its engine; hops lab is a client of its
// kernels.
type Client struct {
	Shell, Control, Stdin, IOPub *Peer
}

// DialClient connects to the kernel described by conn, retrying while the kernel binds its sockets,
// until ctx ends. Shell and stdin share identity, as the protocol requires for input_request to reach
// the requester.
func DialClient(ctx context.Context, conn ConnectionInfo, identity string) (*Client, error) {
	c := &Client{}
	id := zmq4.SocketIdentity(identity)
	for _, d := range []struct {
		p    **Peer
		port int
		typ  zmq4.SocketType
		id   zmq4.SocketIdentity
		buf  int
	}{
		{&c.Shell, conn.ShellPort, zmq4.Dealer, id, replyReadBuffer},
		{&c.Stdin, conn.StdinPort, zmq4.Dealer, id, replyReadBuffer},
		{&c.Control, conn.ControlPort, zmq4.Dealer, zmq4.SocketIdentity(identity + "-control-" + uuid.NewString()), replyReadBuffer},
		{&c.IOPub, conn.IOPubPort, zmq4.Sub, zmq4.SocketIdentity(""), bulkReadBuffer},
	} {
		p, err := DialPeer(ctx, conn.Endpoint(d.port), d.typ, d.id, d.buf)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("connect to kernel: %w", err)
		}
		*d.p = p
	}
	if err := c.IOPub.Subscribe(""); err != nil {
		c.Close()
		return nil, fmt.Errorf("subscribe to kernel output: %w", err)
	}
	return c, nil
}

// Close closes the four connections.
func (c *Client) Close() {
	for _, p := range []*Peer{c.Shell, c.Control, c.Stdin, c.IOPub} {
		if p != nil {
			p.Close()
		}
	}
}
