package kernel

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

func TestPeerTalksToARouterWithItsIdentity(t *testing.T) {
	router := zmq4.NewRouter(context.Background())
	defer router.Close()
	if err := router.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	p, err := DialPeer(context.Background(), "tcp://"+router.Addr().String(), zmq4.Dealer, zmq4.SocketIdentity("me"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Send([][]byte{delimiter, []byte("sig"), make([]byte, 300)}); err != nil {
		t.Fatal(err)
	}
	m, err := router.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Frames[0]) != "me" || len(m.Frames) != 4 || len(m.Frames[3]) != 300 {
		t.Fatalf("router got %d frames, identity %q", len(m.Frames), m.Frames[0])
	}
	if err := router.SendMulti(zmq4.NewMsgFrom([]byte("me"), delimiter, []byte("reply"))); err != nil {
		t.Fatal(err)
	}
	got := make(chan [][]byte, 1)
	go p.Serve(func(frames [][]byte) { got <- frames })
	select {
	case frames := <-got:
		if len(frames) != 2 || string(frames[1]) != "reply" {
			t.Fatalf("peer got %q", frames)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reply")
	}
}

func TestPeerSubscribesToAPublisher(t *testing.T) {
	pub := zmq4.NewPub(context.Background())
	defer pub.Close()
	if err := pub.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	p, err := DialPeer(context.Background(), "tcp://"+pub.Addr().String(), zmq4.Sub, zmq4.SocketIdentity(""), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Subscribe(""); err != nil {
		t.Fatal(err)
	}
	got := make(chan [][]byte, 100)
	go p.Serve(func(frames [][]byte) { got <- frames })
	deadline := time.After(5 * time.Second)
	for { // the subscription reaches the publisher asynchronously: publish until one arrives
		pub.SendMulti(zmq4.NewMsgFrom([]byte("topic"), []byte("hello")))
		select {
		case frames := <-got:
			if string(frames[1]) != "hello" {
				t.Fatalf("got %q", frames)
			}
			return
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("nothing published arrived")
		}
	}
}

func TestDialPeerGivesUpWhenItsContextEnds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := DialPeer(ctx, "tcp://"+addr, zmq4.Dealer, zmq4.SocketIdentity("x"), 4096); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
}
