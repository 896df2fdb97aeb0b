// Package httpjson owns the JSON conventions every hops HTTP endpoint follows: JSON bodies in and
// out, and errors as {"message": ..., "reason": ...} with a status that says whose fault it was.
// A bad request is a 4xx that tells the caller what to fix, never a 500 or a hang.
package httpjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
)

// MaxBody is the default limit on a JSON request body. Contents saves of large notebooks are the
// biggest legitimate bodies; chunked uploads keep each request near 1 MiB.
const MaxBody = 512 << 20

// StatusError is an error with the HTTP status it should be answered with.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// Errorf returns a StatusError with a formatted message.
func Errorf(status int, format string, args ...any) error {
	return &StatusError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// Write answers with v as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// WriteError answers with err as {"message", "reason"}: a StatusError with its status, a missing
// file with 404, a permission error with 403, anything else with 500.
func WriteError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var se *StatusError
	switch {
	case errors.As(err, &se):
		status = se.Status
	case errors.Is(err, fs.ErrNotExist):
		status = http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		status = http.StatusForbidden
	case errors.Is(err, fs.ErrExist):
		status = http.StatusConflict
	}
	b, _ := json.Marshal(map[string]string{"message": err.Error(), "reason": http.StatusText(status)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// Decode reads a JSON request body of at most limit bytes (MaxBody when limit is 0) into v. An empty
// body leaves v untouched when optional is true. Errors are StatusErrors: 400 for malformed JSON or a
// value of the wrong shape, 413 for a body over the limit.
func Decode(r *http.Request, v any, limit int64, optional bool) error {
	if limit <= 0 {
		limit = MaxBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return Errorf(http.StatusBadRequest, "read request body: %v", err)
	}
	if int64(len(body)) > limit {
		return Errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", limit)
	}
	if len(body) == 0 {
		if optional {
			return nil
		}
		return Errorf(http.StatusBadRequest, "request body is empty: send a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Errorf(http.StatusBadRequest, "request body: field %q must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return Errorf(http.StatusBadRequest, "request body is not valid JSON: %v", err)
	}
	return nil
}
