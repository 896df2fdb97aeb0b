package kernel

// Messages hops sends: to frontends (replies, IOPub) and to the engine (its own requests).

import (
	"time"
)

// toEngineShell sends a request to the engine's shell after the history records still queued, so
// the engine sees everything in the order hops received it.
func (k *Kernel) toEngineShell(e *engine, frames [][]byte) error {
	k.sendMu.Lock()
	defer k.sendMu.Unlock()
	k.flushHistoryLocked(e)
	return e.Shell.Send(frames)
}

// recordHistory queues code for the engine's history. Recording is not urgent: the records go out
// before the next request to the engine, or after a moment of quiet, so a %hops cell never waits
// for the engine and the engine does not compete for CPU while the cell's reply is on its way.
func (k *Kernel) recordHistory(code string) {
	m := newInternalMessage(k.signer, k.session, "execute_request", map[string]any{"code": code, "silent": false,
		"store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": false})
	k.mu.Lock()
	defer k.mu.Unlock()
	k.history = append(k.history, m)
	if k.historyTimer == nil {
		k.historyTimer = time.AfterFunc(100*time.Millisecond, func() {
			k.sendMu.Lock()
			defer k.sendMu.Unlock()
			k.mu.Lock()
			e, stopping := k.eng, k.shuttingDown
			k.historyTimer = nil
			k.mu.Unlock()
			if e != nil && !stopping { // a stopping engine's history goes with it
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
		if err := e.Shell.Send(m.Frames()); err != nil {
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

// errorTraceback is the traceback of an error hops reports itself: one line, colored as IPython
// colors the exception name.
func errorTraceback(ename, evalue string) []string {
	return []string{"\x1b[0;31m" + ename + "\x1b[0m: " + evalue}
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

// newSub registers a request hops sends to the engine and returns it ready to send.
func (k *Kernel) newSub(run *request, msgType string, content any) (*subRequest, *Message) {
	m := newInternalMessage(k.signer, k.session, msgType, content)
	sub := &subRequest{run: run, reply: make(chan *Message, 1), idle: make(chan struct{})}
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

func msgID(header []byte) string { return HeaderField(header, "msg_id") }
