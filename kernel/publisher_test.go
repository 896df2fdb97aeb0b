package kernel

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// subscribe connects a zmq4 SUB socket to the publisher and waits until it receives messages.
func subscribe(t *testing.T, p *publisher, topic string) zmq4.Socket {
	t.Helper()
	sub := zmq4.NewSub(context.Background())
	t.Cleanup(func() { sub.Close() })
	if err := sub.Dial("tcp://" + p.ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if err := sub.SetOption(zmq4.OptionSubscribe, topic); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		ready := 0
		for s := range p.subs {
			s.mu.Lock()
			ready += len(s.topics)
			s.mu.Unlock()
		}
		p.mu.Unlock()
		if ready > 0 {
			return sub
		}
		if time.Now().After(deadline) {
			t.Fatal("subscription never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newTestPublisher(t *testing.T) *publisher {
	t.Helper()
	p, err := listenPublisher(context.Background(), "tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPublisherDeliversEveryMessageInOrderWithItsFrames(t *testing.T) {
	p := newTestPublisher(t)
	sub := subscribe(t, p, "")
	long := bytes.Repeat([]byte("x"), 70000) // a LONG frame (8-byte size)
	const n = 2000
	for i := 0; i < n; i++ {
		frames := [][]byte{[]byte("stream"), delimiter, []byte(fmt.Sprint(i)), {}, long[:i%3*300]}
		if err := p.send(frames); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		m, err := sub.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Frames) != 5 || string(m.Frames[2]) != fmt.Sprint(i) || len(m.Frames[3]) != 0 || len(m.Frames[4]) != i%3*300 {
			t.Fatalf("message %d: got %d frames, %q", i, len(m.Frames), m.Frames[2])
		}
	}
}

func TestPublisherSendsOnlyMatchingTopics(t *testing.T) {
	p := newTestPublisher(t)
	sub := subscribe(t, p, "kernel.")
	p.send([][]byte{[]byte("other.status"), []byte("dropped")})
	p.send([][]byte{[]byte("kernel.status"), []byte("kept")})
	m, err := sub.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Frames[1]) != "kept" {
		t.Fatalf("got %q", m.Frames)
	}
}

func TestPublisherNeverBlocksOnASubscriberThatDoesNotRead(t *testing.T) {
	p := newTestPublisher(t)
	subscribe(t, p, "") // never reads
	payload := bytes.Repeat([]byte("y"), 1<<20)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 64; i++ { // far more than the socket buffers hold
			p.send([][]byte{[]byte("t"), payload})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("send blocked on a stalled subscriber")
	}
}

func TestAppendFramesEncodesZMTP(t *testing.T) {
	got := appendFrames(nil, [][]byte{[]byte("ab"), bytes.Repeat([]byte("z"), 256)})
	want := append([]byte{0x01, 2, 'a', 'b', 0x02, 0, 0, 0, 0, 0, 0, 1, 0}, bytes.Repeat([]byte("z"), 256)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x", got[:16])
	}
}

func TestListenAddrMapsZeroMQEndpoints(t *testing.T) {
	for endpoint, want := range map[string][2]string{
		"tcp://127.0.0.1:5555":  {"tcp", "127.0.0.1:5555"},
		"tcp://*:5555":          {"tcp", "0.0.0.0:5555"},
		"ipc:///tmp/k/engine-4": {"unix", "/tmp/k/engine-4"},
	} {
		if network, addr := listenAddr(endpoint); network != want[0] || addr != want[1] {
			t.Errorf("listenAddr(%q) = %s %s, want %s %s", endpoint, network, addr, want[0], want[1])
		}
	}
}

func TestPublisherListensOnUnixSockets(t *testing.T) {
	p, err := listenPublisher(context.Background(), "ipc://"+t.TempDir()+"/iopub")
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}

func TestPublisherFlushReturnsOnceEverythingIsWritten(t *testing.T) {
	p := newTestPublisher(t)
	sub := subscribe(t, p, "")
	for i := 0; i < 100; i++ {
		p.send([][]byte{[]byte("t"), bytes.Repeat([]byte("z"), 10000)})
	}
	p.flush(5 * time.Second)
	p.mu.Lock()
	for s := range p.subs {
		s.mu.Lock()
		if len(s.buf) > 0 || s.busy {
			t.Error("flush returned with frames still pending")
		}
		s.mu.Unlock()
	}
	p.mu.Unlock()
	for i := 0; i < 100; i++ {
		if _, err := sub.Recv(); err != nil {
			t.Fatal(err)
		}
	}
}
