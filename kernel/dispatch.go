package kernel

// Frontend requests: what hops answers itself, what it forwards, and in which order.

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hopsml/hops/internal/buildinfo"
)

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
	id := msgID(r.header)
	toControl := r.reply == k.control
	k.mu.Lock()
	if !toControl {
		k.inflight[id] = &flight{eng: e, header: r.header}
	}
	if !noReply[r.msgType] {
		k.pending[id] = r
	}
	k.mu.Unlock()
	frames := m.Frames()[len(m.Identities):]
	if toControl {
		err = e.Control.Send(frames)
	} else {
		err = k.toEngineShell(e, frames)
	}
	if err != nil {
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
	k.stopEngine()
	k.sendReply(r, "shutdown_reply", map[string]any{"status": "ok", "restart": c.Restart})
	k.status("idle", r.header)
	k.iopub.flush(time.Second) // the frontend waits for this idle; hops exits right after
	k.cancel()
}
