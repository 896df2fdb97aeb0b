package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"
)

// engine is one running engine kernel process and hops' client sockets to it.
type engine struct {
	spec EngineSpec
	conn ConnectionInfo
	dir  string
	cmd  *exec.Cmd
	log  *slog.Logger

	shell, control, stdin, iopub *peer

	ctx    context.Context // ends when the process has exited or the engine is stopped
	cancel context.CancelFunc
	done   chan struct{} // closed once the process has been reaped
	closed sync.Once
	exit   string      // how the process ended; set before done is closed
	stderr *tailBuffer // the end of the engine's stderr, for error messages
}

// startEngine launches the engine process and connects hops' client sockets to it. The engine signs
// with key, the frontend's key, so that messages pass through hops unchanged.
func startEngine(parent context.Context, spec EngineSpec, key string, log *slog.Logger) (*engine, error) {
	dir, err := os.MkdirTemp("", "hops-engine-")
	if err != nil {
		return nil, fmt.Errorf("engine connection dir: %w", err)
	}
	// ipykernel speaks ipc; an arbitrary kernelspec may only know tcp.
	var conn ConnectionInfo
	if spec.Python != "" {
		conn, err = NewIPCConnection(dir)
	} else {
		conn, err = NewLocalConnection()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conn.Key = key
	conn.KernelName = spec.Name
	connFile := filepath.Join(dir, "kernel-"+uuid.NewString()+".json")
	if err := conn.Write(connFile); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write engine connection file: %w", err)
	}

	argv := make([]string, len(spec.Argv))
	for i, a := range spec.Argv {
		argv[i] = strings.ReplaceAll(a, "{connection_file}", connFile)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("JPY_PARENT_PID=%d", os.Getpid()))
	for k, v := range spec.Env {
		cmd.Env = append(cmd.Env, k+"="+os.ExpandEnv(v))
	}
	// Own process group, so a frontend's SIGINT to hops' group does not reach the engine twice and
	// the engine's children can be signalled together; killed with hops if hops dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	tail := &tailBuffer{max: 8 << 10}
	cmd.Stdout = os.Stderr
	cmd.Stderr = io.MultiWriter(os.Stderr, tail)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start engine %q (%s): %w", spec.Name, argv[0], err)
	}

	ctx, cancel := context.WithCancel(parent)
	e := &engine{spec: spec, conn: conn, dir: dir, cmd: cmd, log: log, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), stderr: tail}
	go func() {
		err := cmd.Wait()
		e.exit = describeExit(cmd.ProcessState, err)
		cancel()
		close(e.done)
	}()

	if err := e.dial(); err != nil {
		e.kill()
		return nil, err
	}
	return e, nil
}

// dial connects the four client sockets, retrying while the engine binds its ports; it gives up when
// the engine process exits.
func (e *engine) dial() error {
	id := zmq4.SocketIdentity("hops-" + uuid.NewString())
	for _, d := range []struct {
		p    **peer
		port int
		typ  zmq4.SocketType
		id   zmq4.SocketIdentity
	}{
		// shell and stdin share an identity so that input_request reaches the requester (protocol rule).
		{&e.shell, e.conn.ShellPort, zmq4.Dealer, id},
		{&e.stdin, e.conn.StdinPort, zmq4.Dealer, id},
		{&e.control, e.conn.ControlPort, zmq4.Dealer, zmq4.SocketIdentity("hops-control-" + uuid.NewString())},
		{&e.iopub, e.conn.IOPubPort, zmq4.Sub, zmq4.SocketIdentity("")},
	} {
		p, err := dialPeer(e.ctx, e.conn.Endpoint(d.port), d.typ, d.id)
		if err != nil {
			if e.ctx.Err() != nil {
				<-e.done
				return fmt.Errorf("engine %q exited while starting (%s)%s", e.spec.Name, e.exit, e.stderr.excerpt())
			}
			return fmt.Errorf("connect to engine %q: %w", e.spec.Name, err)
		}
		*d.p = p
	}
	return e.iopub.subscribe("")
}

// interrupt interrupts the engine the way its kernelspec asks.
func (e *engine) interrupt(s *Signer, session string) {
	if e.spec.InterruptMode == "message" {
		m := newInternalMessage(s, session, "interrupt_request", map[string]any{})
		if err := e.control.send(m.Frames()); err != nil {
			e.log.Warn("interrupt engine", "err", err)
		}
		return
	}
	if err := syscall.Kill(-e.cmd.Process.Pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		e.log.Warn("interrupt engine", "err", err)
	}
}

// stop asks the engine to shut down, then terminates and finally kills its process group, and
// releases the sockets. It returns when the process has been reaped.
func (e *engine) stop(s *Signer, session string, grace time.Duration) {
	m := newInternalMessage(s, session, "shutdown_request", map[string]any{"restart": false})
	go e.control.send(m.Frames()) // may block if the engine is gone; the connection closes below
	select {
	case <-e.done:
	case <-time.After(grace):
		e.signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(2 * time.Second):
			e.kill()
		}
	}
	e.close()
}

// kill kills the process group at once and waits for the process to be reaped.
func (e *engine) kill() {
	e.signal(syscall.SIGKILL)
	<-e.done
	e.close()
}

func (e *engine) signal(sig syscall.Signal) {
	if err := syscall.Kill(-e.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		e.log.Warn("signal engine", "signal", sig, "err", err)
	}
}

func (e *engine) close() {
	e.closed.Do(func() {
		e.cancel()
		for _, s := range []*peer{e.shell, e.control, e.stdin, e.iopub} {
			if s != nil {
				s.Close()
			}
		}
		os.RemoveAll(e.dir)
	})
}

func describeExit(ps *os.ProcessState, err error) string {
	if ps == nil {
		return fmt.Sprint(err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + signalName(ws.Signal())
	}
	return fmt.Sprintf("exit status %d", ps.ExitCode())
}

// signalName names a signal the way kill -l does (KILL, SEGV, ...).
func signalName(sig syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGKILL: "KILL", syscall.SIGTERM: "TERM", syscall.SIGSEGV: "SEGV",
		syscall.SIGABRT: "ABRT", syscall.SIGINT: "INT", syscall.SIGHUP: "HUP", syscall.SIGBUS: "BUS"}
	if n, ok := names[sig]; ok {
		return n
	}
	return fmt.Sprintf("%d (%s)", int(sig), sig)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// excerpt returns the last lines of the engine's stderr, ready to append to an error message.
func (t *tailBuffer) excerpt() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "; its last output:\n" + strings.Join(lines, "\n")
}
