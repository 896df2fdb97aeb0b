package kernel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a kernel process started from a kernelspec: in a process group of its own, killed if
// its parent dies, reaped when it exits. hops kernel runs its engine as one; hops lab runs its
// kernels as one.
type Process struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed once the process has been reaped
	exit   string        // how the process ended; set before done is closed
	stderr *tailBuffer   // the end of its stderr, for error messages
}

// ProcessOptions says how to run a kernel process.
type ProcessOptions struct {
	Argv   []string
	Env    []string  // the whole environment; nil means the current one
	Dir    string    // working directory; "" means the current one
	Output io.Writer // receives stdout and stderr; nil means os.Stderr
}

// StartProcess starts a kernel process.
func StartProcess(o ProcessOptions) (*Process, error) {
	if len(o.Argv) == 0 {
		return nil, errors.New("start kernel: empty argv")
	}
	cmd := exec.Command(o.Argv[0], o.Argv[1:]...)
	cmd.Env, cmd.Dir = o.Env, o.Dir
	// Own process group, so that a SIGINT to the parent's group does not reach the kernel twice and
	// the kernel's children can be signalled together; killed with its parent if the parent dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := o.Output
	if out == nil {
		out = os.Stderr
	}
	tail := &tailBuffer{max: 8 << 10}
	cmd.Stdout = out
	// Our own pipe for stderr rather than an io.Writer, for which os/exec would copy through a
	// 32 KiB buffer per kernel: a server runs many kernels that are mostly silent.
	stderr, stderrW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Argv[0], err)
	}
	cmd.Stderr = stderrW
	err = cmd.Start()
	stderrW.Close()
	if err != nil {
		stderr.Close()
		return nil, fmt.Errorf("start %s: %w", o.Argv[0], err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		defer stderr.Close()
		_, _ = io.CopyBuffer(struct{ io.Writer }{io.MultiWriter(out, tail)}, struct{ io.Reader }{stderr}, make([]byte, 4<<10))
	}()
	p := &Process{cmd: cmd, done: make(chan struct{}), stderr: tail}
	go func() {
		err := cmd.Wait()
		// The excerpt should hold the last words of a dying kernel, but a child it left behind may
		// keep the pipe open: wait for the end of stderr only briefly.
		select {
		case <-drained:
		case <-time.After(250 * time.Millisecond):
		}
		p.exit = describeExit(cmd.ProcessState, err)
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit says how the process ended ("exit status 1", "killed by signal KILL"); "" while it runs.
func (p *Process) Exit() string {
	select {
	case <-p.done:
		return p.exit
	default:
		return ""
	}
}

// Signal sends sig to the process group; a group that is already gone is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s to kernel process %d: %w", signalName(sig), p.cmd.Process.Pid, err)
	}
	return nil
}

// Stop waits up to grace for the process to exit (after the caller asked the kernel to shut down),
// then terminates its process group, and kills it 2 s later. It returns once the process is reaped.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			p.Kill()
		}
	}
}

// Kill kills the process group and waits until the process is reaped.
func (p *Process) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// StderrExcerpt is the last lines of the process's stderr, ready to append to an error message.
func (p *Process) StderrExcerpt() string { return p.stderr.excerpt() }

func describeExit(ps *os.ProcessState, err error) string {
	if ps == nil {
		return fmt.Sprint(err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + signalName(ws.Signal())
	}
	return fmt.Sprintf("exit status %d", ps.ExitCode())
}

// signalName names a signal the way kill -l does (KILL, SEGV, ...).
func signalName(sig syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGKILL: "KILL", syscall.SIGTERM: "TERM", syscall.SIGSEGV: "SEGV",
		syscall.SIGABRT: "ABRT", syscall.SIGINT: "INT", syscall.SIGHUP: "HUP", syscall.SIGBUS: "BUS"}
	if n, ok := names[sig]; ok {
		return n
	}
	return fmt.Sprintf("%d (%s)", int(sig), sig)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// excerpt returns the last lines written, ready to append to an error message.
func (t *tailBuffer) excerpt() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return "; its last output:\n" + strings.Join(lines, "\n")
}
