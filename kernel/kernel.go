package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"

	"github.com/hopsml/hops/internal/buildinfo"
	"github.com/hopsml/hops/magics"
)

// internalPrefix starts the msg_id of every request hops itself sends to the engine; engine output
// for them is never relayed as is.
const internalPrefix = "hops-"

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
}

// subRequest is a request hops sent to the engine, for a %hops cell (run != nil) or for itself.
type subRequest struct {
	run      *request
	count    int // execution count of the cell it runs for
	eng      *engine
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
				_ = e.stdin.send(m.Frames()[len(m.Identities):])
			}
		}
	})
	k.publish("status", nil, map[string]string{"execution_state": "starting"})
	k.shellLoop(shellIn)

	k.mu.Lock()
	k.shuttingDown = true
	e := k.eng
	k.mu.Unlock()
	if e != nil {
		e.stop(k.signer, k.session, 2*time.Second)
	}
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

// --- the engine's life -------------------------------------------------------------------------

// launch starts an engine and waits for its first kernel_info_reply.
func (k *Kernel) launch() {
	e, err := startEngine(k.ctx, k.cfg.Engine, k.cfg.Connection.Key, k.log)
	var info map[string]any
	if err == nil {
		go e.shell.serve(func(f [][]byte) { k.relayReply(f) })
		go e.control.serve(func(f [][]byte) { k.relayReply(f) })
		go e.stdin.serve(func(f [][]byte) { k.relayInput(f) })
		go e.iopub.serve(func(f [][]byte) { k.relayIOPub(f) })
		if info, err = k.handshake(e); err != nil {
			e.kill()
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.log.Error("engine did not start", "err", err)
		k.engErr = err
	} else {
		k.eng, k.info, k.engErr, k.nextCount = e, info, nil, 1
		go k.watch(e)
	}
	close(k.ready)
}

// handshake sends kernel_info_request until the engine answers and its IOPub is seen to flow (a SUB
// socket misses what is published before its subscription reaches the publisher).
func (k *Kernel) handshake(e *engine) (map[string]any, error) {
	deadline := time.Now().Add(k.cfg.EngineStartTimeout)
	for time.Now().Before(deadline) {
		sub, m := k.newSub(nil, e, "kernel_info_request", map[string]any{})
		if err := e.shell.send(m.Frames()); err != nil {
			k.dropSub(m)
			return nil, fmt.Errorf("engine %q: %w", e.spec.Name, err)
		}
		select {
		case rep := <-sub.reply:
			select {
			case <-sub.idle:
				k.dropSub(m)
				var info map[string]any
				if err := json.Unmarshal(rep.Content, &info); err != nil {
					return nil, fmt.Errorf("engine %q: bad kernel_info_reply: %w", e.spec.Name, err)
				}
				return info, nil
			case <-time.After(250 * time.Millisecond):
			}
		case <-time.After(250 * time.Millisecond):
		case <-e.done:
			k.dropSub(m)
			return nil, fmt.Errorf("engine %q exited while starting (%s)%s", e.spec.Name, e.exit, e.stderr.excerpt())
		}
		k.dropSub(m)
	}
	return nil, fmt.Errorf("engine %q did not answer within %s%s", e.spec.Name, k.cfg.EngineStartTimeout, e.stderr.excerpt())
}

// engine returns the running engine, waiting while one starts.
func (k *Kernel) engine() (*engine, error) {
	for {
		k.mu.Lock()
		ready, e, err := k.ready, k.eng, k.engErr
		k.mu.Unlock()
		select {
		case <-ready:
			if err != nil {
				return nil, &unavailableError{err}
			}
			if e != nil {
				return e, nil
			}
		default:
		}
		select {
		case <-ready:
		case <-k.ctx.Done():
			return nil, errors.New("the kernel is shutting down")
		}
	}
}

// watch answers every request the engine held when it died, then starts a fresh engine.
func (k *Kernel) watch(e *engine) {
	<-e.done
	k.mu.Lock()
	if k.eng != e || k.shuttingDown {
		k.mu.Unlock()
		return
	}
	k.eng, k.ready = nil, make(chan struct{})
	k.history = nil // records for the dead engine's history
	var lost []*request
	for id, r := range k.pending {
		if r.eng == e {
			lost = append(lost, r)
			delete(k.pending, id)
		}
	}
	var unfinished [][]byte // replied, but the engine died before its idle
	for id, f := range k.inflight {
		if f.eng == e {
			if f.replied.IsZero() {
				delete(k.inflight, id) // answered below with the lost requests
				continue
			}
			unfinished = append(unfinished, f.header)
			delete(k.inflight, id)
		}
	}
	k.signalChanged()
	k.mu.Unlock()
	e.close()

	k.log.Error("engine died; starting a fresh one", "engine", e.spec.Name, "exit", e.exit)
	why := engineDied(e)
	for _, r := range lost {
		k.fail(r, "EngineDied", why.Error())
	}
	for _, h := range unfinished {
		k.status("idle", h)
	}
	k.launch()
}

// unavailableError means the engine could not be started.
type unavailableError struct{ err error }

func (u *unavailableError) Error() string {
	return u.err.Error() + ". Fix the engine's environment, then restart the kernel"
}

func engineDied(e *engine) error {
	return fmt.Errorf("the engine kernel (%s) stopped while this ran (%s). hops started a fresh engine: "+
		"variables and imports from earlier cells are gone, re-run the cells this one needs", e.spec.Name, e.exit)
}

// fail answers a request the engine can no longer answer: an error output for an execution, an error
// reply, and the idle status the frontend waits for.
func (k *Kernel) fail(r *request, ename, evalue string) {
	tb := []string{"\x1b[0;31m" + ename + "\x1b[0m: " + evalue}
	content := map[string]any{"status": "error", "ename": ename, "evalue": evalue, "traceback": tb}
	if r.msgType == "execute_request" {
		k.publish("error", r.header, map[string]any{"ename": ename, "evalue": evalue, "traceback": tb})
		k.mu.Lock()
		content["execution_count"] = k.nextCount
		k.mu.Unlock()
	}
	k.sendReply(r, strings.TrimSuffix(r.msgType, "_request")+"_reply", content)
	k.status("idle", r.header)
}

// --- frontend requests -------------------------------------------------------------------------

// shellLoop handles shell requests in order. Python-only requests are forwarded without waiting, the
// engine queues them; a %hops cell first waits for forwarded executions to finish, so cells run in
// the order they were sent.
func (k *Kernel) shellLoop(in <-chan arrival) {
	for {
		var a arrival
		select {
		case a = <-in:
		case <-k.ctx.Done():
			return
		}
		m := a.m
		r := k.requestOf(m, "shell", k.shell)
		if r == nil {
			continue
		}
		switch r.msgType {
		case "kernel_info_request":
			k.kernelInfo(r)
		case "shutdown_request": // deprecated on shell since 5.4, still accepted
			k.shutdown(r, m)
		case "execute_request":
			var req executeRequest
			if err := json.Unmarshal(m.Content, &req); err != nil {
				k.forward(m, r)
				continue
			}
			r.stopOnError = req.StopOnError
			if k.aborted(a.at) {
				k.abort(r)
				continue
			}
			if !hasHops(req.Code) {
				k.forward(m, r)
				continue
			}
			k.waitQuiet()
			if k.aborted(a.at) { // a forwarded cell before it failed meanwhile
				k.abort(r)
				continue
			}
			if failed := k.runCell(r, req); failed && req.StopOnError {
				k.setAbort()
			}
		case "complete_request", "inspect_request":
			if !k.answerOnHopsLine(r, r.msgType, m.Content) {
				k.forward(m, r)
			}
		default:
			k.forward(m, r)
		}
	}
}

func (k *Kernel) aborted(arrived time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return arrived.Before(k.abortBefore)
}

func (k *Kernel) setAbort() {
	k.mu.Lock()
	k.abortBefore = time.Now()
	k.mu.Unlock()
}

// abort answers an execute request queued behind a failed cell, as ipykernel does.
func (k *Kernel) abort(r *request) {
	k.status("busy", r.header)
	k.sendReply(r, "execute_reply", map[string]any{"status": "aborted"})
	k.status("idle", r.header)
}

// requestOf is the request a frontend message makes; a message without a usable header is logged and
// dropped.
func (k *Kernel) requestOf(m *Message, channel string, reply *socket) *request {
	h, err := m.Head()
	if err != nil {
		k.log.Warn("dropped message", "channel", channel, "err", err)
		return nil
	}
	return &request{idents: m.Identities, header: m.Header, msgType: h.MsgType, reply: reply}
}

func (k *Kernel) handleControl(m *Message) {
	r := k.requestOf(m, "control", k.control)
	if r == nil {
		return
	}
	switch r.msgType {
	case "kernel_info_request":
		k.kernelInfo(r)
	case "interrupt_request":
		k.status("busy", r.header)
		k.Interrupt()
		k.sendReply(r, "interrupt_reply", map[string]any{"status": "ok"})
		k.status("idle", r.header)
	case "shutdown_request":
		k.shutdown(r, m)
	default:
		k.forward(m, r)
	}
}

// forward sends a frontend request to the engine as the bytes the frontend signed.
func (k *Kernel) forward(m *Message, r *request) {
	e, err := k.engine()
	if err != nil {
		k.status("busy", r.header)
		k.fail(r, "EngineUnavailable", err.Error())
		return
	}
	r.eng = e
	if r.msgType == "history_request" {
		var c struct {
			Type    string `json:"hist_access_type"`
			Session int    `json:"session"`
		}
		if json.Unmarshal(m.Content, &c) == nil && c.Type == "range" && c.Session > 0 {
			r.historySession = c.Session
		}
	}
	out := e.shell
	id := msgID(r.header)
	k.mu.Lock()
	if r.reply == k.control {
		out = e.control
	} else {
		k.inflight[id] = &flight{eng: e, header: r.header}
	}
	if !noReply[r.msgType] {
		k.pending[id] = r
	}
	k.mu.Unlock()
	send := k.toEngineShell
	if out == e.control {
		send = func(_ *engine, frames [][]byte) error { return e.control.send(frames) }
	}
	if err := send(e, m.Frames()[len(m.Identities):]); err != nil {
		k.log.Warn("forward to engine", "msg_type", r.msgType, "err", err)
	}
}

// noReply lists the shell messages that get no reply, only IOPub traffic.
var noReply = map[string]bool{"comm_open": true, "comm_msg": true, "comm_close": true}

func (k *Kernel) kernelInfo(r *request) {
	k.status("busy", r.header)
	_, err := k.engine()
	k.mu.Lock()
	content := map[string]any{}
	for key, v := range k.info {
		content[key] = v
	}
	k.mu.Unlock()
	engine := k.engineDescription(content)
	if err != nil {
		content["language_info"] = map[string]any{"name": k.cfg.Engine.Language}
		engine = "not running: " + err.Error()
	}
	banner, _ := content["banner"].(string)
	content["banner"] = fmt.Sprintf("%s, engine %s\nType %%hops help for the hops magics.\n\n%s", buildinfo.String(), engine, banner)
	content["status"] = "ok"
	content["protocol_version"] = ProtocolVersion
	content["implementation"] = "hops"
	content["implementation_version"] = buildinfo.Version
	// hops serializes shell requests itself; engine subshells would bypass that.
	if feats, ok := content["supported_features"].([]any); ok {
		var kept []any
		for _, f := range feats {
			if f != "kernel subshells" {
				kept = append(kept, f)
			}
		}
		content["supported_features"] = append([]any{}, kept...)
	}
	k.sendReply(r, "kernel_info_reply", content)
	k.status("idle", r.header)
}

// engineDescription says which engine runs the code, e.g. "ipykernel 7.4.0, python 3.11.7".
func (k *Kernel) engineDescription(info map[string]any) string {
	impl, _ := info["implementation"].(string)
	ver, _ := info["implementation_version"].(string)
	desc := strings.TrimSpace(impl + " " + ver)
	if li, ok := info["language_info"].(map[string]any); ok {
		name, _ := li["name"].(string)
		lv, _ := li["version"].(string)
		desc += ", " + strings.TrimSpace(name+" "+lv)
	}
	if desc == "" {
		return k.cfg.Engine.Name
	}
	return desc
}

func (k *Kernel) shutdown(r *request, m *Message) {
	var c struct {
		Restart bool `json:"restart"`
	}
	_ = json.Unmarshal(m.Content, &c)
	k.status("busy", r.header)
	k.mu.Lock()
	k.shuttingDown = true
	e := k.eng
	k.mu.Unlock()
	if e != nil {
		e.stop(k.signer, k.session, 2*time.Second)
	}
	k.sendReply(r, "shutdown_reply", map[string]any{"status": "ok", "restart": c.Restart})
	k.status("idle", r.header)
	time.Sleep(100 * time.Millisecond) // zmq4 publishes from a queue: let the idle go out
	k.cancel()
}

// --- relaying engine traffic -------------------------------------------------------------------

// relayReply routes an engine reply (shell or control) to the frontend that asked, or to the %hops
// cell that sent the request.
func (k *Kernel) relayReply(frames [][]byte) {
	m, err := Decode(frames, nil)
	if err != nil {
		k.log.Warn("bad message from engine", "err", err)
		return
	}
	id := m.ParentID()
	k.mu.Lock()
	if sub := k.subs[id]; sub != nil {
		k.mu.Unlock()
		select {
		case sub.reply <- m:
		default:
		}
		return
	}
	r := k.pending[id]
	delete(k.pending, id)
	if r != nil {
		if f := k.inflight[id]; f != nil {
			f.replied = time.Now()
		}
		if r.msgType == "execute_request" {
			var c struct {
				Status string `json:"status"`
				Count  *int   `json:"execution_count"`
			}
			if json.Unmarshal(m.Content, &c) == nil {
				if c.Count != nil {
					k.nextCount = *c.Count + 1
				}
				if c.Status == "error" && r.stopOnError {
					k.abortBefore = time.Now()
				}
			}
		}
	}
	k.mu.Unlock()
	if r == nil {
		return // the request was already answered (the engine died and came back)
	}
	if r.historySession > 0 {
		m = relabelHistory(m, r.historySession, k.signer)
	}
	if err := r.reply.send(append(append([][]byte{}, r.idents...), m.Frames()...)); err != nil {
		k.log.Warn("relay reply", "err", err)
	}
}

// relayInput routes the engine's input_request to the frontend that sent the execution.
func (k *Kernel) relayInput(frames [][]byte) {
	m, err := Decode(frames, nil)
	if err != nil {
		return
	}
	id := m.ParentID()
	k.mu.Lock()
	sub, r := k.subs[id], k.pending[id]
	k.mu.Unlock()
	switch {
	case sub != nil && sub.run != nil:
		m = m.Reparent(sub.run.header, k.signer)
		r = sub.run
	case r == nil:
		return
	}
	_ = k.stdin.send(append(append([][]byte{}, r.idents...), m.Frames()...))
}

// relayIOPub publishes engine output. Output of requests hops made for a %hops cell is attributed to
// the cell's request; their busy/idle and execute_input are hops' own business.
func (k *Kernel) relayIOPub(frames [][]byte) {
	m, err := Decode(frames, nil)
	if err != nil {
		k.log.Warn("bad message from engine", "err", err)
		return
	}
	msgType, parent := m.MsgType(), m.ParentID()
	idle := msgType == "status" && isIdle(m.Content)
	if strings.HasPrefix(parent, internalPrefix) {
		k.mu.Lock()
		sub := k.subs[parent]
		k.mu.Unlock()
		switch {
		case sub == nil:
		case msgType == "status":
			if idle {
				sub.markIdle()
			}
		case sub.run != nil && msgType == "execute_result":
			// The engine numbers results of store_history=false requests with its previous count;
			// the cell's result carries the cell's count.
			var c map[string]any
			if json.Unmarshal(m.Content, &c) == nil {
				c["execution_count"] = sub.count
				m.Content, _ = json.Marshal(c)
			}
			_ = k.iopub.send(m.Reparent(sub.run.header, k.signer).Frames())
		case sub.run != nil && msgType != "execute_input":
			_ = k.iopub.send(m.Reparent(sub.run.header, k.signer).Frames())
		}
		return
	}
	if err := k.iopub.send(frames); err != nil {
		k.log.Warn("relay iopub", "err", err)
	}
	if idle {
		k.mu.Lock()
		if _, ok := k.inflight[parent]; ok {
			delete(k.inflight, parent)
			k.signalChanged()
		}
		k.mu.Unlock()
	}
}

// relabelHistory gives rows of the current session (labelled 0 by IPython) their session number.
func relabelHistory(m *Message, session int, s *Signer) *Message {
	var c map[string]any
	if json.Unmarshal(m.Content, &c) != nil {
		return m
	}
	rows, _ := c["history"].([]any)
	for _, row := range rows {
		if cells, ok := row.([]any); ok && len(cells) > 0 && cells[0] == float64(0) {
			cells[0] = session
		}
	}
	out := *m
	out.Content, _ = json.Marshal(c)
	out.Signature = s.Sign(out.Header, out.Parent, out.Metadata, out.Content)
	return &out
}

func isIdle(content []byte) bool {
	var c struct {
		State string `json:"execution_state"`
	}
	return json.Unmarshal(content, &c) == nil && c.State == "idle"
}

// waitQuiet returns once every forwarded shell request has finished (its idle was relayed).
func (k *Kernel) waitQuiet() {
	for {
		k.mu.Lock()
		n := 0
		for key, f := range k.inflight {
			if !f.replied.IsZero() && time.Since(f.replied) > idleGrace {
				delete(k.inflight, key)
				continue
			}
			n++
		}
		changed := k.changed
		k.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		case <-k.ctx.Done():
			return
		}
	}
}

// signalChanged wakes waitQuiet; k.mu must be held.
func (k *Kernel) signalChanged() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// --- messages hops sends -----------------------------------------------------------------------

// toEngineShell sends a request to the engine's shell after the history records still queued, so
// the engine sees everything in the order hops received it.
func (k *Kernel) toEngineShell(e *engine, frames [][]byte) error {
	k.sendMu.Lock()
	defer k.sendMu.Unlock()
	k.flushHistoryLocked(e)
	return e.shell.send(frames)
}

// recordHistory queues code for the engine's history. Recording is not urgent: the records go out
// before the next request to the engine, or after a moment of quiet, so a %hops cell never waits
// for the engine and the engine does not compete for CPU while the cell's reply is on its way.
func (k *Kernel) recordHistory(code string) {
	m := k.internalMessage("execute_request", map[string]any{"code": code, "silent": false,
		"store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": false})
	k.mu.Lock()
	defer k.mu.Unlock()
	k.history = append(k.history, m)
	if k.historyTimer == nil {
		k.historyTimer = time.AfterFunc(100*time.Millisecond, func() {
			k.sendMu.Lock()
			defer k.sendMu.Unlock()
			k.mu.Lock()
			e := k.eng
			k.historyTimer = nil
			k.mu.Unlock()
			if e != nil {
				k.flushHistoryLocked(e)
			}
		})
	}
}

// flushHistoryLocked sends the queued history records; k.sendMu must be held.
func (k *Kernel) flushHistoryLocked(e *engine) {
	k.mu.Lock()
	queued := k.history
	k.history = nil
	k.mu.Unlock()
	for _, m := range queued {
		if err := e.shell.send(m.Frames()); err != nil {
			k.log.Warn("record history", "err", err)
		}
	}
}

func (k *Kernel) publish(msgType string, parent []byte, content any) {
	m, err := NewMessage(k.signer, k.session, msgType, parent, content)
	if err != nil {
		k.log.Error("publish", "err", err)
		return
	}
	m.Identities = [][]byte{[]byte(msgType)}
	if err := k.iopub.send(m.Frames()); err != nil {
		k.log.Warn("publish", "msg_type", msgType, "err", err)
	}
}

func (k *Kernel) status(state string, parent []byte) {
	k.publish("status", parent, map[string]string{"execution_state": state})
}

func (k *Kernel) sendReply(r *request, msgType string, content any) {
	m, err := NewMessage(k.signer, k.session, msgType, r.header, content)
	if err != nil {
		k.log.Error("reply", "err", err)
		return
	}
	m.Identities = r.idents
	if err := r.reply.send(m.Frames()); err != nil {
		k.log.Warn("reply", "msg_type", msgType, "err", err)
	}
}

// internalMessage builds a request hops itself sends to the engine; its msg_id marks it internal.
func (k *Kernel) internalMessage(msgType string, content any) *Message {
	m, _ := NewMessage(k.signer, k.session, msgType, nil, content) // contents are plain maps
	var h Header
	_ = json.Unmarshal(m.Header, &h)
	h.MsgID = internalPrefix + h.MsgID
	m.Header, _ = json.Marshal(h)
	m.Signature = k.signer.Sign(m.Header, m.Parent, m.Metadata, m.Content)
	return m
}

// newSub registers a request hops sends to the engine and returns it ready to send.
func (k *Kernel) newSub(run *request, e *engine, msgType string, content any) (*subRequest, *Message) {
	m := k.internalMessage(msgType, content)
	sub := &subRequest{run: run, eng: e, reply: make(chan *Message, 1), idle: make(chan struct{})}
	k.mu.Lock()
	k.subs[msgID(m.Header)] = sub
	k.mu.Unlock()
	return sub, m
}

func (k *Kernel) dropSub(m *Message) {
	k.mu.Lock()
	delete(k.subs, msgID(m.Header))
	k.mu.Unlock()
}

func msgID(header []byte) string { return headerField(header, "msg_id") }
