package nbdiff

import (
	"bytes"
	"encoding/json"
	"slices"
)

// diffMetadata compares two metadata objects key by key, nested objects flattened to dotted keys.
func diffMetadata(old, new json.RawMessage) []Change {
	if bytes.Equal(old, new) {
		return nil
	}
	a, b := flattenMetadata(old), flattenMetadata(new)
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var changes []Change
	for _, k := range keys {
		va, inOld := a[k]
		vb, inNew := b[k]
		switch {
		case !inOld:
			changes = append(changes, Change{Key: k, Op: KeyAdded, New: vb})
		case !inNew:
			changes = append(changes, Change{Key: k, Op: KeyRemoved, Old: va})
		case !bytes.Equal(va, vb):
			changes = append(changes, Change{Key: k, Op: KeyChanged, Old: va, New: vb})
		}
	}
	return changes
}

// flattenMetadata maps each dotted key path of a metadata object to its compact JSON value. An
// empty object is a value, so that adding {} is still seen.
func flattenMetadata(raw json.RawMessage) map[string]json.RawMessage {
	flat := map[string]json.RawMessage{}
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return flat // absent or null
	}
	var walk func(prefix string, obj map[string]json.RawMessage)
	walk = func(prefix string, obj map[string]json.RawMessage) {
		for k, v := range obj {
			key := prefix + k
			var nested map[string]json.RawMessage
			if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &nested) == nil && len(nested) > 0 {
				walk(key+".", nested)
				continue
			}
			var compact bytes.Buffer
			_ = json.Compact(&compact, v) // cannot fail: v was just decoded
			flat[key] = compact.Bytes()
		}
	}
	walk("", top)
	return flat
}
