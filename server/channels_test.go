package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/hopsml/hops/kernel"
)

func sampleMessage(buffers ...[]byte) *kernel.Message {
	return &kernel.Message{
		Header:   []byte(`{"msg_id":"m1","msg_type":"execute_request","session":"s1","username":"","date":"2026-11-25T00:00:00Z","version":"5.3"}`),
		Parent:   []byte(`{}`),
		Metadata: []byte(`{"cellId":"c1"}`),
		Content:  []byte(`{"code":"1+1","silent":false}`),
		Buffers:  buffers,
	}
}

func samePart(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestV1FramingRoundTripsEveryPartUnchanged(t *testing.T) {
	for _, buffers := range [][][]byte{nil, {[]byte("\x00\x01binary")}, {[]byte("a"), {}, []byte("ccc")}} {
		m := sampleMessage(buffers...)
		frame := encodeV1("shell", m)
		if n := binary.LittleEndian.Uint64(frame); n != uint64(6+len(buffers)) {
			t.Fatalf("offset count = %d, want %d", n, 6+len(buffers))
		}
		channel, got, err := decodeV1(frame)
		if err != nil {
			t.Fatal(err)
		}
		if channel != "shell" {
			t.Errorf("channel = %q", channel)
		}
		samePart(t, "header", got.Header, m.Header)
		samePart(t, "parent", got.Parent, m.Parent)
		samePart(t, "metadata", got.Metadata, m.Metadata)
		samePart(t, "content", got.Content, m.Content)
		if len(got.Buffers) != len(buffers) {
			t.Fatalf("%d buffers, want %d", len(got.Buffers), len(buffers))
		}
		for i := range buffers {
			samePart(t, "buffer", got.Buffers[i], buffers[i])
		}
	}
}

func TestV1DecodeRefusesMalformedFrames(t *testing.T) {
	good := encodeV1("shell", sampleMessage())
	outOfOrder := append([]byte{}, good...)
	binary.LittleEndian.PutUint64(outOfOrder[16:], 1<<40)
	noHeader := encodeV1("shell", &kernel.Message{Header: []byte(`{}`), Parent: []byte(`{}`), Metadata: []byte(`{}`), Content: []byte(`{}`)})
	for name, frame := range map[string][]byte{
		"empty":              {},
		"short count":        {1, 2, 3},
		"too few offsets":    binary.LittleEndian.AppendUint64(nil, 2),
		"count past the end": binary.LittleEndian.AppendUint64(nil, 1000),
		"offset past end":    outOfOrder,
		"truncated":          good[:len(good)-5],
		"header without id":  noHeader,
	} {
		if _, _, err := decodeV1(frame); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestLegacyFramingIsJSONTextWithoutBuffers(t *testing.T) {
	m := sampleMessage()
	frame := encodeLegacy("iopub", m)
	var decoded map[string]any
	if err := json.Unmarshal(frame, &decoded); err != nil {
		t.Fatalf("legacy frame is not JSON: %v\n%s", err, frame)
	}
	for _, key := range []string{"header", "parent_header", "metadata", "content", "channel", "buffers", "msg_id", "msg_type"} {
		if _, ok := decoded[key]; !ok {
			t.Errorf("legacy message lacks %q", key)
		}
	}
	if decoded["msg_id"] != "m1" || decoded["msg_type"] != "execute_request" || decoded["channel"] != "iopub" {
		t.Errorf("top-level fields wrong: %v", decoded)
	}
	channel, got, err := decodeLegacy(websocket.TextMessage, frame)
	if err != nil || channel != "iopub" {
		t.Fatalf("decode: %q %v", channel, err)
	}
	samePart(t, "content", got.Content, m.Content)
}

func TestLegacyBinaryFramingCarriesBuffers(t *testing.T) {
	m := sampleMessage([]byte("one"), []byte("\x00two"))
	frame := encodeLegacy("shell", m)
	if n := binary.BigEndian.Uint32(frame); n != 3 {
		t.Fatalf("buffer count = %d, want 3 (the JSON and two buffers)", n)
	}
	channel, got, err := decodeLegacy(websocket.BinaryMessage, frame)
	if err != nil || channel != "shell" {
		t.Fatalf("decode: %q %v", channel, err)
	}
	if len(got.Buffers) != 2 || string(got.Buffers[0]) != "one" || string(got.Buffers[1]) != "\x00two" {
		t.Errorf("buffers = %q", got.Buffers)
	}
}

func TestLegacyDecodeTurnsNullPartsIntoEmptyObjects(t *testing.T) {
	frame := []byte(`{"header":{"msg_id":"x","msg_type":"kernel_info_request"},"parent_header":null,"metadata":null,"content":{},"channel":"shell"}`)
	_, m, err := decodeLegacy(websocket.TextMessage, frame)
	if err != nil {
		t.Fatal(err)
	}
	samePart(t, "parent", m.Parent, []byte("{}"))
	samePart(t, "metadata", m.Metadata, []byte("{}"))
	for _, bad := range []string{`not json`, `{"header":{}}`, `[]`} {
		if _, _, err := decodeLegacy(websocket.TextMessage, []byte(bad)); err == nil {
			t.Errorf("%s: decoded without error", bad)
		}
	}
}
