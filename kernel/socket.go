package kernel

import (
	"sync"

	"github.com/go-zeromq/zmq4"
)

// socket is a ZeroMQ socket that several goroutines may send on. zmq4 sockets are not safe for
// concurrent multi-part sends, so writes are serialized here.
type socket struct {
	zmq4.Socket
	mu sync.Mutex
}

func (s *socket) send(frames [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.SendMulti(zmq4.NewMsgFrom(frames...))
}

// serve calls handle with every message received on s until the socket is closed. It returns on the
// first receive error: zmq4's Recv only fails once the socket is closed, and looping on the error would
// spin.
func (s *socket) serve(handle func(frames [][]byte)) {
	for {
		msg, err := s.Recv()
		if err != nil {
			return
		}
		handle(msg.Frames)
	}
}
