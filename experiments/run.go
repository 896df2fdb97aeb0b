package experiments

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/executors"
	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments/search"
)

// run is one experiment while it runs.
type run struct {
	s      *Service
	plan   search.Plan
	feed   *feed
	cancel context.CancelFunc

	mu      sync.Mutex // guards e, trials and pending
	e       *Experiment
	trials  map[string]*trialRun
	pending []PointBatch // logged values not yet in the catalog
	byUser  bool         // the user stopped it
}

// flushEvery is how often logged metric values go to the catalog while trials run; publishEvery
// is how often, at most, a trial's new metric values are published to followers.
const (
	flushEvery   = 500 * time.Millisecond
	publishEvery = 100 * time.Millisecond
)

func (r *run) scratch() string { return filepath.Join(r.s.cfg.Scratch, r.e.ID) }
func (r *run) program() string { return filepath.Join(r.scratch(), "program.py") }

func (r *run) stopByUser() {
	r.mu.Lock()
	r.byUser = true
	r.mu.Unlock()
	r.cancel()
}

// execute runs the plan's trials batch by batch, at most Executors at a time, then closes the record.
func (r *run) execute(ctx context.Context) {
	storeCtx := context.WithoutCancel(ctx)
	var bg sync.WaitGroup
	// The record's first files go to the store beside the first trials, not before them.
	bg.Add(1)
	go func() {
		defer bg.Done()
		r.mu.Lock()
		first := r.snapshotLocked()
		r.mu.Unlock()
		r.s.writeRecord(storeCtx, first)
		_ = r.s.putFile(storeCtx, r.e.Location+"/program.py", []byte(r.e.Code))
	}()
	bg.Add(1)
	go func() { defer bg.Done(); r.snapshot(ctx) }()
	flushCtx, stopFlush := context.WithCancel(storeCtx)
	bg.Add(1)
	go func() { defer bg.Done(); r.flushLoop(flushCtx) }()

	var results []search.Result
	generation := 0
	for ctx.Err() == nil {
		batch := r.plan.Next(results)
		if len(batch) == 0 {
			break
		}
		trs := r.addTrials(storeCtx, batch, generation)
		r.runBatch(ctx, trs)
		for _, tr := range trs {
			results = append(results, r.resultOf(tr.t))
		}
		generation++
	}
	stopFlush()
	bg.Wait()
	r.flush(storeCtx)
	r.finish(storeCtx, ctx)
}

// snapshot records the environment the trials run with, beside the first trials rather than
// before them: it takes a Python process of its own.
func (r *run) snapshot(ctx context.Context) {
	if r.s.cfg.Snapshot == nil {
		return
	}
	env, err := r.s.cfg.Snapshot(context.WithoutCancel(ctx))
	if err != nil {
		r.s.cfg.Log.Warn("environment snapshot", "id", r.e.ID, "err", err)
	}
	r.mu.Lock()
	r.e.Environment = &env
	r.mu.Unlock()
	if b, err := json.MarshalIndent(env, "", "  "); err == nil {
		_ = r.s.putFile(context.WithoutCancel(ctx), r.e.Location+"/environment.json", b)
	}
}

func (r *run) addTrials(ctx context.Context, batch []search.Params, generation int) []*trialRun {
	r.mu.Lock()
	var trs []*trialRun
	for _, p := range batch {
		i := len(r.e.Trials)
		t := &Trial{ID: trialID(i, r.e.TrialsTotal), Index: i, Params: p, State: Queued}
		if r.e.Method == search.Evolution {
			t.Generation = generation
		}
		r.e.Trials = append(r.e.Trials, t)
		tr := &trialRun{r: r, t: t, seq: map[string]int{}}
		r.trials[t.ID] = tr
		trs = append(trs, tr)
	}
	snapshot := r.snapshotLocked()
	events := make([]Event, len(trs))
	for i, tr := range trs {
		c := *tr.t
		events[i] = Event{Kind: "trial", Trial: &c}
	}
	r.mu.Unlock()
	if err := r.s.cfg.Catalog.Save(ctx, snapshot); err != nil {
		r.s.cfg.Log.Warn("record trials", "id", r.e.ID, "err", err)
	}
	for _, ev := range events {
		r.feed.append(ev)
	}
	return trs
}

// trialID is t0, t1... zero-padded to the width of the last one, so ids sort as numbers do.
func trialID(i, total int) string {
	width := len(fmt.Sprint(max(total-1, 0)))
	return fmt.Sprintf("t%0*d", width, i)
}

func (r *run) runBatch(ctx context.Context, trs []*trialRun) {
	slots := make(chan struct{}, r.e.Executors)
	var wg sync.WaitGroup
	for _, tr := range trs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			tr.end(context.WithoutCancel(ctx), executors.Result{ExitCode: -1, Stopped: true}, nil)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			tr.run(ctx)
		}()
	}
	wg.Wait()
}

func (r *run) resultOf(t *Trial) search.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := search.Result{Params: t.Params}
	if o := r.e.Objective; o != nil && t.State == Finished {
		if v, ok := t.Metrics[o.Metric]; ok && !math.IsNaN(v) {
			res.Value, res.OK = v, true
		}
	}
	return res
}

// finish closes the record: the run's state, the best trial, a note on anything surprising.
func (r *run) finish(storeCtx, ctx context.Context) {
	r.mu.Lock()
	e := r.e
	e.Ended = time.Now().UTC()
	failed, ended := 0, 0
	for _, t := range e.Trials {
		if t.State == Failed {
			failed++
		}
		if t.State.Ended() {
			ended++
		}
	}
	var notes []string
	switch {
	case ctx.Err() != nil:
		e.State = Killed
		switch cause := context.Cause(ctx); {
		case r.byUser:
			notes = append(notes, "stopped by the user")
		case errors.Is(cause, context.Canceled):
			notes = append(notes, "stopped because hops lab shut down")
		default:
			notes = append(notes, "stopped: "+cause.Error())
		}
	case len(e.Trials) > 0 && failed == len(e.Trials):
		e.State = Failed
		notes = append(notes, "every trial failed; the first error: "+e.Trials[0].Error)
	default:
		e.State = Finished
		if failed > 0 {
			notes = append(notes, fmt.Sprintf("%d of %d trials failed", failed, len(e.Trials)))
		}
	}
	if o := e.Objective; o != nil {
		best := bestTrial(e.Trials, *o)
		if best != nil {
			v := best.Metrics[o.Metric]
			e.Best, e.BestValue = best.ID, &v
		} else if ended > 0 {
			notes = append(notes, fmt.Sprintf("no trial logged the metric to optimize, %q: log it with hops.log(%s=...)", o.Metric, o.Metric))
		}
	}
	e.Note = strings.Join(notes, "; ")
	snapshot := r.snapshotLocked()
	r.mu.Unlock()
	if err := r.s.cfg.Catalog.Save(storeCtx, snapshot); err != nil {
		r.s.cfg.Log.Error("record experiment end", "id", e.ID, "err", err)
	}
	r.s.writeRecord(storeCtx, snapshot)
	full, err := r.s.cfg.Catalog.Get(storeCtx, e.ID, true)
	if err != nil {
		full = snapshot
	}
	// New followers read the catalog from now on; the ones attached get the end from the feed.
	r.s.mu.Lock()
	delete(r.s.live, e.ID)
	r.s.mu.Unlock()
	r.feed.append(Event{Kind: "end", Experiment: full})
	_ = os.RemoveAll(r.scratch())
}

// bestTrial is the finished trial with the best last value of the objective's metric.
func bestTrial(trials []*Trial, o search.Objective) *Trial {
	var best *Trial
	var bestV float64
	for _, t := range trials {
		v, ok := t.Metrics[o.Metric]
		if t.State != Finished || !ok || math.IsNaN(v) {
			continue
		}
		if best == nil || (o.Direction == search.Min && v < bestV) || (o.Direction != search.Min && v > bestV) {
			best, bestV = t, v
		}
	}
	return best
}

// snapshotLocked copies the record (trials too, without timelines), for writing it outside the lock.
func (r *run) snapshotLocked() *Experiment {
	c := *r.e
	c.Trials = make([]*Trial, len(r.e.Trials))
	for i, t := range r.e.Trials {
		tc := *t
		tc.Metrics = cloneMetrics(t.Metrics)
		tc.Timeline, tc.GPUSamples = nil, nil
		c.Trials[i] = &tc
	}
	return &c
}

func cloneMetrics(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	c := make(map[string]float64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (r *run) flushLoop(ctx context.Context) {
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.flush(ctx)
		}
	}
}

// flush moves logged values to the catalog and publishes the trials whose latest values were held
// back.
func (r *run) flush(ctx context.Context) {
	r.mu.Lock()
	batches := r.pending
	r.pending = nil
	var held []*trialRun
	for _, tr := range r.trials {
		if tr.unpublished {
			held = append(held, tr)
		}
	}
	r.mu.Unlock()
	for _, tr := range held {
		tr.update(func(*Trial) {})
	}
	if err := r.s.cfg.Catalog.AddPoints(ctx, r.e.ID, batches); err != nil {
		r.s.cfg.Log.Error("record metrics", "id", r.e.ID, "err", err)
	}
}

// trialRun is one trial while it runs: the executor's Sink.
type trialRun struct {
	r *run
	t *Trial

	// output.log and events.jsonl in the scratch directory, written line by line as they come, so
	// that a killed server leaves them for the next one to record (recover).
	logMu  sync.Mutex
	log    *os.File
	events *os.File
	seq    map[string]int // values logged so far per metric (guarded by r.mu)
	// published is when the trial's state last went out; unpublished says values logged since
	// have not (both guarded by r.mu).
	published   time.Time
	unpublished bool
	bg          sync.WaitGroup // artifact and model copies
	// lastCopy is closed when the latest copy queued by Event is done: each copy waits for the one
	// before, so a file logged twice (a checkpoint every epoch) ends up on the store as last logged,
	// and model versions follow the order of the calls. Only Event's goroutine touches it.
	lastCopy chan struct{}
	err      *struct{ ename, evalue, traceback string }
}

func (tr *trialRun) dir() string { return tr.r.s.trialDir(tr.r.e, tr.t) }

func (tr *trialRun) storeDir() string { return tr.r.e.Location + "/" + tr.t.ID }

func (tr *trialRun) run(ctx context.Context) {
	storeCtx := context.WithoutCancel(ctx)
	dir := tr.dir()
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		tr.log, err = os.Create(filepath.Join(dir, "output.log"))
	}
	if err == nil {
		tr.events, err = os.Create(filepath.Join(dir, "events.jsonl"))
	}
	if err != nil {
		tr.end(storeCtx, executors.Result{}, err)
		return
	}
	params, _ := json.Marshal(tr.t.Params)
	if err := os.WriteFile(filepath.Join(dir, "params.json"), params, 0o644); err != nil {
		tr.end(storeCtx, executors.Result{}, err)
		return
	}
	task := executors.Task{
		Label:   tr.r.e.ID + "/" + tr.t.ID,
		Program: tr.r.program(),
		Dir:     tr.r.workdir(),
		Scratch: dir,
		Params:  params,
		GPUs:    tr.r.e.GPUs,
		Env: append(append([]string{}, tr.r.s.cfg.TrialEnv...),
			"HOPS_EXPERIMENT_ID="+tr.r.e.ID, "HOPS_TRIAL_ID="+tr.t.ID),
	}
	res, err := tr.r.s.cfg.Backend.Run(ctx, task, tr)
	tr.end(storeCtx, res, err)
}

// workdir is where trials run: the notebook's directory, else the workspace.
func (r *run) workdir() string {
	if r.e.Notebook == "" {
		return r.s.cfg.Workspace
	}
	return filepath.Join(r.s.cfg.Workspace, filepath.FromSlash(path.Dir(r.e.Notebook)))
}

// update changes the trial under the run's lock and publishes its new state.
func (tr *trialRun) update(fn func(t *Trial)) {
	tr.r.mu.Lock()
	fn(tr.t)
	tr.published, tr.unpublished = time.Now(), false
	c := *tr.t
	c.Metrics = cloneMetrics(tr.t.Metrics)
	c.Timeline, c.GPUSamples = nil, nil
	tr.r.mu.Unlock()
	tr.r.feed.append(Event{Kind: "trial", Trial: &c})
}

// Waiting is called by the executor when the trial waits for GPUs.
func (tr *trialRun) Waiting() { tr.update(func(t *Trial) { t.State = Waiting }) }

// Started is called by the executor when the trial's process runs.
func (tr *trialRun) Started(gpus []int) {
	tr.update(func(t *Trial) {
		t.State, t.GPUs = Running, gpus
		if t.Started.IsZero() {
			t.Started = time.Now().UTC()
		}
	})
}

// Output is called by the executor for each line the trial prints.
func (tr *trialRun) Output(stream, line string) {
	prefix := ""
	if stream == "stderr" {
		prefix = "[stderr] "
	}
	tr.logMu.Lock()
	if tr.log != nil {
		_, _ = tr.log.WriteString(prefix + line + "\n")
	}
	tr.logMu.Unlock()
	tr.r.feed.append(Event{Kind: "output", TrialID: tr.t.ID, Stream: stream, Text: line})
}

// GPUSamples is called by the executor with readings of the trial's GPUs.
func (tr *trialRun) GPUSamples(samples []gpu.Sample) {
	if err := tr.r.s.cfg.Catalog.AddGPUSamples(context.Background(), tr.r.e.ID, tr.t.ID, samples); err != nil {
		tr.r.s.cfg.Log.Warn("record GPU samples", "trial", tr.t.ID, "err", err)
	}
}

// sdkEvent is one line the SDK writes to the events pipe.
type sdkEvent struct {
	Type      string                     `json:"type"`
	Time      float64                    `json:"time"`
	Step      *int64                     `json:"step"`
	Metrics   map[string]json.RawMessage `json:"metrics"`
	Path      string                     `json:"path"`
	Name      string                     `json:"name"`
	Source    string                     `json:"source"` // an artifact's or model's original path; Path is the SDK's copy
	Ename     string                     `json:"ename"`
	Evalue    string                     `json:"evalue"`
	Traceback string                     `json:"traceback"`
}

// Event is called by the executor for each line the trial's SDK reports.
func (tr *trialRun) Event(line []byte) {
	var ev sdkEvent
	if err := json.Unmarshal(line, &ev); err != nil {
		tr.r.s.cfg.Log.Warn("malformed event from trial", "trial", tr.t.ID, "err", err)
		return
	}
	at := time.Unix(0, int64(ev.Time*1e9)).UTC()
	switch ev.Type {
	case "start":
		// The cell's own code begins now: the trial's start, for durations and dispatch latency.
		tr.update(func(t *Trial) { t.Started = at })
	case "log":
		tr.keepEvent(line)
		metrics := parseMetrics(ev.Metrics)
		tr.r.mu.Lock()
		if tr.t.Metrics == nil {
			tr.t.Metrics = map[string]float64{}
		}
		step := int64(0)
		if ev.Step != nil {
			step = *ev.Step
		}
		for k, v := range metrics {
			tr.t.Metrics[k] = v
			tr.r.pending = append(tr.r.pending, PointBatch{Trial: tr.t.ID, Metric: k, First: tr.seq[k],
				Points: []Point{{Step: step, Value: v, Time: at}}})
			tr.seq[k]++
		}
		// A trial logging thousands of values a second is shown a few times a second: the last
		// values of a burst go out with the next flush.
		publish := at.Sub(tr.published) >= publishEvery
		tr.unpublished = !publish
		tr.r.mu.Unlock()
		if publish {
			tr.update(func(*Trial) {})
		}
	case "artifact":
		tr.keepEvent(line) // for a server killed before the copy is done (recover)
		tr.inOrder(func() {
			stored, err := tr.r.s.keepArtifact(context.Background(), tr.r.e, tr.t, ev)
			if err != nil {
				tr.Output("stderr", fmt.Sprintf("hops: artifact %s was not recorded: %v", cmp.Or(ev.Source, ev.Path), err))
				return
			}
			tr.update(func(t *Trial) {
				if !slices.Contains(t.Artifacts, stored) {
					t.Artifacts = append(t.Artifacts, stored)
				}
			})
		})
	case "model":
		tr.keepEvent(line) // for a server killed before the export is done (recover)
		tr.inOrder(func() {
			m, err := tr.r.s.keepModel(context.Background(), tr.r.e, tr.t, ev)
			if err != nil {
				tr.Output("stderr", fmt.Sprintf("hops: model %s was not recorded: %v", ev.Name, err))
				return
			}
			tr.Output("stdout", fmt.Sprintf("hops: model %s version %d recorded at %s", m.Name, m.Version, m.Location))
			tr.update(func(t *Trial) { t.Models = append(t.Models, m) })
		})
	case "tensorboard":
		tr.update(func(t *Trial) { t.Tensorboard = tr.storeDir() + "/tensorboard" })
	case "error":
		tr.r.mu.Lock()
		tr.err = &struct{ ename, evalue, traceback string }{ev.Ename, ev.Evalue, ev.Traceback}
		tr.r.mu.Unlock()
	}
}

// inOrder runs copy in the background, after every copy queued before it.
func (tr *trialRun) inOrder(copy func()) {
	prev, done := tr.lastCopy, make(chan struct{})
	tr.lastCopy = done
	tr.bg.Add(1)
	go func() {
		defer tr.bg.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		copy()
	}()
}

// keepEvent appends an SDK event to the trial's events.jsonl, which recover reads after a crash.
func (tr *trialRun) keepEvent(line []byte) {
	tr.logMu.Lock()
	defer tr.logMu.Unlock()
	if tr.events != nil {
		_, _ = tr.events.Write(append(line, '\n'))
	}
}

// keepArtifact copies an artifact the SDK reported to the trial's artifacts/ on the store, then
// removes the SDK's copy of it (a failed copy keeps it, for a look and for recover); it returns where
// the artifact is kept.
func (s *Service) keepArtifact(ctx context.Context, e *Experiment, t *Trial, ev sdkEvent) (string, error) {
	stored := artifactLocation(e, t, ev)
	if err := s.copyToStore(ctx, ev.Path, stored); err != nil {
		return "", err
	}
	s.removeStaged(e, t, ev.Path)
	return stored, nil
}

// keepModel exports a model the SDK reported as the next version of its name, then removes the SDK's
// copy of it.
func (s *Service) keepModel(ctx context.Context, e *Experiment, t *Trial, ev sdkEvent) (Model, error) {
	m, err := s.exportModel(ctx, e, t, ev.Path, ev.Name, parseMetrics(ev.Metrics))
	if err == nil {
		s.removeStaged(e, t, ev.Path)
	}
	return m, err
}

func artifactLocation(e *Experiment, t *Trial, ev sdkEvent) string {
	return e.Location + "/" + t.ID + "/artifacts/" + artifactName(ev)
}

// trialDir is a trial's scratch directory (HOPS_TRIAL_DIR): its log, events and the SDK's copies.
func (s *Service) trialDir(e *Experiment, t *Trial) string {
	return filepath.Join(s.cfg.Scratch, e.ID, t.ID)
}

// removeStaged removes the SDK's copy at p once it is on the store; a path the SDK did not stage is the
// user's own and stays.
func (s *Service) removeStaged(e *Experiment, t *Trial, p string) {
	if dir := stagedDir(s.trialDir(e, t), p); dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// staged reports whether p is an SDK's copy still waiting in the trial's directory (recover).
func (s *Service) staged(e *Experiment, t *Trial, p string) bool {
	if stagedDir(s.trialDir(e, t), p) == "" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

// stagedDir is the directory of the SDK's copy of an artifact (<trial dir>/staged/<n>/<name>), or ""
// for a path the SDK did not stage.
func stagedDir(trialDir, p string) string {
	rel, err := filepath.Rel(filepath.Join(trialDir, "staged"), p)
	if err != nil || !filepath.IsLocal(rel) || strings.Count(filepath.ToSlash(rel), "/") != 1 {
		return ""
	}
	return filepath.Dir(p)
}

// artifactName is where an artifact goes below the trial's artifacts/: the name the SDK chose (its
// path relative to the notebook's directory, made unique within the trial), or the base name from an
// SDK that sends none or a name that would leave that directory.
func artifactName(ev sdkEvent) string {
	if filepath.IsLocal(ev.Name) {
		return filepath.ToSlash(filepath.Clean(ev.Name))
	}
	return filepath.Base(ev.Path)
}

func parseMetrics(raw map[string]json.RawMessage) map[string]float64 {
	out := make(map[string]float64, len(raw))
	for k, v := range raw {
		var f float64
		if json.Unmarshal(v, &f) == nil {
			out[k] = f
			continue
		}
		var s string
		_ = json.Unmarshal(v, &s)
		switch s {
		case "Infinity":
			out[k] = math.Inf(1)
		case "-Infinity":
			out[k] = math.Inf(-1)
		default:
			out[k] = math.NaN()
		}
	}
	return out
}

// exportModel copies a trial's model to the registry as the name's next version, with its model.json.
func (s *Service) exportModel(ctx context.Context, e *Experiment, t *Trial, local, name string, metrics map[string]float64) (Model, error) {
	s.models.Lock()
	defer s.models.Unlock()
	v, err := s.nextModelVersion(ctx, name)
	if err != nil {
		return Model{}, err
	}
	m := Model{Name: name, Version: v, Location: fmt.Sprintf("Models/%s/%d", name, v), Metrics: metrics}
	// Written beside the version, then renamed to it: a version is there whole or not at all, and what a
	// killed server left (a partial copy, which nextModelVersion does not count) is replaced next time.
	partial := fmt.Sprintf("Models/%s/.%d.partial", name, v)
	if err := s.cfg.Store.Remove(ctx, partial); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Model{}, err
	}
	if err := s.copyToStore(ctx, local, partial+"/"+filepath.Base(local)); err != nil {
		return Model{}, err
	}
	meta, _ := json.MarshalIndent(map[string]any{"name": name, "version": v, "metrics": metrics,
		"experiment": e.ID, "trial": t.ID, "created": time.Now().UTC(), "params": t.Params}, "", "  ")
	if err := s.putFile(ctx, partial+"/model.json", meta); err != nil {
		return Model{}, err
	}
	return m, s.cfg.Store.Rename(ctx, partial, m.Location)
}

// end records how the trial ended and moves its files to the store.
func (tr *trialRun) end(ctx context.Context, res executors.Result, runErr error) {
	tr.bg.Wait()
	tr.logMu.Lock()
	for _, f := range []*os.File{tr.log, tr.events} {
		if f != nil {
			_ = f.Close()
		}
	}
	tr.log, tr.events = nil, nil
	tr.logMu.Unlock()
	tr.update(func(t *Trial) {
		t.Ended = time.Now().UTC()
		if t.Started.IsZero() && res.ExitCode == 0 && runErr == nil && !res.Stopped {
			t.Started = t.Ended
		}
		if runErr == nil && !res.Stopped {
			code := res.ExitCode
			t.ExitCode = &code
		}
		switch {
		case runErr != nil:
			t.State, t.Error = Failed, runErr.Error()
		case res.Stopped:
			t.State, t.Error = Killed, "stopped"
		case tr.err != nil:
			t.State, t.Error, t.Traceback = Failed, tr.err.ename+": "+tr.err.evalue, tr.err.traceback
		case res.ExitCode != 0:
			t.State, t.Error = Failed, fmt.Sprintf("the trial's process exited with code %d", res.ExitCode)
		default:
			t.State = Finished
		}
	})
	tr.r.mu.Lock()
	e := tr.r.snapshotLocked()
	tr.r.mu.Unlock()
	tr.r.s.uploadTrialFiles(ctx, e, tr.t)
	tr.r.flush(ctx)
	if err := tr.r.s.cfg.Catalog.SaveTrial(ctx, e, e.Trials[tr.t.Index]); err != nil {
		tr.r.s.cfg.Log.Error("record trial", "trial", tr.t.ID, "err", err)
	}
}

// uploadTrialFiles copies a trial's local files (parameters, log, TensorBoard logdir) to the store.
func (s *Service) uploadTrialFiles(ctx context.Context, e *Experiment, t *Trial) {
	dir := s.trialDir(e, t)
	target := e.Location + "/" + t.ID
	for _, name := range []string{"params.json", "output.log", "tensorboard"} {
		local := filepath.Join(dir, name)
		if _, err := os.Stat(local); err != nil {
			continue
		}
		if err := s.copyToStore(ctx, local, target+"/"+name); err != nil {
			s.cfg.Log.Warn("copy trial files to the store", "trial", t.ID, "file", name, "err", err)
		}
	}
}
