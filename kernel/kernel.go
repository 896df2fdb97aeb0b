package kernel

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"

	"github.com/hopsml/hops/magics"
)

// idleGrace is how long hops waits for an engine's status: idle after its reply before treating the
// request as finished anyway (an engine that never publishes idle must not wedge %hops cells).
const idleGrace = 2 * time.Second

// Config configures a Kernel.
type Config struct {
	Connection ConnectionInfo
	Engine     EngineSpec
	Magics     *magics.Registry
	// MagicEnv is the part of the %hops environment the caller wires (the environment snapshot).
	MagicEnv magics.Env
	Log      *slog.Logger
	// EngineStartTimeout bounds the wait for the engine's first kernel_info_reply (default 60 s).
	EngineStartTimeout time.Duration
}

// Kernel is a running hops kernel.
type Kernel struct {
	cfg     Config
	log     *slog.Logger
	signer  *Signer
	session string
	ctx     context.Context
	cancel  context.CancelFunc

	shell, control, stdin, hb *socket
	iopub                     *publisher

	mu           sync.Mutex
	eng          *engine
	engErr       error         // why there is no engine, when it failed to start
	ready        chan struct{} // closed once eng or engErr is set for the current start
	info         map[string]any
	pending      map[string]*request // forwarded requests awaiting their reply, by msg_id
	inflight     map[string]*flight  // forwarded shell requests awaiting the engine's idle, by msg_id
	subs         map[string]*subRequest
	changed      chan struct{} // closed and replaced whenever inflight shrinks
	nextCount    int
	active       context.CancelFunc // cancels the %hops command that is running
	shuttingDown bool
	// history holds the history records of %hops cells not yet sent to the engine (see recordHistory).
	history      []*Message
	historyTimer *time.Timer

	// sendMu orders what goes to the engine's shell: queued history records before the next request.
	sendMu sync.Mutex
	// abortBefore is when the last execution failed with stop_on_error: execute requests that arrived
	// before it are aborted, as ipykernel aborts its queue (JupyterLab's Run All relies on it).
	abortBefore time.Time
}

// arrival is a shell message and when hops received it.
type arrival struct {
	m  *Message
	at time.Time
}

// request is a frontend request: where its reply goes.
type request struct {
	idents  [][]byte
	header  []byte
	msgType string
	reply   *socket
	eng     *engine
	// historySession is the absolute session a history range request asked for: IPython labels the
	// current session's rows 0, and hops relabels them with the number that was asked for.
	historySession int
	stopOnError    bool // an execute_request whose failure aborts what was queued behind it
}

type flight struct {
	eng     *engine
	header  []byte
	replied time.Time
	// idled: the idle was relayed before the reply. The two come on different sockets, so under load
	// the idle can be seen first; the flight ends only when both have been.
	idled bool
}

// subRequest is a request hops sent to the engine, for a %hops cell (run != nil) or for itself.
type subRequest struct {
	run      *request
	count    int // execution count of the cell it runs for
	reply    chan *Message
	idle     chan struct{}
	idleOnce sync.Once
}

func (s *subRequest) markIdle() { s.idleOnce.Do(func() { close(s.idle) }) }

// New binds the kernel's sockets from the connection file.
func New(cfg Config) (*Kernel, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.EngineStartTimeout == 0 {
		cfg.EngineStartTimeout = 60 * time.Second
	}
	k := &Kernel{
		cfg: cfg, log: cfg.Log, signer: NewSigner([]byte(cfg.Connection.Key)), session: uuid.NewString(),
		ready: make(chan struct{}), pending: map[string]*request{}, inflight: map[string]*flight{},
		subs: map[string]*subRequest{}, changed: make(chan struct{}), nextCount: 1,
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	if err := k.bind(); err != nil {
		k.cancel()
		return nil, err
	}
	return k, nil
}

// Serve runs the kernel until ctx ends or a frontend asks it to shut down; then it stops the engine.
func (k *Kernel) Serve(ctx context.Context) error {
	defer k.cancel()
	defer k.closeSockets()
	stop := context.AfterFunc(ctx, k.cancel)
	defer stop()

	go k.launch()
	go k.hb.serve(func(frames [][]byte) { _ = k.hb.send(frames) })
	shellIn := make(chan arrival, 1024)
	go k.shell.serve(func(frames [][]byte) {
		if m := k.decode("shell", frames); m != nil {
			shellIn <- arrival{m, time.Now()}
		}
	})
	go k.control.serve(func(frames [][]byte) {
		if m := k.decode("control", frames); m != nil {
			k.handleControl(m)
		}
	})
	go k.stdin.serve(func(frames [][]byte) {
		if m := k.decode("stdin", frames); m != nil {
			if e, err := k.engine(); err == nil {
				_ = e.Stdin.Send(m.Frames()[len(m.Identities):])
			}
		}
	})
	k.publish("status", nil, map[string]string{"execution_state": "starting"})
	k.shellLoop(shellIn)
	k.stopEngine()
	return nil
}

// Interrupt stops the running %hops command and interrupts the engine (SIGINT to hops, or an
// interrupt_request on control).
func (k *Kernel) Interrupt() {
	k.mu.Lock()
	cancel, e := k.active, k.eng
	k.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if e != nil {
		e.interrupt(k.signer, k.session)
	}
}

func (k *Kernel) bind() error {
	c := k.cfg.Connection
	k.shell = &socket{Socket: zmq4.NewRouter(k.ctx)}
	k.control = &socket{Socket: zmq4.NewRouter(k.ctx)}
	k.stdin = &socket{Socket: zmq4.NewRouter(k.ctx)}
	k.hb = &socket{Socket: zmq4.NewRep(k.ctx)}
	for _, b := range []struct {
		name string
		s    *socket
		port int
	}{{"shell", k.shell, c.ShellPort}, {"control", k.control, c.ControlPort}, {"stdin", k.stdin, c.StdinPort},
		{"hb", k.hb, c.HBPort}} {
		if err := b.s.Listen(c.zmqEndpoint(b.port)); err != nil {
			k.closeSockets()
			return fmt.Errorf("listen %s on %s: %w", b.name, c.Endpoint(b.port), err)
		}
	}
	iopub, err := listenPublisher(k.ctx, c.Endpoint(c.IOPubPort))
	if err != nil {
		k.closeSockets()
		return fmt.Errorf("listen iopub on %s: %w", c.Endpoint(c.IOPubPort), err)
	}
	k.iopub = iopub
	return nil
}

func (k *Kernel) closeSockets() {
	for _, s := range []*socket{k.shell, k.control, k.stdin, k.hb} {
		if s != nil {
			s.Close()
		}
	}
	if k.iopub != nil {
		k.iopub.Close()
	}
}

// decode verifies a frontend message. Bad messages are logged and dropped, never executed.
func (k *Kernel) decode(channel string, frames [][]byte) *Message {
	m, err := Decode(frames, k.signer)
	if err != nil {
		k.log.Warn("dropped message", "channel", channel, "err", err)
		return nil
	}
	return m
}
