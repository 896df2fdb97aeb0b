package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("a0436f6c-1916-498b-8eb9-e81ab9368e84")

// Raw JSON parts of a typical execute_request.
var (
	testHeader   = []byte(`{"msg_id":"m1","session":"s1","username":"u","date":"2024-01-01T00:00:00.000000Z","msg_type":"execute_request","version":"5.3"}`)
	testParent   = []byte(`{}`)
	testMetadata = []byte(`{}`)
	testContent  = []byte(`{"code":"print(1)","silent":false}`)
)

// wireFrames returns the frames of a message signed by s, as a socket would deliver them.
func wireFrames(s *Signer, identities [][]byte, header, parent, metadata, content []byte, buffers ...[]byte) [][]byte {
	frames := slices.Clone(identities)
	frames = append(frames, []byte("<IDS|MSG>"), s.Sign(header, parent, metadata, content), header, parent, metadata, content)
	return append(frames, buffers...)
}

// equalMessages reports whether two messages have the same parts, frame by frame.
func equalMessages(a, b *Message) bool {
	eq := func(x, y [][]byte) bool { return slices.EqualFunc(x, y, bytes.Equal) }
	return eq(a.Identities, b.Identities) && eq(a.Buffers, b.Buffers) &&
		bytes.Equal(a.Signature, b.Signature) && bytes.Equal(a.Header, b.Header) &&
		bytes.Equal(a.Parent, b.Parent) && bytes.Equal(a.Metadata, b.Metadata) &&
		bytes.Equal(a.Content, b.Content)
}

func TestDecodeSplitsValidFramesIntoParts(t *testing.T) {
	s := NewSigner(testKey)
	for _, tc := range []struct {
		name       string
		identities [][]byte
		buffers    [][]byte
	}{
		{"no identities", nil, nil},
		{"one identity", [][]byte{[]byte("client-1")}, nil},
		{"several identities", [][]byte{[]byte("router-a"), {0x00, 0xff, 0x10}, []byte("client-1")}, nil},
		{"binary buffers", [][]byte{[]byte("client-1")}, [][]byte{{0x00, 0x01, 0x02}, {}, []byte("<IDS|MSG>")}},
		{"buffers and no identities", nil, [][]byte{bytes.Repeat([]byte{0xab}, 4096)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames := wireFrames(s, tc.identities, testHeader, testParent, testMetadata, testContent, tc.buffers...)
			m, err := Decode(frames, s)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := &Message{
				Identities: tc.identities,
				Signature:  s.Sign(testHeader, testParent, testMetadata, testContent),
				Header:     testHeader, Parent: testParent, Metadata: testMetadata, Content: testContent,
				Buffers: tc.buffers,
			}
			if !equalMessages(m, want) {
				t.Errorf("Decode gave %+v\nwant %+v", m, want)
			}
			if len(m.Identities) != len(tc.identities) {
				t.Errorf("got %d identities, want %d", len(m.Identities), len(tc.identities))
			}
			if len(m.Buffers) != len(tc.buffers) {
				t.Errorf("got %d buffers, want %d", len(m.Buffers), len(tc.buffers))
			}
			h, err := m.Head()
			if err != nil {
				t.Fatalf("Head: %v", err)
			}
			if h.MsgID != "m1" || h.MsgType != "execute_request" || h.Session != "s1" || h.Version != "5.3" {
				t.Errorf("Head = %+v", h)
			}
		})
	}
}

func TestFramesThenDecodeGivesTheSameMessage(t *testing.T) {
	s := NewSigner(testKey)
	for _, tc := range []struct {
		name string
		m    *Message
	}{
		{"bare", &Message{Header: testHeader, Parent: testParent, Metadata: testMetadata, Content: testContent}},
		{"identities and buffers", &Message{
			Identities: [][]byte{[]byte("a"), []byte("b")},
			Header:     testHeader, Parent: testHeader, Metadata: []byte(`{"k":1}`), Content: testContent,
			Buffers: [][]byte{{1, 2, 3}, {}},
		}},
		{"empty parts", &Message{Header: []byte{}, Parent: []byte{}, Metadata: []byte{}, Content: []byte{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.Signature = s.Sign(tc.m.Header, tc.m.Parent, tc.m.Metadata, tc.m.Content)
			frames := tc.m.Frames()
			if n := len(tc.m.Identities) + 6 + len(tc.m.Buffers); len(frames) != n {
				t.Fatalf("Frames gave %d frames, want %d", len(frames), n)
			}
			got, err := Decode(frames, s)
			if err != nil {
				t.Fatalf("Decode(Frames()): %v", err)
			}
			if !equalMessages(got, tc.m) {
				t.Errorf("round trip gave %+v\nwant %+v", got, tc.m)
			}
		})
	}
}

func TestDecodeRejectsABadSignature(t *testing.T) {
	s := NewSigner(testKey)
	good := func() [][]byte { return wireFrames(s, nil, testHeader, testParent, testMetadata, testContent) }
	// Frame indexes without identities: 0 delimiter, 1 signature, 2 header, 3 parent, 4 metadata, 5 content.
	for _, tc := range []struct {
		name   string
		frames [][]byte
		signer *Signer
	}{
		{"wrong key", good(), NewSigner([]byte("another key"))},
		{"signed with no key", wireFrames(NewSigner(nil), nil, testHeader, testParent, testMetadata, testContent), s},
		{"tampered header", replaceFrame(good(), 2, bytes.Replace(testHeader, []byte("execute_request"), []byte("shutdown_request"), 1)), s},
		{"tampered parent", replaceFrame(good(), 3, []byte(`{"msg_id":"x"}`)), s},
		{"tampered metadata", replaceFrame(good(), 4, []byte(`{"a":1}`)), s},
		{"tampered content", replaceFrame(good(), 5, []byte(`{"code":"import os; os.system('rm -rf ~')"}`)), s},
		{"missing signature", replaceFrame(good(), 1, []byte{}), s},
		{"truncated signature", replaceFrame(good(), 1, good()[1][:63]), s},
		{"upper-case hex signature", replaceFrame(good(), 1, bytes.ToUpper(good()[1])), s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.frames, tc.signer)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Decode = %v, %v; want ErrBadSignature", m, err)
			}
			if m != nil {
				t.Errorf("Decode returned a message with its error: %+v", m)
			}
		})
	}
}

func replaceFrame(frames [][]byte, i int, b []byte) [][]byte {
	frames[i] = b
	return frames
}

func TestDecodeAcceptsAGoodSignature(t *testing.T) {
	s := NewSigner(testKey)
	frames := wireFrames(s, [][]byte{[]byte("id")}, testHeader, testParent, testMetadata, testContent, []byte("buf"))
	m, err := Decode(frames, NewSigner(slices.Clone(testKey)))
	if err != nil {
		t.Fatalf("Decode with the same key: %v", err)
	}
	if !s.Verify(m) {
		t.Error("Verify rejects a message Decode accepted")
	}
	mac := hmac.New(sha256.New, testKey)
	for _, part := range [][]byte{testHeader, testParent, testMetadata, testContent} {
		mac.Write(part)
	}
	if want := hex.EncodeToString(mac.Sum(nil)); string(m.Signature) != want {
		t.Errorf("signature %s, want the hex HMAC-SHA256 of the four parts %s", m.Signature, want)
	}
}

func TestDecodeWithANilSignerSkipsTheCheck(t *testing.T) {
	frames := wireFrames(NewSigner([]byte("engine key")), nil, testHeader, testParent, testMetadata, testContent)
	frames[1] = []byte("not a signature")
	if _, err := Decode(frames, nil); err != nil {
		t.Fatalf("Decode(frames, nil) = %v; a nil signer checks nothing", err)
	}
}

func TestEmptyKeyMeansNoSigningAndNoCheck(t *testing.T) {
	for _, key := range [][]byte{nil, {}} {
		s := NewSigner(key)
		if sig := s.Sign(testHeader, testParent, testMetadata, testContent); len(sig) != 0 {
			t.Errorf("NewSigner(%q).Sign = %q, want an empty signature", key, sig)
		}
		for _, sig := range [][]byte{{}, []byte("anything at all")} {
			frames := wireFrames(s, nil, testHeader, testParent, testMetadata, testContent)
			frames[1] = sig
			if _, err := Decode(frames, s); err != nil {
				t.Errorf("key %q, signature %q: Decode = %v, want no check", key, sig, err)
			}
		}
		m, err := NewMessage(s, "sess", "status", nil, map[string]string{"execution_state": "idle"})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Signature) != 0 {
			t.Errorf("NewMessage with key %q signed: %q", key, m.Signature)
		}
	}
}

func TestDecodeWithoutTheDelimiterFails(t *testing.T) {
	s := NewSigner(testKey)
	for _, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"no frames", nil},
		{"empty frame", [][]byte{{}}},
		{"parts only", [][]byte{[]byte("sig"), testHeader, testParent, testMetadata, testContent}},
		{"delimiter with a suffix", [][]byte{[]byte("<IDS|MSG>x"), []byte("sig"), testHeader, testParent, testMetadata, testContent}},
		{"delimiter in lower case", [][]byte{[]byte("<ids|msg>"), []byte("sig"), testHeader, testParent, testMetadata, testContent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.frames, s); !errors.Is(err, ErrNoDelimiter) {
				t.Errorf("Decode = %v, want ErrNoDelimiter", err)
			}
		})
	}
}

func TestDecodeWithFewerThanFiveFramesAfterTheDelimiterFails(t *testing.T) {
	s := NewSigner(testKey)
	full := wireFrames(s, [][]byte{[]byte("id")}, testHeader, testParent, testMetadata, testContent)
	// full is identity, delimiter and 5 parts: keep the delimiter and 0 to 4 of the parts.
	for after := 0; after < 5; after++ {
		frames := full[:2+after]
		if _, err := Decode(frames, s); !errors.Is(err, ErrTooFewFrames) {
			t.Errorf("%d frames after the delimiter: Decode = %v, want ErrTooFewFrames", after, err)
		}
	}
	if _, err := Decode(full, s); err != nil {
		t.Errorf("exactly 5 frames after the delimiter: Decode = %v", err)
	}
}

func TestDecodeRejectsAHeaderOrParentOverMaxHeaderSize(t *testing.T) {
	s := NewSigner(testKey)
	// A JSON object of exactly n bytes.
	object := func(n int) []byte { return []byte(`{"x":"` + strings.Repeat("a", n-8) + `"}`) }
	big, limit := object(MaxHeaderSize+1), object(MaxHeaderSize)
	if len(big) != MaxHeaderSize+1 || len(limit) != MaxHeaderSize {
		t.Fatalf("object sizes %d and %d", len(big), len(limit))
	}
	for _, tc := range []struct {
		name                    string
		header, parent, content []byte
		want                    error
	}{
		{"header over the limit", big, testParent, testContent, ErrTooLarge},
		{"parent over the limit", testHeader, big, testContent, ErrTooLarge},
		{"header at the limit", limit, testParent, testContent, nil},
		{"parent at the limit", testHeader, limit, testContent, nil},
		{"large content", testHeader, testParent, object(8 << 20), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames := wireFrames(s, nil, tc.header, tc.parent, testMetadata, tc.content)
			if _, err := Decode(frames, s); !errors.Is(err, tc.want) {
				t.Errorf("Decode = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeChecksSizeBeforeSignature(t *testing.T) {
	frames := wireFrames(NewSigner([]byte("other")), nil, bytes.Repeat([]byte("x"), MaxHeaderSize+1), testParent, testMetadata, testContent)
	if _, err := Decode(frames, NewSigner(testKey)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode = %v, want ErrTooLarge", err)
	}
}

func TestReparentChangesTheParentAndResigns(t *testing.T) {
	s := NewSigner(testKey)
	orig, err := NewMessage(s, "engine-session", "stream", []byte(`{"msg_id":"engine-request"}`), map[string]string{"name": "stdout", "text": "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	orig.Identities = [][]byte{[]byte("stream.stdout")}
	origParent, origSig := slices.Clone(orig.Parent), slices.Clone(orig.Signature)

	newParent := []byte(`{"msg_id":"frontend-request","msg_type":"execute_request"}`)
	re := orig.Reparent(newParent, s)

	if !bytes.Equal(re.Parent, newParent) {
		t.Errorf("Reparent parent = %s, want %s", re.Parent, newParent)
	}
	if re.ParentID() != "frontend-request" {
		t.Errorf("ParentID = %q, want frontend-request", re.ParentID())
	}
	if !s.Verify(re) {
		t.Error("the reparented message does not verify")
	}
	if bytes.Equal(re.Signature, origSig) {
		t.Error("Reparent kept the old signature")
	}
	if !bytes.Equal(re.Header, orig.Header) || !bytes.Equal(re.Content, orig.Content) ||
		!bytes.Equal(re.Metadata, orig.Metadata) || !slices.EqualFunc(re.Identities, orig.Identities, bytes.Equal) {
		t.Error("Reparent changed more than the parent and signature")
	}
	if !bytes.Equal(orig.Parent, origParent) || !bytes.Equal(orig.Signature, origSig) || !s.Verify(orig) {
		t.Error("Reparent modified the original message")
	}
	if _, err := Decode(re.Frames(), s); err != nil {
		t.Errorf("Decode(reparented.Frames()) = %v", err)
	}
}

func TestNewMessageHeaderHasEveryFieldAsAString(t *testing.T) {
	s := NewSigner(testKey)
	before := time.Now().UTC().Add(-time.Second)
	m, err := NewMessage(s, "session-1", "kernel_info_reply", nil, map[string]any{"status": "ok"})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(m.Header, &fields); err != nil {
		t.Fatalf("header %s is not JSON: %v", m.Header, err)
	}
	for _, name := range []string{"msg_id", "session", "username", "date", "msg_type", "version"} {
		v, ok := fields[name].(string)
		if !ok {
			t.Errorf("header field %q = %#v, want a string", name, fields[name])
			continue
		}
		if v == "" {
			t.Errorf("header field %q is empty", name)
		}
	}
	for name, want := range map[string]string{"session": "session-1", "msg_type": "kernel_info_reply", "version": "5.3"} {
		if fields[name] != want {
			t.Errorf("header %s = %v, want %q", name, fields[name], want)
		}
	}
	if id := fields["msg_id"].(string); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("msg_id %q is not a UUID", id)
	}
	date, err := time.Parse(time.RFC3339Nano, fields["date"].(string))
	if err != nil {
		t.Errorf("date %q is not ISO 8601: %v", fields["date"], err)
	} else if date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("date %v is not now", date)
	}
	if string(m.Parent) != "{}" || string(m.Metadata) != "{}" {
		t.Errorf("parent %s metadata %s, want {} and {}", m.Parent, m.Metadata)
	}
	if string(m.Content) != `{"status":"ok"}` {
		t.Errorf("content %s", m.Content)
	}
	if !s.Verify(m) {
		t.Error("NewMessage is not signed")
	}
	if _, err := Decode(m.Frames(), s); err != nil {
		t.Errorf("Decode(NewMessage().Frames()) = %v", err)
	}
}

func TestNewMessageGivesEachMessageItsOwnID(t *testing.T) {
	s := NewSigner(testKey)
	seen := map[string]bool{}
	for range 100 {
		m, err := NewMessage(s, "s", "status", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := m.Head()
		if err != nil {
			t.Fatal(err)
		}
		if seen[h.MsgID] {
			t.Fatalf("msg_id %s repeated", h.MsgID)
		}
		seen[h.MsgID] = true
	}
}

func TestNewMessageKeepsTheRawParent(t *testing.T) {
	parent := []byte(`{"msg_id": "abc",   "msg_type": "execute_request"}`)
	m, err := NewMessage(NewSigner(testKey), "s", "execute_reply", parent, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Parent, parent) {
		t.Errorf("parent %s, want the raw bytes %s", m.Parent, parent)
	}
	if m.ParentID() != "abc" {
		t.Errorf("ParentID = %q, want abc", m.ParentID())
	}
}

func TestNewMessageFailsOnContentThatIsNotJSON(t *testing.T) {
	if _, err := NewMessage(NewSigner(testKey), "s", "display_data", nil, make(chan int)); err == nil {
		t.Error("NewMessage with a channel as content succeeded")
	}
}

func TestParentID(t *testing.T) {
	for _, tc := range []struct {
		parent string
		want   string
	}{
		{`{}`, ""},
		{``, ""},
		{`null`, ""},
		{`not json`, ""},
		{`[1,2]`, ""},
		{`{"msg_id":42}`, ""},
		{`{"msg_id":"abc"}`, "abc"},
		{`{"session":"s","msg_id":"m-1","msg_type":"execute_request"}`, "m-1"},
	} {
		m := &Message{Parent: []byte(tc.parent)}
		if got := m.ParentID(); got != tc.want {
			t.Errorf("ParentID of %s = %q, want %q", tc.parent, got, tc.want)
		}
	}
}

func TestHeadRejectsAHeaderThatIsNotJSON(t *testing.T) {
	for _, header := range []string{``, `not json`, `[1]`, `{"msg_id":1}`} {
		m := &Message{Header: []byte(header)}
		if _, err := m.Head(); !errors.Is(err, ErrMalformedJSON) {
			t.Errorf("Head of %q = %v, want ErrMalformedJSON", header, err)
		}
	}
}

func TestSignerIsSafeForConcurrentUse(t *testing.T) {
	s := NewSigner(testKey)
	want := string(s.Sign(testHeader, testParent, testMetadata, testContent))
	done := make(chan string)
	for range 8 {
		go func() {
			var got string
			for range 200 {
				got = string(s.Sign(testHeader, testParent, testMetadata, testContent))
				if got != want {
					break
				}
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("concurrent Sign = %s, want %s", got, want)
		}
	}
}

func TestHeaderFieldReadsTopLevelStrings(t *testing.T) {
	for _, tc := range []struct {
		header, key, want string
	}{
		{`{"msg_id": "abc", "msg_type": "status"}`, "msg_id", "abc"},
		{`{"msg_id":"abc","msg_type":"status"}`, "msg_type", "status"},
		{`{"msg_type" :  "execute_reply"}`, "msg_type", "execute_reply"},
		{`{}`, "msg_id", ""},
		{`{"username": "msg_id", "msg_id": "real"}`, "msg_id", "real"},     // the key name as a value
		{`{"msg_id": "a\"b"}`, "msg_id", `a"b`},                            // escapes: decoded properly
		{`{"note": "\"msg_id\": \"fake\"", "msg_id": "x"}`, "msg_id", "x"}, // a key inside a string
		{`not json`, "msg_id", ""},
	} {
		if got := HeaderField([]byte(tc.header), tc.key); got != tc.want {
			t.Errorf("HeaderField(%s, %q) = %q, want %q", tc.header, tc.key, got, tc.want)
		}
	}
}
