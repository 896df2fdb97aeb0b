package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/hopsml/hops/kernel"
	"github.com/hopsml/hops/server/httpjson"
)

// Kernel lifecycle timings. jupyter_server waits 60 s for a kernel's first kernel_info_reply and
// gives up auto-restarting after 5 restarts in a row; hops does the same.
const (
	kernelStartTimeout = 60 * time.Second
	shutdownGrace      = 3 * time.Second
	restartLimit       = 5
	restartWindow      = time.Minute
)

// internalPrefix starts the msg_id of every request the server itself sends to a kernel; replies to
// them are consumed by the server and never reach a websocket.
const internalPrefix = "hops-lab-"

// kernelManager owns the running kernels.
type kernelManager struct {
	ctx     context.Context
	log     *slog.Logger
	specs   *kernelspecs
	runtime string   // private directory of connection files and ipc sockets
	env     []string // environment every kernel gets (the server's, plus how to call it back)
	root    string   // workspace root: kernels start in their notebook's directory

	mu      sync.Mutex
	kernels map[string]*Kernel
}

// Kernel is one running kernel and the server's client connection to it, shared by every websocket
// attached to it.
type Kernel struct {
	ID   string
	Name string
	m    *kernelManager
	spec *kernelspec
	path string // notebook path, relative to the workspace; "" when not started for a notebook

	session string // header session of the server's own messages to the kernel
	log     *slog.Logger

	mu           sync.Mutex
	signer       *kernel.Signer
	proc         *kernel.Process
	client       *kernel.Client
	ready        chan struct{} // closed when client is usable, or when the kernel is dead
	gen          int           // bumped on each (re)start; a watcher of an older process does nothing
	state        string        // starting, idle, busy, restarting, dead
	lastActivity time.Time
	stopping     bool
	deaths       []time.Time
	waiters      map[string]chan *kernel.Message // internal requests by msg_id
	channels     map[*channel]struct{}
	buffer       []outgoing // kernel messages held while no websocket is attached
	bufferBytes  int
	bufferFor    string // session id of the websocket the buffer is kept for
}

// outgoing is a kernel message on its way to websockets.
type outgoing struct {
	channel string
	msg     *kernel.Message
}

// Buffer limits while no websocket is attached: enough for minutes of ordinary output; beyond them
// the oldest messages are dropped rather than the server's memory.
const (
	maxBufferedMessages = 10000
	maxBufferedBytes    = 64 << 20
)

// start launches a kernel from the named kernelspec for a notebook path.
func (m *kernelManager) start(name, path string) (*Kernel, error) {
	if name == "" {
		name = defaultKernel
	}
	spec, err := m.specs.get(name)
	if err != nil {
		return nil, err
	}
	k := &Kernel{
		ID: uuid.NewString(), Name: name, m: m, spec: spec, path: path,
		session: uuid.NewString(), state: "starting", lastActivity: time.Now().UTC(),
		waiters: map[string]chan *kernel.Message{}, channels: map[*channel]struct{}{},
	}
	k.log = m.log.With("kernel", k.ID[:8], "spec", name)
	if err := k.launch(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.kernels[k.ID] = k
	m.mu.Unlock()
	return k, nil
}

func (m *kernelManager) get(id string) (*Kernel, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.kernels[id]; ok {
		return k, nil
	}
	return nil, httpjson.Errorf(http.StatusNotFound, "no kernel with id %s; GET /api/kernels lists the running ones", id)
}

func (m *kernelManager) list() []*Kernel {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Kernel, 0, len(m.kernels))
	for _, k := range m.kernels {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// shutdownAll stops every kernel, in parallel, when the server stops.
func (m *kernelManager) shutdownAll() {
	var wg sync.WaitGroup
	for _, k := range m.list() {
		wg.Add(1)
		go func() { defer wg.Done(); k.shutdown() }()
	}
	wg.Wait()
}

// launch starts a kernel process on a fresh connection file and connects to it in the background.
// Each start gets new sockets: a killed kernel cannot clean up its ipc files, and no port is raced for.
func (k *Kernel) launch() error {
	dir := filepath.Join(k.m.runtime, k.ID[:8])
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("kernel runtime dir: %w", err)
	}
	conn, connFile, err := kernel.WriteConnectionFile(dir, k.ID, k.spec.Launch, "")
	if err != nil {
		return err
	}
	env := append(append([]string{}, k.m.env...),
		fmt.Sprintf("JPY_PARENT_PID=%d", os.Getpid()),
		"JPY_SESSION_NAME="+k.path,
		"HOPS_KERNEL_ID="+k.ID,
		"HOPS_NOTEBOOK_PATH="+k.path)
	cwd := k.m.root
	if k.path != "" {
		if d := filepath.Join(k.m.root, filepath.FromSlash(filepath.Dir(k.path))); isDir(d) {
			cwd = d
		}
	}
	proc, err := kernel.StartProcess(kernel.ProcessOptions{
		Argv: k.spec.Launch.ArgvFor(connFile), Env: append(env, k.spec.Launch.EnvList()...), Dir: cwd,
	})
	if err != nil {
		return fmt.Errorf("start kernel %q: %w", k.Name, err)
	}
	k.mu.Lock()
	k.gen++
	gen := k.gen
	k.proc, k.client, k.signer = proc, nil, kernel.NewSigner([]byte(conn.Key))
	k.unreadyLocked()
	k.state = "starting"
	k.mu.Unlock()
	k.log.Info("kernel started", "pid", proc.Pid(), "cwd", cwd)
	go k.connect(gen, proc, conn)
	go k.watch(gen, proc)
	return nil
}

// waitReady waits until the kernel is connected, or dead, or ctx ends.
func (k *Kernel) waitReady(ctx context.Context) error {
	k.mu.Lock()
	ready := k.ready
	k.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readyLocked releases everyone waiting for the kernel; with no client they learn it is gone.
func (k *Kernel) readyLocked() {
	select {
	case <-k.ready:
	default:
		close(k.ready)
	}
}

// unreadyLocked makes senders wait for the next connect. A ready channel that is still open is
// kept: senders may already be waiting on it.
func (k *Kernel) unreadyLocked() {
	if k.ready != nil {
		select {
		case <-k.ready:
		default:
			return
		}
	}
	k.ready = make(chan struct{})
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// connect dials the kernel and waits for its kernel_info_reply and for its output to flow (a SUB
// misses what is published before its subscription arrives), then opens the kernel to websockets.
func (k *Kernel) connect(gen int, proc *kernel.Process, conn kernel.ConnectionInfo) {
	ctx, cancel := context.WithTimeout(k.m.ctx, kernelStartTimeout)
	defer cancel()
	go func() {
		select {
		case <-proc.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	client, err := kernel.DialClient(ctx, conn, "hops-lab-"+k.ID[:8])
	if err == nil {
		k.serve(gen, kernel.NewSigner([]byte(conn.Key)), client)
		err = k.handshake(ctx, client)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if gen != k.gen {
		if client != nil {
			client.Close()
		}
		return
	}
	if err != nil {
		if client != nil {
			client.Close()
		}
		why := err.Error()
		if proc.Exit() != "" {
			why = "it exited (" + proc.Exit() + ")" + proc.StderrExcerpt()
		}
		k.log.Error("kernel did not start", "err", why)
		go proc.Kill()
		return // the watcher sees the exit and restarts or declares the kernel dead
	}
	k.client = client
	k.readyLocked()
}

// handshake sends kernel_info_request until a reply comes and an IOPub message has been seen.
func (k *Kernel) handshake(ctx context.Context, client *kernel.Client) error {
	for {
		m := k.internal("kernel_info_request", map[string]any{})
		id := kernel.HeaderField(m.Header, "msg_id")
		got := k.wait(id)
		if err := client.Shell.Send(m.Frames()); err != nil {
			k.unwait(id)
			return err
		}
		replied, flowing := false, false
		retry := time.After(500 * time.Millisecond)
	wait:
		for !replied || !flowing {
			select {
			case m := <-got:
				if m.MsgType() == "status" {
					flowing = true
				} else {
					replied = true
				}
			case <-retry:
				break wait
			case <-ctx.Done():
				k.unwait(id)
				return fmt.Errorf("kernel %q did not answer within %s", k.Name, kernelStartTimeout)
			}
		}
		k.unwait(id)
		if replied && flowing {
			return nil
		}
	}
}

// internal builds a request of the server's own, signed with the kernel's current key.
func (k *Kernel) internal(msgType string, content any) *kernel.Message {
	k.mu.Lock()
	s := k.signer
	k.mu.Unlock()
	m, _ := kernel.NewMessageWithID(s, k.session, internalPrefix+uuid.NewString(), msgType, nil, content) // plain maps always encode
	return m
}

// wait registers for the messages answering an internal request: its reply and its IOPub status.
func (k *Kernel) wait(msgID string) chan *kernel.Message {
	ch := make(chan *kernel.Message, 4)
	k.mu.Lock()
	k.waiters[msgID] = ch
	k.mu.Unlock()
	return ch
}

func (k *Kernel) unwait(msgID string) {
	k.mu.Lock()
	delete(k.waiters, msgID)
	k.mu.Unlock()
}

// serve reads the kernel's four sockets and hands every message to the websockets.
func (k *Kernel) serve(gen int, signer *kernel.Signer, c *kernel.Client) {
	for _, p := range []struct {
		peer    *kernel.Peer
		channel string
	}{{c.Shell, "shell"}, {c.Control, "control"}, {c.Stdin, "stdin"}, {c.IOPub, "iopub"}} {
		go p.peer.Serve(func(frames [][]byte) { k.received(gen, signer, p.channel, frames) })
	}
}

// received handles one message from the kernel.
func (k *Kernel) received(gen int, signer *kernel.Signer, channel string, frames [][]byte) {
	m, err := kernel.Decode(frames, signer)
	if err != nil {
		k.log.Warn("dropped a message from the kernel", "channel", channel, "err", err)
		return
	}
	parentID := m.ParentID()
	if strings.HasPrefix(parentID, internalPrefix) {
		k.mu.Lock()
		w := k.waiters[parentID]
		k.mu.Unlock()
		if w != nil {
			select {
			case w <- m:
			default:
			}
		}
		if channel != "iopub" || m.MsgType() != "status" {
			return
		}
	}
	now := time.Now().UTC()
	k.mu.Lock()
	defer k.mu.Unlock()
	if gen != k.gen {
		return
	}
	k.lastActivity = now
	if channel == "iopub" && m.MsgType() == "status" {
		var st struct {
			State string `json:"execution_state"`
		}
		if json.Unmarshal(m.Content, &st) == nil && st.State != "" && k.state != "restarting" && k.state != "dead" {
			k.state = st.State
		}
		if strings.HasPrefix(parentID, internalPrefix) {
			return // status of the server's own requests is not the frontend's business
		}
	}
	k.deliverLocked(outgoing{channel, m}, kernel.HeaderField(m.Parent, "session"))
}

// deliverLocked sends a message to the attached websockets: IOPub to all of them, replies and input
// requests to the one whose session sent the request. With no websocket attached it is buffered for
// the next one to attach with the same session id.
func (k *Kernel) deliverLocked(o outgoing, session string) {
	if len(k.channels) == 0 {
		k.buffer = append(k.buffer, o)
		k.bufferBytes += o.size()
		for len(k.buffer) > maxBufferedMessages || k.bufferBytes > maxBufferedBytes {
			k.bufferBytes -= k.buffer[0].size()
			k.buffer = k.buffer[1:]
		}
		return
	}
	for ch := range k.channels {
		if o.channel == "iopub" || ch.session == session || session == "" {
			ch.send(o)
		}
	}
}

func (o outgoing) size() int {
	n := len(o.msg.Header) + len(o.msg.Parent) + len(o.msg.Metadata) + len(o.msg.Content)
	for _, b := range o.msg.Buffers {
		n += len(b)
	}
	return n
}

// attach adds a websocket. A websocket that comes back with the session id the buffer was kept for
// first receives what it missed; any other session starts afresh, as with jupyter_server.
func (k *Kernel) attach(ch *channel) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.channels) == 0 && len(k.buffer) > 0 {
		if ch.session == k.bufferFor {
			for _, o := range k.buffer {
				ch.send(o)
			}
			k.log.Info("replayed output to a reconnecting client", "messages", len(k.buffer))
		}
		k.buffer, k.bufferBytes = nil, 0
	}
	k.channels[ch] = struct{}{}
	k.lastActivity = time.Now().UTC()
}

func (k *Kernel) detach(ch *channel) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.channels, ch)
	if len(k.channels) == 0 {
		k.bufferFor = ch.session
		k.buffer, k.bufferBytes = nil, 0
	}
}

// broadcastStatus injects a status message of the server's own (restarting, dead) into every
// websocket, in each one's framing, as jupyter_server does when it restarts a kernel by itself.
func (k *Kernel) broadcastStatusLocked(state string) {
	m, _ := kernel.NewMessage(k.signer, k.session, "status", nil, map[string]string{"execution_state": state})
	for ch := range k.channels {
		ch.send(outgoing{"iopub", m})
	}
}

// send forwards a websocket's message to the kernel, waiting while the kernel (re)starts.
func (k *Kernel) send(ctx context.Context, channel string, m *kernel.Message) error {
	if err := k.waitReady(ctx); err != nil {
		return err
	}
	k.mu.Lock()
	client, signer, state := k.client, k.signer, k.state
	k.lastActivity = time.Now().UTC()
	k.mu.Unlock()
	if client == nil {
		return fmt.Errorf("kernel %s is %s", k.ID, state)
	}
	m.Signature = signer.Sign(m.Header, m.Parent, m.Metadata, m.Content)
	var p *kernel.Peer
	switch channel {
	case "shell":
		p = client.Shell
	case "control":
		p = client.Control
	case "stdin":
		p = client.Stdin
	default:
		return fmt.Errorf("channel %q is not one a client sends on (shell, control, stdin)", channel)
	}
	return p.Send(m.Frames())
}

// watch waits for a kernel process to exit. An exit nobody asked for is a crash: the kernel is
// restarted (status "restarting" to the websockets), or declared dead after restartLimit crashes
// within restartWindow.
func (k *Kernel) watch(gen int, proc *kernel.Process) {
	<-proc.Done()
	k.mu.Lock()
	if gen != k.gen || k.stopping {
		k.mu.Unlock()
		return
	}
	now := time.Now()
	k.deaths = append(k.deaths, now)
	for len(k.deaths) > 0 && now.Sub(k.deaths[0]) > restartWindow {
		k.deaths = k.deaths[1:]
	}
	if k.client != nil {
		k.client.Close()
		k.client = nil
	}
	k.unreadyLocked() // messages from websockets wait for the restarted kernel
	k.log.Error("kernel died", "exit", proc.Exit(), "stderr", proc.StderrExcerpt())
	if len(k.deaths) > restartLimit {
		k.declareDeadLocked()
		k.mu.Unlock()
		return
	}
	k.state = "restarting"
	k.broadcastStatusLocked("restarting")
	k.mu.Unlock()
	if err := k.launch(); err != nil {
		k.log.Error("kernel restart failed", "err", err)
		k.mu.Lock()
		k.declareDeadLocked()
		k.mu.Unlock()
	}
}

func (k *Kernel) declareDeadLocked() {
	k.state = "dead"
	k.broadcastStatusLocked("dead")
	k.readyLocked()
}

// interrupt interrupts the kernel the way its kernelspec asks.
func (k *Kernel) interrupt() error {
	k.mu.Lock()
	proc, client, state := k.proc, k.client, k.state
	k.mu.Unlock()
	if state == "dead" {
		return httpjson.Errorf(http.StatusConflict, "kernel %s is dead; restart it", k.ID)
	}
	if k.spec.Launch.InterruptMode == "message" {
		if client == nil {
			return httpjson.Errorf(http.StatusConflict, "kernel %s is still starting; try again", k.ID)
		}
		return client.Control.Send(k.internal("interrupt_request", map[string]any{}).Frames())
	}
	return proc.Signal(syscall.SIGINT)
}

// restart stops the kernel process and starts a fresh one, keeping the id and the websockets.
func (k *Kernel) restart(ctx context.Context) error {
	k.mu.Lock()
	if k.stopping {
		k.mu.Unlock()
		return httpjson.Errorf(http.StatusConflict, "kernel %s is shutting down", k.ID)
	}
	k.gen++ // the old process's watcher must not treat its exit as a crash
	proc, client := k.proc, k.client
	k.client = nil
	k.unreadyLocked()
	k.state = "restarting"
	k.deaths = nil
	k.mu.Unlock()
	k.stopProcess(proc, client, true)
	if err := k.launch(); err != nil {
		k.mu.Lock()
		k.declareDeadLocked()
		k.mu.Unlock()
		return err
	}
	// Answer once the new kernel is ready, as jupyter_server does, so that a client that restarts and
	// then executes finds the kernel there.
	_ = k.waitReady(ctx)
	return nil
}

// stopProcess asks the kernel to shut down, then terminates and finally kills its process group.
func (k *Kernel) stopProcess(proc *kernel.Process, client *kernel.Client, restart bool) {
	if client != nil {
		m := k.internal("shutdown_request", map[string]any{"restart": restart})
		go client.Control.Send(m.Frames())
	}
	proc.Stop(shutdownGrace)
	if client != nil {
		client.Close()
	}
}

// shutdown stops the kernel for good and closes its websockets.
func (k *Kernel) shutdown() {
	k.mu.Lock()
	if k.stopping {
		k.mu.Unlock()
		return
	}
	k.stopping = true
	k.gen++
	proc, client := k.proc, k.client
	k.client = nil
	k.state = "dead"
	k.readyLocked()
	channels := make([]*channel, 0, len(k.channels))
	for ch := range k.channels {
		channels = append(channels, ch)
	}
	k.mu.Unlock()
	k.stopProcess(proc, client, false)
	for _, ch := range channels {
		ch.close(1000, "kernel shut down")
	}
	os.RemoveAll(filepath.Join(k.m.runtime, k.ID[:8]))
	k.m.mu.Lock()
	delete(k.m.kernels, k.ID)
	k.m.mu.Unlock()
	k.log.Info("kernel shut down")
}

// kernelModel is the kernel as /api/kernels describes it.
type kernelModel struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	LastActivity   string `json:"last_activity"`
	ExecutionState string `json:"execution_state"`
	Connections    int    `json:"connections"`
}

func (k *Kernel) model() kernelModel {
	k.mu.Lock()
	defer k.mu.Unlock()
	return kernelModel{ID: k.ID, Name: k.Name, LastActivity: isoTime(k.lastActivity),
		ExecutionState: k.state, Connections: len(k.channels)}
}

// isoTime formats a time the way jupyter_server does: UTC, microseconds, "Z".
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (s *Server) handleKernelList(w http.ResponseWriter, r *http.Request) {
	out := []kernelModel{}
	for _, k := range s.kernels.list() {
		out = append(out, k.model())
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *Server) handleKernelStart(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
		Path string `json:"path"`
	}
	if err := httpjson.Decode(r, &body, 1<<20, true); err != nil {
		httpjson.WriteError(w, err)
		return
	}
	k, err := s.kernels.start(body.Name, body.Path)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	w.Header().Set("Location", "/api/kernels/"+k.ID)
	httpjson.Write(w, http.StatusCreated, k.model())
}

// kernelFromPath returns the kernel named by the {id} path value, answering 404 itself.
func (s *Server) kernelFromPath(w http.ResponseWriter, r *http.Request) *Kernel {
	k, err := s.kernels.get(r.PathValue("id"))
	if err != nil {
		httpjson.WriteError(w, err)
		return nil
	}
	return k
}

func (s *Server) handleKernelGet(w http.ResponseWriter, r *http.Request) {
	if k := s.kernelFromPath(w, r); k != nil {
		httpjson.Write(w, http.StatusOK, k.model())
	}
}

func (s *Server) handleKernelDelete(w http.ResponseWriter, r *http.Request) {
	if k := s.kernelFromPath(w, r); k != nil {
		k.shutdown()
		s.sessions.kernelGone(k.ID)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleKernelInterrupt(w http.ResponseWriter, r *http.Request) {
	if k := s.kernelFromPath(w, r); k != nil {
		if err := k.interrupt(); err != nil {
			httpjson.WriteError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleKernelRestart(w http.ResponseWriter, r *http.Request) {
	if k := s.kernelFromPath(w, r); k != nil {
		if err := k.restart(r.Context()); err != nil {
			httpjson.WriteError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, k.model())
	}
}
