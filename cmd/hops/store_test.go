package main

import (
	"strings"
	"testing"
	"time"
)

func TestStoreURLs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		url, want string // want: the store's String, or what the error says
		ok        bool
	}{
		{"", "", true},
		{dir, dir, true},
		{"file://" + dir, dir, true},
		{"s3://bucket/p", "unknown kind of store", false},
		{"file://elsewhere/p", "file:///path/to/dir", false},
		{"hdfs://127.0.0.1:1/p", "store unavailable", false},
	} {
		start := time.Now()
		st, err := openStore(tc.url)
		if time.Since(start) > 15*time.Second {
			t.Errorf("%q took %v", tc.url, time.Since(start))
		}
		switch {
		case tc.ok && err != nil:
			t.Errorf("%q: %v", tc.url, err)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want one saying %q", tc.url, err, tc.want)
		case tc.ok && tc.want == "" && st != nil:
			t.Errorf("%q: %v, want the server's default store", tc.url, st)
		case tc.ok && st != nil && st.String() != tc.want:
			t.Errorf("%q: store at %s", tc.url, st)
		}
		if st != nil {
			st.Close()
		}
	}
}
