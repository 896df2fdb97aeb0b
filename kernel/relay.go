package kernel

// Relaying engine traffic back to frontends, attributed to the requests it answers.

import (
	"encoding/json"
	"strings"
	"time"
)

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
			if f.idled {
				delete(k.inflight, id)
				k.signalChanged()
			}
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
		if f := k.inflight[parent]; f != nil {
			if _, replyDue := k.pending[parent]; replyDue {
				f.idled = true // finished when its reply comes (comm messages get none)
			} else {
				delete(k.inflight, parent)
				k.signalChanged()
			}
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
