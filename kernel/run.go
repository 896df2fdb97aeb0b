package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hopsml/hops/magics"
)

// executeRequest is the content of an execute_request.
type executeRequest struct {
	Code            string         `json:"code"`
	Silent          bool           `json:"silent"`
	StoreHistory    *bool          `json:"store_history"`
	UserExpressions map[string]any `json:"user_expressions"`
	AllowStdin      bool           `json:"allow_stdin"`
	StopOnError     bool           `json:"stop_on_error"`
}

// executeReply is the part of an engine's execute_reply a %hops cell needs.
type executeReply struct {
	Status          string         `json:"status"`
	ExecutionCount  int            `json:"execution_count"`
	Ename           string         `json:"ename"`
	Evalue          string         `json:"evalue"`
	Traceback       []string       `json:"traceback"`
	UserExpressions map[string]any `json:"user_expressions"`
}

// cellError is why a %hops cell failed, as the frontend shows it.
type cellError struct {
	ename, evalue string
	traceback     []string
	shown         bool // the error output was already published (by the engine)
}

// runCell executes a cell with %hops lines: Python segments in the engine (their output attributed to
// the cell's request), %hops segments here, in source order. It reports whether the cell failed.
func (k *Kernel) runCell(r *request, req executeRequest) bool {
	k.status("busy", r.header)
	record := !req.Silent && (req.StoreHistory == nil || *req.StoreHistory)
	k.mu.Lock()
	count := k.nextCount
	k.mu.Unlock()
	if !req.Silent {
		k.publish("execute_input", r.header, map[string]any{"code": req.Code, "execution_count": count})
	}

	ctx, cancel := context.WithCancel(k.ctx)
	k.mu.Lock()
	k.active = cancel
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.active = nil
		k.mu.Unlock()
		cancel()
	}()

	var fail *cellError
	engineAlive := true
	for _, seg := range splitCell(req.Code) {
		if ctx.Err() != nil {
			fail = &cellError{ename: "KeyboardInterrupt", evalue: "interrupted"}
			break
		}
		if seg.misplaced {
			fail = &cellError{ename: "UsageError", evalue: "%%hops must be the first line of its cell (" + seg.code +
				"); for a line magic use %hops"}
			break
		}
		if seg.hops {
			if err := k.cfg.Magics.Run(ctx, seg.code, seg.body, seg.cell, k.magicEnv(r)); err != nil {
				fail = magicError(ctx, err)
				break
			}
			continue
		}
		rep, err := k.engineExecute(r, count, seg.code, req.Silent, false, req.AllowStdin, nil)
		if err != nil {
			fail, engineAlive = &cellError{ename: "EngineDied", evalue: err.Error()}, false
			var unavailable *unavailableError
			if errors.As(err, &unavailable) {
				fail.ename = "EngineUnavailable"
			}
			break
		}
		if rep.Status != "ok" {
			fail = &cellError{ename: rep.Ename, evalue: rep.Evalue, traceback: rep.Traceback, shown: true}
			break
		}
	}
	if fail != nil && !fail.shown {
		if fail.traceback == nil {
			fail.traceback = errorTraceback(fail.ename, fail.evalue)
		}
		k.publish("error", r.header, map[string]any{"ename": fail.ename, "evalue": fail.evalue, "traceback": fail.traceback})
	}

	// Record the cell in the engine's history: a comment with the cell's text advances the engine's
	// execution count and keeps history and In[] complete. hops waits for it only when the frontend
	// asked for user_expressions; otherwise it is queued (recordHistory).
	userExpressions := map[string]any{}
	if comment, ok := historyComment(k.cfg.Engine.Language, req.Code); record && engineAlive && ok {
		if len(req.UserExpressions) > 0 {
			if rep, err := k.engineExecute(r, count, comment, false, true, false, req.UserExpressions); err == nil {
				count = rep.ExecutionCount
				if rep.UserExpressions != nil {
					userExpressions = rep.UserExpressions
				}
			}
		} else {
			k.recordHistory(comment)
		}
	}
	if record {
		k.mu.Lock()
		k.nextCount = count + 1
		k.mu.Unlock()
	}

	content := map[string]any{"status": "ok", "execution_count": count, "payload": []any{}, "user_expressions": userExpressions}
	if fail != nil {
		content = map[string]any{"status": "error", "execution_count": count,
			"ename": fail.ename, "evalue": fail.evalue, "traceback": fail.traceback}
	}
	k.sendReply(r, "execute_reply", content)
	k.status("idle", r.header)
	return fail != nil
}

// engineExecute runs code in the engine on behalf of r and waits for its reply and idle. The engine's
// output is relayed as output of r. It fails only if the engine is unavailable or dies meanwhile; an
// interrupt reaches the engine directly and comes back as an error reply.
func (k *Kernel) engineExecute(r *request, count int, code string, silent, storeHistory, allowStdin bool, userExpressions map[string]any) (*executeReply, error) {
	e, err := k.engine()
	if err != nil {
		return nil, err
	}
	if userExpressions == nil {
		userExpressions = map[string]any{}
	}
	sub, m := k.newSub(r, "execute_request", map[string]any{
		"code": code, "silent": silent, "store_history": storeHistory, "user_expressions": userExpressions,
		"allow_stdin": allowStdin, "stop_on_error": false,
	})
	sub.count = count
	defer k.dropSub(m)
	if err := k.toEngineShell(e, m.Frames()); err != nil {
		return nil, err
	}
	var rep *Message
	idle := sub.idle
	var grace <-chan time.Time
	for rep == nil || idle != nil {
		select {
		case rep = <-sub.reply:
			grace = time.After(idleGrace)
		case <-idle:
			idle = nil
		case <-grace:
			idle = nil
		case <-e.Done():
			return nil, engineDied(e)
		}
	}
	var out executeReply
	if err := json.Unmarshal(rep.Content, &out); err != nil {
		return nil, errors.New("the engine sent a malformed execute_reply")
	}
	return &out, nil
}

// magicError turns a failed %hops command into what the frontend shows.
func magicError(ctx context.Context, err error) *cellError {
	var usage *magics.UsageError
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return &cellError{ename: "KeyboardInterrupt", evalue: "%hops command interrupted"}
	case errors.As(err, &usage):
		return &cellError{ename: "UsageError", evalue: usage.Msg}
	default:
		return &cellError{ename: "HopsError", evalue: err.Error()}
	}
}

func (k *Kernel) magicEnv(r *request) *magics.Env {
	env := k.cfg.MagicEnv
	out := cellOutput{k: k, r: r}
	env.Out, env.Exec = out, out.execSilently
	env.Protocol = ProtocolVersion
	k.mu.Lock()
	env.Engine = k.engineDescription(k.info)
	k.mu.Unlock()
	return &env
}

// cellOutput publishes what a %hops command shows as output of the cell's request.
type cellOutput struct {
	k *Kernel
	r *request
}

func (o cellOutput) Display(data magics.Bundle) error {
	o.k.publish("display_data", o.r.header, map[string]any{"data": data, "metadata": map[string]any{}, "transient": map[string]any{}})
	return nil
}

func (o cellOutput) Show(id string, data magics.Bundle) error {
	o.k.publish("display_data", o.r.header, map[string]any{"data": data, "metadata": map[string]any{},
		"transient": map[string]any{"display_id": id}})
	return nil
}

func (o cellOutput) Update(id string, data magics.Bundle) error {
	o.k.publish("update_display_data", o.r.header, map[string]any{"data": data, "metadata": map[string]any{},
		"transient": map[string]any{"display_id": id}})
	return nil
}

func (o cellOutput) Stream(name, text string) error {
	o.k.publish("stream", o.r.header, map[string]any{"name": name, "text": text})
	return nil
}

// execSilently runs code in the engine for a %hops command (setting a variable), without output or
// history; an exception in it is the command's error.
func (o cellOutput) execSilently(_ context.Context, code string) error {
	rep, err := o.k.engineExecute(o.r, 0, code, true, false, false, nil)
	if err != nil {
		return err
	}
	if rep.Status != "ok" {
		return fmt.Errorf("%s: %s", rep.Ename, rep.Evalue)
	}
	return nil
}

// answerOnHopsLine answers complete_request and inspect_request when the cursor is on a %hops line.
func (k *Kernel) answerOnHopsLine(r *request, msgType string, content []byte) bool {
	var c struct {
		Code      string `json:"code"`
		CursorPos int    `json:"cursor_pos"`
	}
	if json.Unmarshal(content, &c) != nil {
		return false
	}
	runes := []rune(c.Code)
	if c.CursorPos < 0 || c.CursorPos > len(runes) {
		c.CursorPos = len(runes)
	}
	lineStart := c.CursorPos
	for lineStart > 0 && runes[lineStart-1] != '\n' {
		lineStart--
	}
	lineEnd := c.CursorPos
	for lineEnd < len(runes) && runes[lineEnd] != '\n' {
		lineEnd++
	}
	line := string(runes[lineStart:lineEnd])
	if len(line) == 0 || line[0] != '%' {
		return false
	}
	switch msgType {
	case "complete_request":
		comp, ok := k.cfg.Magics.Complete(line, c.CursorPos-lineStart)
		if !ok {
			return false
		}
		matches := comp.Matches
		if matches == nil {
			matches = []string{}
		}
		k.status("busy", r.header)
		k.sendReply(r, "complete_reply", map[string]any{"status": "ok", "matches": matches,
			"cursor_start": lineStart + comp.Start, "cursor_end": lineStart + comp.End, "metadata": map[string]any{}})
		k.status("idle", r.header)
	case "inspect_request":
		if !isHopsLine(line) {
			return false
		}
		data, _ := k.cfg.Magics.Inspect(line)
		k.status("busy", r.header)
		k.sendReply(r, "inspect_reply", map[string]any{"status": "ok", "found": true, "data": data, "metadata": map[string]any{}})
		k.status("idle", r.header)
	}
	return true
}
