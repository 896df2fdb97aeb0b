package kernel

// The engine's life: starting it, the handshake, noticing its death and starting a fresh one.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// launch starts an engine and waits for its first kernel_info_reply.
func (k *Kernel) launch() {
	e, err := startEngine(k.ctx, k.cfg.Engine, k.cfg.Connection.Key, k.log)
	var info map[string]any
	if err == nil {
		go e.Shell.Serve(func(f [][]byte) { k.relayReply(f) })
		go e.Control.Serve(func(f [][]byte) { k.relayReply(f) })
		go e.Stdin.Serve(func(f [][]byte) { k.relayInput(f) })
		go e.IOPub.Serve(func(f [][]byte) { k.relayIOPub(f) })
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
		sub, m := k.newSub(nil, "kernel_info_request", map[string]any{})
		if err := e.Shell.Send(m.Frames()); err != nil {
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
		case <-e.Done():
			k.dropSub(m)
			return nil, fmt.Errorf("engine %q exited while starting (%s)%s", e.spec.Name, e.Exit(), e.StderrExcerpt())
		}
		k.dropSub(m)
	}
	return nil, fmt.Errorf("engine %q did not answer within %s%s", e.spec.Name, k.cfg.EngineStartTimeout, e.StderrExcerpt())
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
	<-e.Done()
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

	k.log.Error("engine died; starting a fresh one", "engine", e.spec.Name, "exit", e.Exit())
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
		"variables and imports from earlier cells are gone, re-run the cells this one needs", e.spec.Name, e.Exit())
}

// fail answers a request the engine can no longer answer: an error output for an execution, an error
// reply, and the idle status the frontend waits for.
func (k *Kernel) fail(r *request, ename, evalue string) {
	tb := errorTraceback(ename, evalue)
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

// stopEngine stops the engine for good: no fresh one is started after it.
func (k *Kernel) stopEngine() {
	k.mu.Lock()
	k.shuttingDown = true
	e := k.eng
	k.mu.Unlock()
	if e != nil {
		e.stop(k.signer, k.session, 2*time.Second)
	}
}
