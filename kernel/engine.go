package kernel

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// engine is one running engine kernel process and hops' client connection to it.
type engine struct {
	*Process
	*Client
	spec EngineSpec
	conn ConnectionInfo
	dir  string
	log  *slog.Logger

	ctx    context.Context // ends when the process has exited or the engine is stopped
	cancel context.CancelFunc
	closed sync.Once
}

// startEngine launches the engine process and connects hops' client sockets to it. The engine signs
// with key, the frontend's key, so that messages pass through hops unchanged.
func startEngine(parent context.Context, spec EngineSpec, key string, log *slog.Logger) (*engine, error) {
	dir, err := os.MkdirTemp("", "hops-engine-")
	if err != nil {
		return nil, fmt.Errorf("engine connection dir: %w", err)
	}
	conn, connFile, err := WriteConnectionFile(dir, uuid.NewString(), spec, key)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	env := append(os.Environ(), fmt.Sprintf("JPY_PARENT_PID=%d", os.Getpid()))
	p, err := StartProcess(ProcessOptions{Argv: spec.ArgvFor(connFile), Env: append(env, spec.EnvList()...)})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start engine %q: %w", spec.Name, err)
	}
	ctx, cancel := context.WithCancel(parent)
	go func() {
		<-p.Done()
		cancel()
	}()
	e := &engine{Process: p, spec: spec, conn: conn, dir: dir, log: log, ctx: ctx, cancel: cancel}
	e.Client, err = DialClient(ctx, conn, "hops-"+uuid.NewString())
	if err != nil {
		e.kill()
		if ctx.Err() != nil {
			<-p.Done()
			return nil, fmt.Errorf("engine %q exited while starting (%s)%s", spec.Name, p.Exit(), p.StderrExcerpt())
		}
		return nil, fmt.Errorf("engine %q: %w", spec.Name, err)
	}
	return e, nil
}

// interrupt interrupts the engine the way its kernelspec asks.
func (e *engine) interrupt(s *Signer, session string) {
	if e.spec.InterruptMode == "message" {
		m := newInternalMessage(s, session, "interrupt_request", map[string]any{})
		if err := e.Control.Send(m.Frames()); err != nil {
			e.log.Warn("interrupt engine", "err", err)
		}
		return
	}
	if err := e.Signal(syscall.SIGINT); err != nil {
		e.log.Warn("interrupt engine", "err", err)
	}
}

// stop asks the engine to shut down, then terminates and finally kills its process group, and
// releases the sockets. It returns when the process has been reaped.
func (e *engine) stop(s *Signer, session string, grace time.Duration) {
	m := newInternalMessage(s, session, "shutdown_request", map[string]any{"restart": false})
	go e.Control.Send(m.Frames()) // may block if the engine is gone; the connection closes below
	e.Stop(grace)
	e.close()
}

// kill kills the process group at once and waits for the process to be reaped.
func (e *engine) kill() {
	e.Kill()
	e.close()
}

func (e *engine) close() {
	e.closed.Do(func() {
		e.cancel()
		if e.Client != nil {
			e.Client.Close()
		}
		os.RemoveAll(e.dir)
	})
}
