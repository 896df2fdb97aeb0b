package hdfs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hopsml/hops/store"
)

func TestAnUnreachableNamenodeIsAClearErrorWithinBoundedTime(t *testing.T) {
	for _, tc := range []struct {
		name, url string
	}{
		{"nothing listens", "hdfs://127.0.0.1:1/project"},
		{"no answer at all (a blackholed address)", "hdfs://10.255.255.1:8020/project"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Open(context.Background(), tc.url, Options{User: "hops", DialTimeout: 2 * time.Second})
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("took %v", took)
			}
			if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), strings.TrimPrefix(tc.url, "hdfs://")[:8]) {
				t.Fatalf("error %v: want ErrUnavailable naming the namenode", err)
			}
		})
	}
}

func TestURLsThatAreNotHDFSAreRefused(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	for _, u := range []string{"s3://bucket/x", "hdfs//nn:8020/x", "/local/dir", "hdfs:///x"} {
		if _, err := Open(context.Background(), u, Options{User: "hops"}); err == nil || !strings.Contains(err.Error(), "hdfs://namenode:port/path") {
			t.Errorf("Open(%q): %v", u, err)
		}
	}
}
