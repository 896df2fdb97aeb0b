// Package kernel is the hops Jupyter kernel: the Jupyter wire protocol (frames, HMAC signing, sockets),
// the kernel loop that answers frontends, and the supervision of the engine kernel it proxies to.
//
// Requests the kernel does not handle itself (anything without %hops) are forwarded to the engine as
// the exact bytes the frontend sent: the engine shares the frontend's HMAC key, so neither direction is
// re-encoded or re-signed, and replies and IOPub output keep their original parent headers.
package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ProtocolVersion is the Jupyter messaging protocol version hops speaks. 5.3 and not 5.4+: a 5.4+ kernel
// is expected to send iopub_welcome through an XPUB socket, which go-zeromq cannot observe.
const ProtocolVersion = "5.3"

// delimiter separates routing identities from the signed message parts.
var delimiter = []byte("<IDS|MSG>")

// Size limits for the parts of one message. Headers are small fixed dicts; a header above the limit is
// an attack or a bug. Content and buffers may legitimately be large (images, dataframes).
const (
	MaxHeaderSize  = 64 << 10
	MaxMessageSize = 1 << 30
)

// Errors returned by Decode. They are sentinel values so that callers can log and count them.
var (
	ErrNoDelimiter   = errors.New("no <IDS|MSG> delimiter")
	ErrTooFewFrames  = errors.New("fewer than the 5 frames after the delimiter (signature, header, parent, metadata, content)")
	ErrBadSignature  = errors.New("bad HMAC signature")
	ErrTooLarge      = errors.New("message part over the size limit")
	ErrMalformedJSON = errors.New("header is not a JSON object with msg_id and msg_type")
)

// Message is one Jupyter message as it travels on a socket. The four JSON parts are kept as the raw
// bytes that were received (or will be sent) so that forwarding never re-encodes them.
type Message struct {
	Identities [][]byte // routing identities (ROUTER) or the topic (PUB/SUB)
	Signature  []byte
	Header     []byte
	Parent     []byte
	Metadata   []byte
	Content    []byte
	Buffers    [][]byte
}

// Header is the decoded message header.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Head decodes the header part.
func (m *Message) Head() (Header, error) {
	var h Header
	if err := json.Unmarshal(m.Header, &h); err != nil {
		return h, fmt.Errorf("%w: %v", ErrMalformedJSON, err)
	}
	if h.MsgID == "" || h.MsgType == "" {
		return h, fmt.Errorf("%w: no msg_id or msg_type", ErrMalformedJSON)
	}
	return h, nil
}

// ParentID returns the msg_id of the parent header, or "" when there is none.
func (m *Message) ParentID() string { return HeaderField(m.Parent, "msg_id") }

// MsgType returns the msg_type of the header.
func (m *Message) MsgType() string { return HeaderField(m.Header, "msg_type") }

// HeaderField reads one top-level string field of a header. Routing needs a field or two of every
// message relayed; scanning for them costs a fraction of a reflective decode. Headers are flat
// objects of short strings, so a field is the first occurrence of its quoted key followed by a colon;
// anything unusual (escapes, odd spacing) falls back to encoding/json.
func HeaderField(header []byte, key string) string {
	i := bytes.Index(header, []byte(`"`+key+`"`))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(header[i+len(key)+2:], " \t\r\n")
	if len(rest) > 0 && rest[0] == ':' {
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) > 0 && rest[0] == '"' {
			if end := bytes.IndexByte(rest[1:], '"'); end >= 0 && bytes.IndexByte(rest[1:end+1], '\\') < 0 {
				return string(rest[1 : end+1])
			}
		}
	}
	var h map[string]any
	if json.Unmarshal(header, &h) != nil {
		return ""
	}
	v, _ := h[key].(string)
	return v
}

// Signer computes and checks HMAC-SHA256 signatures. An empty key disables signing, as the
// protocol specifies.
type Signer struct {
	key  []byte
	pool sync.Pool
}

// NewSigner returns a signer for the connection file's key.
func NewSigner(key []byte) *Signer {
	s := &Signer{key: key}
	s.pool.New = func() any { return hmac.New(sha256.New, s.key) }
	return s
}

// Sign returns the hex signature of the four JSON parts.
func (s *Signer) Sign(header, parent, metadata, content []byte) []byte {
	if len(s.key) == 0 {
		return []byte{}
	}
	mac := s.pool.Get().(hash.Hash)
	defer s.pool.Put(mac)
	mac.Reset()
	mac.Write(header)
	mac.Write(parent)
	mac.Write(metadata)
	mac.Write(content)
	var sum [sha256.Size]byte
	out := make([]byte, hex.EncodedLen(sha256.Size))
	hex.Encode(out, mac.Sum(sum[:0]))
	return out
}

// Verify reports whether sig is the signature of the message parts, in constant time.
func (s *Signer) Verify(m *Message) bool {
	if len(s.key) == 0 {
		return true
	}
	return hmac.Equal(m.Signature, s.Sign(m.Header, m.Parent, m.Metadata, m.Content))
}

// Decode splits raw frames into a Message and verifies its signature. With a nil signer the
// signature is not checked (used for messages from the engine, which we started and share a key with).
func Decode(frames [][]byte, s *Signer) (*Message, error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], delimiter) {
		i++
	}
	if i == len(frames) {
		return nil, ErrNoDelimiter
	}
	rest := frames[i+1:]
	if len(rest) < 5 {
		return nil, ErrTooFewFrames
	}
	total := 0
	for _, f := range frames {
		total += len(f)
	}
	if total > MaxMessageSize || len(rest[1]) > MaxHeaderSize || len(rest[2]) > MaxHeaderSize {
		return nil, ErrTooLarge
	}
	m := &Message{
		Identities: frames[:i],
		Signature:  rest[0],
		Header:     rest[1],
		Parent:     rest[2],
		Metadata:   rest[3],
		Content:    rest[4],
		Buffers:    rest[5:],
	}
	if s != nil && !s.Verify(m) {
		return nil, ErrBadSignature
	}
	return m, nil
}

// Frames returns the wire frames of m: identities, delimiter, signature, the four parts, buffers.
func (m *Message) Frames() [][]byte {
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, delimiter, m.Signature, m.Header, m.Parent, m.Metadata, m.Content)
	return append(frames, m.Buffers...)
}

// Reparent returns a copy of m with a new parent header, signed by s. It is how output of requests the
// kernel made on behalf of a frontend request is attributed to that request.
func (m *Message) Reparent(parent []byte, s *Signer) *Message {
	c := *m
	c.Parent = parent
	c.Signature = s.Sign(c.Header, c.Parent, c.Metadata, c.Content)
	return &c
}

// NewHeader returns the encoded header of a new message of the given type.
func NewHeader(msgType, session string) []byte { return newHeader(uuid.NewString(), msgType, session) }

func newHeader(msgID, msgType, session string) []byte {
	h := Header{
		MsgID:    msgID,
		Session:  session,
		Username: "hops",
		Date:     time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
	b, _ := json.Marshal(h) // a struct of strings always encodes
	return b
}

// NewMessage builds and signs a message. parent is the raw header of the request it answers (or nil).
func NewMessage(s *Signer, session, msgType string, parent []byte, content any) (*Message, error) {
	return NewMessageWithID(s, session, uuid.NewString(), msgType, parent, content)
}

// internalPrefix starts the msg_id of every request hops itself sends to the engine; engine output
// for them is never relayed as is.
const internalPrefix = "hops-"

// newInternalMessage builds a request hops itself sends to the engine. Its contents are plain maps,
// which always encode.
func newInternalMessage(s *Signer, session, msgType string, content any) *Message {
	m, _ := NewMessageWithID(s, session, internalPrefix+uuid.NewString(), msgType, nil, content)
	return m
}

// NewMessageWithID is NewMessage with a msg_id of the caller's: a client that sends requests of its
// own marks their ids to recognize the answers.
func NewMessageWithID(s *Signer, session, msgID, msgType string, parent []byte, content any) (*Message, error) {
	c, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("encode %s content: %w", msgType, err)
	}
	if parent == nil {
		parent = []byte("{}")
	}
	m := &Message{Header: newHeader(msgID, msgType, session), Parent: parent, Metadata: []byte("{}"), Content: c}
	m.Signature = s.Sign(m.Header, m.Parent, m.Metadata, m.Content)
	return m, nil
}
