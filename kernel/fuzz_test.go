package kernel

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSep separates frames in a fuzz input. JSON and hex signatures never contain a NUL byte, so valid
// messages survive the encoding; identities and buffers in the seeds avoid it too.
const fuzzSep = 0x00

func joinFrames(frames [][]byte) []byte { return bytes.Join(frames, []byte{fuzzSep}) }

func splitFrames(data []byte) [][]byte { return bytes.Split(data, []byte{fuzzSep}) }

// FuzzDecode checks that Decode never panics on arbitrary frames and that whatever it accepts
// re-encodes with Frames to frames that decode to the same message and still verify.
func FuzzDecode(f *testing.F) {
	keyed := NewSigner([]byte("fuzz-key"))
	signers := []struct {
		name string
		s    *Signer
	}{
		{"keyed", keyed},
		{"empty key", NewSigner(nil)},
		{"nil", nil},
	}

	for _, m := range []*Message{
		{Header: testHeader, Parent: testParent, Metadata: testMetadata, Content: testContent},
		{Identities: [][]byte{[]byte("client-1"), []byte("router")}, Header: testHeader, Parent: testHeader,
			Metadata: []byte(`{"deletedCells":[]}`), Content: []byte(`{"data":{"text/plain":"1"}}`),
			Buffers: [][]byte{{0x01, 0x02, 0xff}, []byte("<IDS|MSG>")}},
		{Header: []byte(`{}`), Parent: []byte(`{}`), Metadata: []byte(`{}`), Content: []byte(`{}`)},
	} {
		m.Signature = keyed.Sign(m.Header, m.Parent, m.Metadata, m.Content)
		f.Add(joinFrames(m.Frames()))
	}
	nm, err := NewMessage(keyed, "fuzz", "execute_request", nil, map[string]any{"code": "%hops version"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(joinFrames(nm.Frames()))
	for _, garbage := range [][]byte{
		nil,
		{fuzzSep},
		[]byte("<IDS|MSG>"),
		[]byte("<IDS|MSG>\x00sig\x00{}\x00{}"),
		[]byte("<IDS|MSG>\x00\x00\x00\x00\x00"),
		[]byte("id\x00<IDS|MSG>\x00<IDS|MSG>\x00{}\x00{}\x00{}\x00{}"),
		[]byte("\xff\xfe\xfd random bytes \x00 more"),
	} {
		f.Add(garbage)
	}

	sentinels := []error{ErrNoDelimiter, ErrTooFewFrames, ErrBadSignature, ErrTooLarge}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames := splitFrames(data)
		for _, sg := range signers {
			m, err := Decode(frames, sg.s)
			if err != nil {
				if m != nil {
					t.Fatalf("%s signer: Decode returned a message with error %v", sg.name, err)
				}
				known := false
				for _, e := range sentinels {
					known = known || errors.Is(err, e)
				}
				if !known {
					t.Fatalf("%s signer: Decode error %v is not one of the sentinel errors", sg.name, err)
				}
				continue
			}
			if len(m.Header) > MaxHeaderSize || len(m.Parent) > MaxHeaderSize {
				t.Fatalf("%s signer: Decode accepted a %d-byte header and %d-byte parent", sg.name, len(m.Header), len(m.Parent))
			}
			if sg.s != nil && !sg.s.Verify(m) {
				t.Fatalf("%s signer: Decode accepted a message that does not verify", sg.name)
			}
			again, err := Decode(m.Frames(), sg.s)
			if err != nil {
				t.Fatalf("%s signer: Decode(m.Frames()) = %v after Decode accepted the frames", sg.name, err)
			}
			if !equalMessages(m, again) {
				t.Fatalf("%s signer: re-encoding changed the message:\n%+v\n%+v", sg.name, m, again)
			}
			if sg.s != nil && !sg.s.Verify(again) {
				t.Fatalf("%s signer: the re-decoded message does not verify", sg.name)
			}
			re := m.Reparent([]byte(`{"msg_id":"fuzz-parent"}`), keyed)
			if !keyed.Verify(re) {
				t.Fatalf("%s signer: a reparented message does not verify", sg.name)
			}
			if _, err := Decode(re.Frames(), keyed); err != nil {
				t.Fatalf("%s signer: Decode(reparented.Frames()) = %v", sg.name, err)
			}
		}
	})
}
