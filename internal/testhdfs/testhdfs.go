// Package testhdfs runs a real HDFS for tests: Hadoop's MiniDFSCluster (one namenode, one datanode) in a
// JVM of its own, from the jars that `make hdfs-jars` resolves from Maven Central into .cache/hdfs/lib.
//
// A test that needs HDFS calls Start and talks to Addr (or URL, or ConfDir) with any client; the
// cluster is killed when the test ends. Launch starts one outside a test, for TestMain or with Options. Kill and Restart let fault tests take the whole filesystem away (the namenode and the
// datanode live in the one JVM) and bring it back on the same address with the data written before.
//
// The JVM runs in its own process group with a parent-death signal, so neither a failed test nor a
// killed test binary leaves it behind.
package testhdfs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// JarsEnv names the environment variable that overrides where the Hadoop jars are; by default they are
// in .cache/hdfs/lib under the module root.
const JarsEnv = "HOPS_HDFS_JARS"

// mainClass is Hadoop's command-line front end to the mini clusters (`mapred minicluster`). It lives in
// the hadoop-mapreduce-client-jobclient test jar, which is also how we tell that the jars are there.
const (
	mainClass = "org.apache.hadoop.mapreduce.MiniHadoopClusterManager"
	marker    = "hadoop-mapreduce-client-jobclient-*-tests.jar"
)

// ErrNotInstalled is returned by Launch when the Hadoop jars or java are missing.
var ErrNotInstalled = errors.New("HDFS test cluster not installed")

// errPortTaken marks a start that failed because another process had bound one of the ports.
var errPortTaken = errors.New("port taken")

// Options configure Launch. The zero value is a working single-datanode cluster.
type Options struct {
	// Dir holds the cluster's name and data directories, its log and its client configuration. Empty
	// means a new temporary directory, removed by Stop.
	Dir string
	// Jars is the directory with the Hadoop jars; empty means $HOPS_HDFS_JARS, else .cache/hdfs/lib in
	// the module root.
	Jars string
	// Conf are Hadoop settings passed to the cluster (-D key=value), on top of the defaults below.
	Conf map[string]string
	// Timeout bounds each start and restart; 0 means 2 minutes.
	Timeout time.Duration
}

// defaultConf are the Hadoop settings every cluster gets. Permissions are off so that clients may act
// as any user; one datanode can hold only one replica; small blocks let tests cover files of several
// blocks cheaply; a restarted namenode leaves safe mode as soon as the datanode has reported its blocks
// instead of 30 s later. Options.Conf overrides any of them.
var defaultConf = map[string]string{
	"dfs.permissions.enabled":               "false",
	"dfs.replication":                       "1",
	"dfs.namenode.fs-limits.min-block-size": "131072",
	"dfs.namenode.safemode.extension":       "0",
}

// log4jProperties keeps the log readable: the datanode logs thousands of lines about its volume locks
// at INFO on every start.
const log4jProperties = `log4j.rootLogger=INFO,stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=%d{ISO8601} %-5p %c{2} - %m%n
log4j.logger.org.apache.hadoop.hdfs.server.datanode.fsdataset.impl.FsDatasetImpl=WARN
log4j.logger.org.apache.hadoop.util.GSet=WARN
`

// Cluster is a running (or killed) MiniDFSCluster. Its methods may be called from several goroutines.
type Cluster struct {
	opts     Options
	java     string
	dir      string
	ownDir   bool // dir was created by Launch and is removed by Stop
	rpcPort  int
	httpPort int

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been reaped
	stopped bool
}

// Start runs a cluster for the test and stops it when the test ends. Without the Hadoop jars (or java)
// the test is skipped, or fails under CI=true, where they must be there.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options; an empty Dir is a directory of the test's.
func StartWith(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	c, err := Launch(context.Background(), opts)
	if errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: run make hdfs-jars", err)
		}
		t.Skipf("%v; run make hdfs-jars", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("HDFS log (%s), last lines:\n%s", c.LogPath(), tail(c.LogPath(), 40))
		}
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Launch formats and starts a cluster and returns once it serves clients. ctx bounds only the start;
// the cluster runs until Stop.
func Launch(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Jars == "" {
		jars, err := defaultJars()
		if err != nil {
			return nil, err
		}
		opts.Jars = jars
	}
	if m, _ := filepath.Glob(filepath.Join(opts.Jars, marker)); len(m) == 0 {
		return nil, fmt.Errorf("%w: no %s in %s", ErrNotInstalled, marker, opts.Jars)
	}
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, java: java, dir: opts.Dir}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "testhdfs-"); err != nil {
			return nil, fmt.Errorf("start HDFS: %w", err)
		}
		c.ownDir = true
	}
	if err := c.writeFiles(); err != nil {
		c.removeDir()
		return nil, fmt.Errorf("start HDFS: %w", err)
	}
	// The ports are only known to be free when we look; another process may take one before the JVM
	// binds it. That shows as a bind error in the log, and new ports fix it.
	for attempt := 1; ; attempt++ {
		if c.rpcPort, c.httpPort, err = freePorts(); err != nil {
			break
		}
		if err = c.writeClientConf(); err != nil {
			break
		}
		err = c.start(ctx, true)
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			break
		}
	}
	if err != nil {
		c.removeDir()
		return nil, err
	}
	return c, nil
}

// Addr is the namenode's RPC address, host:port, as HDFS clients want it.
func (c *Cluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.rpcPort)) }

// URL is the filesystem's URI, hdfs://host:port, the value of fs.defaultFS.
func (c *Cluster) URL() string { return "hdfs://" + c.Addr() }

// HTTPAddr is the namenode's web address, host:port, which serves WebHDFS (/webhdfs/v1/) and JMX.
func (c *Cluster) HTTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.httpPort)) }

// ConfDir is a Hadoop configuration directory whose core-site.xml points fs.defaultFS at the cluster,
// for clients configured through HADOOP_CONF_DIR.
func (c *Cluster) ConfDir() string { return filepath.Join(c.dir, "conf") }

// LogPath is the file the JVM logs to (both daemons, every start appended).
func (c *Cluster) LogPath() string { return filepath.Join(c.dir, "hdfs.log") }

// Kill takes the whole filesystem away at once, as a crash would: SIGKILL to the JVM that runs the
// namenode and the datanode. Connections drop without a goodbye; what the datanode had on disk stays.
func (c *Cluster) Kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kill()
}

// Restart starts a killed cluster again on the same ports with the same directories (no format), and
// returns once it serves clients again: the namenode has loaded its image and edits and has left safe
// mode, so every file completed before Kill is readable. A running cluster is killed first.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("restart HDFS: cluster is stopped")
	}
	if err := c.kill(); err != nil {
		return err
	}
	return c.start(ctx, false)
}

// Stop kills the cluster for good and removes its directory if Launch made it. It is safe to call more
// than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	err := c.kill()
	c.removeDir()
	return err
}

// start runs the JVM and waits until the cluster is usable; on failure nothing is left running.
// c.mu is held, or c is not shared yet.
func (c *Cluster) start(ctx context.Context, format bool) error {
	details := filepath.Join(c.dir, "details.json")
	if err := os.Remove(details); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("start HDFS: %w", err)
	}
	logf, err := os.OpenFile(c.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start HDFS: %w", err)
	}
	defer logf.Close() // the child has its own copy
	logStart, err := logf.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("start HDFS: %w", err)
	}
	cmd := exec.Command(c.java, c.args(format, details)...)
	fmt.Fprintf(logf, "==== testhdfs %s: %s\n", time.Now().Format(time.RFC3339), strings.Join(cmd.Args, " "))
	cmd.Dir = c.dir // MiniDFSCluster writes relative paths in places; keep them in the cluster's dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig fires when the thread that forked exits, not the process (golang/go#27505). Holding
		// that thread until the JVM is reaped keeps any other goroutine from locking it and, by exiting,
		// ending it and the JVM with it; the thread ends with the test binary or after the JVM.
		runtime.LockOSThread()
		defer close(exited)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start HDFS: %w", err)
	}
	c.cmd, c.exited = cmd, exited

	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	if err := c.waitUsable(ctx, details, exited); err != nil {
		c.kill()
		if log, _ := os.ReadFile(c.LogPath()); int64(len(log)) > logStart && bytes.Contains(log[logStart:], []byte("BindException")) {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return fmt.Errorf("start HDFS on %s: %w; log %s ends:\n%s", c.Addr(), err, c.LogPath(), tail(c.LogPath(), 30))
	}
	return nil
}

// args is the JVM command line. Hadoop 3.5 runs on Java 17 without --add-opens. The heap is capped, the
// collector serial and the JIT kept to its first tier: the cluster serves a few test files, and a small
// JVM that starts fast matters more (2.2 s instead of 2.9 s, 200 MB resident instead of 270 MB). The
// daemons bind "localhost"; IPv4 only makes that 127.0.0.1, the address in ConfDir.
func (c *Cluster) args(format bool, details string) []string {
	args := []string{
		"-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-Djava.net.preferIPv4Stack=true",
		"-Dlog4j.configuration=file:" + filepath.Join(c.dir, "log4j.properties"),
		"-Dtest.build.data=" + filepath.Join(c.dir, "build"),
		"-cp", filepath.Join(c.opts.Jars, "*"),
		mainClass,
		"-nomr", "-datanodes", "1",
		"-nnport", strconv.Itoa(c.rpcPort), "-nnhttpport", strconv.Itoa(c.httpPort),
		"-writeDetails", details,
	}
	if format {
		args = append(args, "-format")
	}
	conf := map[string]string{
		"hdfs.minidfs.basedir": filepath.Join(c.dir, "dfs"),
		"hadoop.tmp.dir":       filepath.Join(c.dir, "tmp"),
	}
	for k, v := range defaultConf {
		conf[k] = v
	}
	for k, v := range c.opts.Conf {
		conf[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		args = append(args, "-D", k+"="+conf[k])
	}
	return args
}

// waitUsable returns once the namenode accepts clients and has a datanode to store blocks. MiniDFSCluster
// writes the details file after both daemons are up, but a namenode that restarts over existing files
// stays in safe mode (read-only) until the datanode has reported their blocks; its JMX says when.
func (c *Cluster) waitUsable(ctx context.Context, details string, exited <-chan struct{}) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	status := "JVM started"
	for {
		select {
		case <-exited:
			return fmt.Errorf("the JVM exited (%v) while %s", c.cmd.ProcessState, status)
		case <-ctx.Done():
			return fmt.Errorf("not usable (%s): %w", status, context.Cause(ctx))
		case <-tick.C:
		}
		if st, err := os.Stat(details); err != nil || st.Size() == 0 {
			continue
		}
		status = "cluster built, namenode not yet out of safe mode with a live datanode"
		if ok, err := c.namenodeReady(ctx, client); err != nil {
			status += " (" + err.Error() + ")"
		} else if ok {
			return nil
		}
	}
}

// namenodeReady asks the namenode's JMX whether safe mode is off and a datanode is live.
func (c *Cluster) namenodeReady(ctx context.Context, client *http.Client) (bool, error) {
	url := "http://" + c.HTTPAddr() + "/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var info struct {
		Beans []struct {
			Safemode  string // empty when off, else a sentence about what the namenode waits for
			LiveNodes string // a JSON object keyed by datanode address
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return false, fmt.Errorf("namenode JMX: %w", err)
	}
	if len(info.Beans) == 0 {
		return false, nil
	}
	var live map[string]json.RawMessage
	if err := json.Unmarshal([]byte(info.Beans[0].LiveNodes), &live); err != nil {
		return false, fmt.Errorf("namenode JMX LiveNodes: %w", err)
	}
	return info.Beans[0].Safemode == "" && len(live) > 0, nil
}

// kill SIGKILLs the JVM's process group (Hadoop forks du and df) and reaps the JVM. c.mu is held.
func (c *Cluster) kill() error {
	if c.cmd == nil {
		return nil
	}
	select {
	case <-c.exited:
	default:
		if err := syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill HDFS: %w", err)
		}
		<-c.exited
	}
	c.cmd = nil
	return nil
}

// writeFiles lays out the cluster directory: the log configuration the JVM reads.
func (c *Cluster) writeFiles() error {
	if err := os.MkdirAll(c.ConfDir(), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "log4j.properties"), []byte(log4jProperties), 0o644)
}

// writeClientConf writes core-site.xml for the ports chosen.
func (c *Cluster) writeClientConf() error {
	xml := `<?xml version="1.0"?>
<configuration>
  <property><name>fs.defaultFS</name><value>` + c.URL() + `</value></property>
</configuration>
`
	return os.WriteFile(filepath.Join(c.ConfDir(), "core-site.xml"), []byte(xml), 0o644)
}

func (c *Cluster) removeDir() {
	if c.ownDir {
		os.RemoveAll(c.dir)
	}
}

// freePorts picks two free loopback ports below the kernel's ephemeral range. Restart needs the ports
// again after Kill; a port from the ephemeral range could meanwhile become the local end of any
// outgoing connection on the machine, a port below it only goes to a process that asks for it.
func freePorts() (rpcPort, httpPort int, err error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				low = n
			}
		}
	}
	var ports []int
	for tries := 0; len(ports) < 2 && tries < 100; tries++ {
		p := 10000 + rand.IntN(low-10000)
		if len(ports) == 1 && ports[0] == p {
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			l.Close()
			ports = append(ports, p)
		}
	}
	if len(ports) < 2 {
		return 0, 0, errors.New("start HDFS: no free port found")
	}
	return ports[0], ports[1], nil
}

// defaultJars is $HOPS_HDFS_JARS, else .cache/hdfs/lib in the module that holds the working directory
// (go test runs tests in their package's directory).
func defaultJars() (string, error) {
	if dir := os.Getenv(JarsEnv); dir != "" {
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find HDFS jars: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".cache", "hdfs", "lib"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory; set %s", ErrNotInstalled, JarsEnv)
		}
		dir = parent
	}
}

// findJava is $JAVA_HOME/bin/java, else java on PATH.
func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(java); err == nil {
			return java, nil
		}
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	return java, nil
}

// tail is the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n--; n == 0 {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}
