// Command store is `make bench`'s project-store benchmark (issue 5): streaming a 1 GB file into and
// out of a real HDFS (a MiniDFSCluster, as in the tests) through store/hdfs, against the Hadoop
// shell (org.apache.hadoop.fs.FsShell -put / -get, from the same Maven jars) in the same run.
// Throughput counts the whole command for the shell (its JVM start is part of what a user waits
// for) and the whole copy for hops. The Go process's peak RSS is reported, and the shell's.
// Target: hops >= 1x the shell's throughput.
//
// Usage: go run ./bench/store [-size 1073741824] [-repeats 3] [-json FILE]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hopsml/hops/internal/testhdfs"
	storehdfs "github.com/hopsml/hops/store/hdfs"
)

func main() {
	size := flag.Int64("size", 1<<30, "bytes in the file")
	repeats := flag.Int("repeats", 3, "runs of each copy")
	out := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()

	tmp, err := os.MkdirTemp("", "hops-bench-store-")
	check(err)
	defer os.RemoveAll(tmp)
	cluster, err := testhdfs.Launch(ctx, testhdfs.Options{Dir: filepath.Join(tmp, "hdfs")})
	check(err)
	defer cluster.Stop()
	jars := os.Getenv(testhdfs.JarsEnv)
	if jars == "" {
		jars = filepath.Join(moduleRoot(), ".cache", "hdfs", "lib")
	}

	src := filepath.Join(tmp, "data.bin")
	writeRandom(src, *size)
	fmt.Printf("project store on HDFS (MiniDFSCluster, 1 datanode, loopback): %d MiB, %d runs each, median\n\n", *size>>20, *repeats)

	fsys, err := storehdfs.Open(ctx, cluster.URL()+"/bench", storehdfs.Options{User: "hops"})
	check(err)
	defer fsys.Close()

	hopsPut := timeRuns(*repeats, func(i int) {
		in, err := os.Open(src)
		check(err)
		defer in.Close()
		w, err := fsys.Create(ctx, "hops-"+strconv.Itoa(i)+".bin")
		check(err)
		if _, err := io.Copy(w, in); err != nil {
			w.Abort()
			log.Fatal(err)
		}
		check(w.Close())
	})
	hopsGet := timeRuns(*repeats, func(i int) {
		f, err := fsys.Open(ctx, "hops-"+strconv.Itoa(i)+".bin")
		check(err)
		defer f.Close()
		dst, err := os.Create(filepath.Join(tmp, "hops-get.bin"))
		check(err)
		defer dst.Close()
		_, err = io.Copy(dst, f)
		check(err)
	})
	goRSS := peakRSS()

	var shellRSS int64
	shell := func(args ...string) {
		// The cluster's client configuration comes first on the classpath: the shell needs a core-site.xml.
		cmd := exec.Command("java", append([]string{"-Xmx512m", "-cp", cluster.ConfDir() + ":" + jars + "/*", "org.apache.hadoop.fs.FsShell",
			"-fs", cluster.URL()}, args...)...)
		cmd.Env = append(os.Environ(), "HADOOP_USER_NAME=hops")
		if b, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("FsShell %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			shellRSS = max(shellRSS, ru.Maxrss<<10)
		}
	}
	shellPut := timeRuns(*repeats, func(i int) { shell("-put", "-f", src, "/bench/shell-"+strconv.Itoa(i)+".bin") })
	shellGet := timeRuns(*repeats, func(i int) {
		dst := filepath.Join(tmp, "shell-get.bin")
		os.Remove(dst)
		shell("-get", "/bench/shell-"+strconv.Itoa(i)+".bin", dst)
	})

	mbps := func(d time.Duration) float64 { return float64(*size) / (1 << 20) / d.Seconds() }
	fmt.Printf("  %-22s %10s %10s %10s %10s\n", "", "put s", "put MiB/s", "get s", "get MiB/s")
	fmt.Printf("  %-22s %10.2f %10.0f %10.2f %10.0f   peak RSS %d MiB (the Go process)\n", "hops store/hdfs",
		hopsPut.Seconds(), mbps(hopsPut), hopsGet.Seconds(), mbps(hopsGet), goRSS>>20)
	fmt.Printf("  %-22s %10.2f %10.0f %10.2f %10.0f   peak RSS %d MiB (a shell JVM)\n", "Hadoop FsShell",
		shellPut.Seconds(), mbps(shellPut), shellGet.Seconds(), mbps(shellGet), shellRSS>>20)
	putRatio, getRatio := shellPut.Seconds()/hopsPut.Seconds(), shellGet.Seconds()/hopsGet.Seconds()
	fmt.Printf("  throughput hops/shell: put %.2fx %s, get %.2fx %s (target >= 1x)\n",
		putRatio, verdict(putRatio >= 1), getRatio, verdict(getRatio >= 1))
	if *out != "" {
		b, _ := json.MarshalIndent(map[string]any{"size_bytes": *size, "hops_put_s": hopsPut.Seconds(), "hops_get_s": hopsGet.Seconds(),
			"shell_put_s": shellPut.Seconds(), "shell_get_s": shellGet.Seconds(), "go_peak_rss_bytes": goRSS,
			"shell_peak_rss_bytes": shellRSS}, "", "  ")
		check(os.MkdirAll(filepath.Dir(*out), 0o755))
		check(os.WriteFile(*out, b, 0o644))
		fmt.Println("\nresults:", *out)
	}
}

// timeRuns runs f n times and returns the median duration.
func timeRuns(n int, f func(i int)) time.Duration {
	ds := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		f(i)
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2]
}

func writeRandom(name string, size int64) {
	f, err := os.Create(name)
	check(err)
	defer f.Close()
	_, err = io.Copy(f, io.LimitReader(rand.NewChaCha8([32]byte{5}), size))
	check(err)
}

// peakRSS is this process's VmHWM in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	check(err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func moduleRoot() string {
	dir, err := os.Getwd()
	check(err)
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
