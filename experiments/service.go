package experiments

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hopsml/hops/executors"
	"github.com/hopsml/hops/experiments/search"
	"github.com/hopsml/hops/store"
)

// Request is what %%hops run asks for: the body of POST /api/hops/experiments. Search flags come
// as the user wrote them; Start parses and checks them before anything runs.
type Request struct {
	Name        string   `json:"name"`
	Code        string   `json:"code"`
	Cell        string   `json:"cell"`
	Notebook    string   `json:"notebook"`
	KernelID    string   `json:"kernel_id"`
	Executors   int      `json:"executors"`
	GPUs        int      `json:"gpus"`
	Params      []string `json:"params"`
	Grid        []string `json:"grid"`
	Random      []string `json:"random"`
	Trials      int      `json:"trials"`
	Search      string   `json:"search"`
	Generations int      `json:"generations"`
	Population  int      `json:"population"`
	Optimize    string   `json:"optimize"`
	Timeout     string   `json:"timeout"`
	Seed        int64    `json:"seed"`
	// RerunOf names an experiment to run again: its code with its trials' parameters, as a new
	// experiment linked to it. Code, search and resource fields are then taken from it.
	RerunOf string `json:"rerun_of"`
}

// RequestError is a request that cannot run as asked; the message says what to change.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// NotebookVersions finds the last saved version of a notebook: the server's git history.
type NotebookVersions interface {
	// LastVersion returns the commit that last changed path and the file as committed; "" when
	// the file has no version yet.
	LastVersion(ctx context.Context, path string) (commit string, content []byte, err error)
}

// Config is what the experiment service records with and runs on.
type Config struct {
	Catalog  *Catalog
	Store    store.FS
	Backend  executors.Backend
	Versions NotebookVersions // nil: runs record no commit
	// Workspace is the root the notebook paths are relative to; trials run in the notebook's
	// directory.
	Workspace string
	// Scratch is a local directory for the trials' working files (.hops/runs).
	Scratch string
	// TrialEnv is added to every trial's environment (where the SDK is, how to reach the server).
	TrialEnv []string
	// Snapshot captures the environment trials run with.
	Snapshot func(context.Context) (Environment, error)
	Log      *slog.Logger
}

// Service starts, follows, stops and looks up experiments. It is the single owner of the catalog.
type Service struct {
	cfg  Config
	user string
	ctx  context.Context // ends when the service closes: every run stops
	stop context.CancelFunc

	mu     sync.Mutex
	live   map[string]*run
	models sync.Mutex // serializes model version numbering
	wg     sync.WaitGroup
}

// NewService returns the service and closes the books on runs a killed server left running.
func NewService(cfg Config) (*Service, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Service{cfg: cfg, user: currentUser(), live: map[string]*run{}}
	s.ctx, s.stop = context.WithCancel(context.Background())
	if err := s.recover(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops every running experiment (recorded as killed) and waits for them to be written.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// recover marks experiments that were running when the server died as killed, and keeps what their
// trials had written locally by uploading it to the store.
func (s *Service) recover(ctx context.Context) error {
	ids, err := s.cfg.Catalog.Unfinished(ctx)
	if err != nil {
		return fmt.Errorf("experiment catalog: %w", err)
	}
	for _, id := range ids {
		e, err := s.cfg.Catalog.Get(ctx, id, false)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, t := range e.Trials {
			if !t.State.Ended() {
				t.State = Killed
				if !t.Started.IsZero() {
					t.Ended = now
				}
				t.Error = "hops lab stopped while the trial ran"
				if err := s.importEvents(ctx, e, t); err != nil {
					s.cfg.Log.Warn("metrics of a trial left running", "trial", t.ID, "err", err)
				}
				s.uploadTrialFiles(ctx, e, t)
			}
		}
		e.State, e.Ended = Killed, now
		e.Note = "hops lab stopped while the experiment ran; what the trials had recorded until then is kept"
		if err := s.cfg.Catalog.Save(ctx, e); err != nil {
			return err
		}
		s.writeRecord(ctx, e)
		_ = os.RemoveAll(filepath.Join(s.cfg.Scratch, id))
		s.cfg.Log.Warn("experiment left running by a stopped server, recorded as killed", "id", id)
	}
	return nil
}

// importEvents records what a trial reported in its events.jsonl in the scratch directory that a
// killed server had not yet recorded: logged values (numbered per metric as they were logged, so values
// already in the catalog are written again unchanged), artifacts and models (the SDK's copies not yet
// on the store go there now).
func (s *Service) importEvents(ctx context.Context, e *Experiment, t *Trial) error {
	f, err := os.Open(filepath.Join(s.trialDir(e, t), "events.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	seq := map[string]int{}
	listed := map[string]bool{} // model names whose versions on the store were read
	var batches []PointBatch
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev sdkEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue // a line cut short by the kill
		}
		switch ev.Type {
		case "log":
			var step int64
			if ev.Step != nil {
				step = *ev.Step
			}
			at := time.Unix(0, int64(ev.Time*1e9)).UTC()
			for k, v := range parseMetrics(ev.Metrics) {
				batches = append(batches, PointBatch{Trial: t.ID, Metric: k, First: seq[k], Points: []Point{{Step: step, Value: v, Time: at}}})
				seq[k]++
				if t.Metrics == nil {
					t.Metrics = map[string]float64{}
				}
				t.Metrics[k] = v
			}
		case "artifact":
			s.recoverArtifact(ctx, e, t, ev)
		case "model":
			s.recoverModel(ctx, e, t, ev, listed)
		}
	}
	return s.cfg.Catalog.AddPoints(ctx, e.ID, batches)
}

// recoverModel exports a model whose export the killed server had not finished (the SDK's copy is
// still there), or else lists the versions of the name this trial exported, once per name.
func (s *Service) recoverModel(ctx context.Context, e *Experiment, t *Trial, ev sdkEvent, listed map[string]bool) {
	if s.staged(e, t, ev.Path) {
		m, err := s.keepModel(ctx, e, t, ev)
		if err != nil {
			s.cfg.Log.Warn("model of a trial left running", "trial", t.ID, "model", ev.Name, "err", err)
			return
		}
		t.Models = append(t.Models, m)
		return
	}
	if listed[ev.Name] {
		return
	}
	listed[ev.Name] = true
	versions, _ := s.cfg.Store.List(ctx, "Models/"+ev.Name)
	for _, v := range versions {
		var meta struct {
			Version    int                `json:"version"`
			Metrics    map[string]float64 `json:"metrics"`
			Experiment string             `json:"experiment"`
			Trial      string             `json:"trial"`
		}
		loc := "Models/" + ev.Name + "/" + v.Name
		if s.readJSON(ctx, loc+"/model.json", &meta) != nil || meta.Experiment != e.ID || meta.Trial != t.ID ||
			slices.ContainsFunc(t.Models, func(m Model) bool { return m.Location == loc }) {
			continue
		}
		t.Models = append(t.Models, Model{Name: ev.Name, Version: meta.Version, Location: loc, Metrics: meta.Metrics})
	}
}

// recoverArtifact stores an artifact whose copy the killed server had not finished (the SDK's copy is
// still there), and lists every artifact of the trial that is on the store.
func (s *Service) recoverArtifact(ctx context.Context, e *Experiment, t *Trial, ev sdkEvent) {
	stored := artifactLocation(e, t, ev)
	if s.staged(e, t, ev.Path) {
		if _, err := s.keepArtifact(ctx, e, t, ev); err != nil {
			s.cfg.Log.Warn("artifact of a trial left running", "trial", t.ID, "artifact", ev.Source, "err", err)
			return
		}
	}
	if _, err := s.cfg.Store.Stat(ctx, stored); err == nil && !slices.Contains(t.Artifacts, stored) {
		t.Artifacts = append(t.Artifacts, stored)
	}
}

// Start checks the request, records the experiment and runs it in the background. Errors before
// anything runs are *RequestError.
func (s *Service) Start(ctx context.Context, req Request) (*Experiment, error) {
	e, plan, err := s.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	r := &run{s: s, e: e, plan: plan, feed: newFeed(), trials: map[string]*trialRun{}}
	runCtx, cancel := context.WithCancel(s.ctx)
	if e.Timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(s.ctx, time.Duration(e.Timeout),
			fmt.Errorf("the run took longer than --timeout %s", time.Duration(e.Timeout)))
	}
	r.cancel = cancel
	if err := s.cfg.Catalog.Save(ctx, e); err != nil {
		cancel()
		return nil, err
	}
	if err := os.MkdirAll(r.scratch(), 0o755); err != nil {
		cancel()
		return nil, fmt.Errorf("experiment %s: %w", e.ID, err)
	}
	if err := os.WriteFile(r.program(), []byte(e.Code), 0o644); err != nil {
		cancel()
		return nil, fmt.Errorf("experiment %s: %w", e.ID, err)
	}
	s.mu.Lock()
	s.live[e.ID] = r
	s.mu.Unlock()
	start := *e
	r.feed.append(Event{Kind: "start", Experiment: &start})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		r.execute(runCtx)
	}()
	return &start, nil
}

// prepare turns a request into a new experiment record and its search plan.
func (s *Service) prepare(ctx context.Context, req Request) (*Experiment, search.Plan, error) {
	if req.RerunOf != "" {
		return s.prepareRerun(ctx, req)
	}
	if strings.TrimSpace(req.Code) == "" {
		return nil, nil, badRequest("the cell has no code to run: write the trial's code below the %%%%hops run line")
	}
	var space search.Space
	for _, p := range req.Params {
		v, err := search.ParseParam(p)
		if err != nil {
			return nil, nil, &RequestError{Msg: "--param " + err.Error()}
		}
		space.Fixed = append(space.Fixed, v)
	}
	for _, g := range req.Grid {
		d, err := search.ParseGrid(g)
		if err != nil {
			return nil, nil, &RequestError{Msg: "--grid " + err.Error()}
		}
		space.Grid = append(space.Grid, d)
	}
	for _, r := range req.Random {
		d, err := search.ParseRandom(r)
		if err != nil {
			return nil, nil, &RequestError{Msg: "--random " + err.Error()}
		}
		space.Random = append(space.Random, d)
	}
	if err := space.Validate(); err != nil {
		return nil, nil, &RequestError{Msg: err.Error()}
	}
	opts := search.Options{Method: search.Method(req.Search), Trials: req.Trials, Generations: req.Generations,
		Population: req.Population, Seed: req.Seed}
	switch opts.Method {
	case "", search.Grid, search.Random, search.Evolution:
	default:
		return nil, nil, badRequest("--search %s: unknown search; use grid, random or evolution", req.Search)
	}
	if req.Optimize != "" {
		o, err := search.ParseObjective(req.Optimize)
		if err != nil {
			return nil, nil, &RequestError{Msg: "--optimize " + err.Error()}
		}
		opts.Objective = &o
	}
	plan, err := search.New(space, opts)
	if err != nil {
		return nil, nil, &RequestError{Msg: err.Error()}
	}
	if req.GPUs < 0 {
		return nil, nil, badRequest("--gpus %d: give a number of GPUs per trial, 0 or more", req.GPUs)
	}
	if req.Executors < 0 {
		return nil, nil, badRequest("--executors %d: give how many trials may run at once, 1 or more", req.Executors)
	}
	gpus, why := s.cfg.Backend.GPUs()
	if req.GPUs > 0 && gpus == 0 {
		return nil, nil, badRequest("--gpus %d: %v. Run with --gpus 0 (the default) or on a host with NVIDIA GPUs", req.GPUs, why)
	}
	if req.GPUs > gpus {
		return nil, nil, badRequest("--gpus %d: this host has %d GPUs; ask for --gpus %d or fewer per trial", req.GPUs, gpus, gpus)
	}
	var timeout time.Duration
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 {
			return nil, nil, badRequest("--timeout %s: give a positive duration like 90s, 30m or 2h", req.Timeout)
		}
		timeout = d
	}
	e := s.newExperiment(req, plan, opts.Objective, timeout, gpus)
	s.noteVersion(ctx, e)
	return e, plan, nil
}

// newExperiment is the record of a run about to start.
func (s *Service) newExperiment(req Request, plan search.Plan, objective *search.Objective, timeout time.Duration, gpus int) *Experiment {
	now := time.Now().UTC()
	e := &Experiment{ID: NewID(now), Name: req.Name, User: s.user, Started: now, State: Running,
		Code: req.Code, Cell: req.Cell, Notebook: strings.TrimPrefix(req.Notebook, "/"), KernelID: req.KernelID,
		Method: plan.Method(), Objective: objective, Seed: plan.Seed(), GPUs: req.GPUs,
		Timeout: Duration(timeout), TrialsTotal: plan.Total(), Trials: []*Trial{}}
	e.Location = "Experiments/" + e.ID
	if e.Name == "" {
		e.Name = "experiment"
		if e.Notebook != "" {
			e.Name = strings.TrimSuffix(path.Base(e.Notebook), ".ipynb")
		}
	}
	e.Executors = req.Executors
	if e.Executors == 0 {
		e.Executors = runtime.NumCPU()
		if req.GPUs > 0 {
			e.Executors = max(1, gpus/req.GPUs)
		}
	}
	e.Executors = min(e.Executors, max(1, e.TrialsTotal))
	return e
}

// prepareRerun is a new experiment that runs an earlier one's code with its trials' parameters.
func (s *Service) prepareRerun(ctx context.Context, req Request) (*Experiment, search.Plan, error) {
	orig, err := s.cfg.Catalog.Get(ctx, req.RerunOf, false)
	if err != nil {
		return nil, nil, err
	}
	if len(orig.Trials) == 0 {
		return nil, nil, badRequest("experiment %s ran no trial, so there are no parameters to run again", orig.ID)
	}
	gpus, why := s.cfg.Backend.GPUs()
	if orig.GPUs > gpus {
		return nil, nil, badRequest("experiment %s gave each trial %d GPU(s) and this host has %d (%v): it cannot run here as it ran", orig.ID, orig.GPUs, gpus, why)
	}
	plan := &replay{method: orig.Method, seed: orig.Seed}
	for _, t := range orig.Trials {
		plan.trials = append(plan.trials, t.Params)
	}
	again := Request{Name: orig.Name, Code: orig.Code, Cell: orig.Cell, Notebook: orig.Notebook, KernelID: req.KernelID,
		Executors: orig.Executors, GPUs: orig.GPUs}
	e := s.newExperiment(again, plan, orig.Objective, time.Duration(orig.Timeout), gpus)
	e.RerunOf = orig.ID
	s.noteVersion(ctx, e)
	return e, plan, nil
}

// replay is the plan of a rerun: the trials of the original, all at once.
type replay struct {
	method search.Method
	seed   int64
	trials []search.Params
}

func (p *replay) Method() search.Method { return p.method }
func (p *replay) Total() int            { return len(p.trials) }
func (p *replay) Seed() int64           { return p.seed }
func (p *replay) Next(results []search.Result) []search.Params {
	if len(results) > 0 {
		return nil
	}
	return p.trials
}

// noteVersion records the notebook's last saved version and whether the cell that runs is in it.
func (s *Service) noteVersion(ctx context.Context, e *Experiment) {
	if e.Notebook != "" && s.cfg.Versions != nil {
		commit, content, err := s.cfg.Versions.LastVersion(ctx, e.Notebook)
		if err != nil {
			s.cfg.Log.Warn("notebook version for experiment", "notebook", e.Notebook, "err", err)
		}
		e.Commit = commit
		e.CodeChanged = !cellInNotebook(content, e.Cell)
	}
}

// cellInNotebook reports whether a code cell of the notebook has exactly the source cell (trailing
// whitespace aside).
func cellInNotebook(notebook []byte, cell string) bool {
	if len(notebook) == 0 {
		return false
	}
	var nb struct {
		Cells []struct {
			Type   string          `json:"cell_type"`
			Source json.RawMessage `json:"source"`
		} `json:"cells"`
	}
	if json.Unmarshal(notebook, &nb) != nil {
		return false
	}
	want := strings.TrimRight(cell, " \t\r\n")
	for _, c := range nb.Cells {
		if c.Type != "code" {
			continue
		}
		var src string
		if json.Unmarshal(c.Source, &src) != nil {
			var lines []string
			if json.Unmarshal(c.Source, &lines) != nil {
				continue
			}
			src = strings.Join(lines, "")
		}
		if strings.TrimRight(src, " \t\r\n") == want {
			return true
		}
	}
	return false
}

// Stop stops a running experiment: every trial's process group is signalled at once.
func (s *Service) Stop(id string) error {
	s.mu.Lock()
	r := s.live[id]
	s.mu.Unlock()
	if r == nil {
		if _, err := s.cfg.Catalog.Get(context.Background(), id, false); err != nil {
			return err
		}
		return nil // already ended: stopping it is done
	}
	r.stopByUser()
	return nil
}

// Follow passes the events of an experiment after seq since to fn until it ends. An experiment that
// has ended gets one "end" event with its whole record.
func (s *Service) Follow(ctx context.Context, id string, since int, fn func(Event) error) error {
	s.mu.Lock()
	r := s.live[id]
	s.mu.Unlock()
	if r != nil {
		return r.feed.follow(ctx, since, fn)
	}
	e, err := s.cfg.Catalog.Get(ctx, id, true)
	if err != nil {
		return err
	}
	return fn(Event{Seq: max(since+1, 1), Kind: "end", Experiment: e})
}

// Get returns an experiment's record; full includes metric timelines and GPU samples.
func (s *Service) Get(ctx context.Context, id string, full bool) (*Experiment, error) {
	return s.cfg.Catalog.Get(ctx, id, full)
}

// List lists experiments, newest first.
func (s *Service) List(ctx context.Context, o ListOptions) ([]*Experiment, error) {
	return s.cfg.Catalog.List(ctx, o)
}

// Running returns the ids of the experiments running now.
func (s *Service) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.live))
	for id := range s.live {
		ids = append(ids, id)
	}
	return ids
}

// writeRecord writes Experiments/<id>/experiment.json; a failure is logged, the catalog has it.
func (s *Service) writeRecord(ctx context.Context, e *Experiment) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err == nil {
		err = s.putFile(ctx, e.Location+"/experiment.json", b)
	}
	if err != nil {
		s.cfg.Log.Warn("write experiment record to the store", "id", e.ID, "err", err)
	}
}

// readJSON decodes a JSON file of the store into v.
func (s *Service) readJSON(ctx context.Context, name string, v any) error {
	f, err := s.cfg.Store.Open(ctx, name)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewDecoder(f).Decode(v)
}

func (s *Service) putFile(ctx context.Context, name string, data []byte) error {
	if err := s.cfg.Store.MkdirAll(ctx, path.Dir(name)); err != nil {
		return err
	}
	w, err := s.cfg.Store.Create(ctx, name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// copyToStore copies a local file, or a directory with everything in it, to name on the store.
func (s *Service) copyToStore(ctx context.Context, local, name string) error {
	st, err := os.Stat(local)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return s.copyFile(ctx, local, name)
	}
	return filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		target := path.Join(name, filepath.ToSlash(rel))
		if d.IsDir() {
			return s.cfg.Store.MkdirAll(ctx, target)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return s.copyFile(ctx, p, target)
	})
}

func (s *Service) copyFile(ctx context.Context, local, name string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.cfg.Store.MkdirAll(ctx, path.Dir(name)); err != nil {
		return err
	}
	w, err := s.cfg.Store.Create(ctx, name)
	if err != nil {
		return err
	}
	if _, err := f.WriteTo(w); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// nextModelVersion is one more than the highest version of the model on the store.
func (s *Service) nextModelVersion(ctx context.Context, name string) (int, error) {
	entries, err := s.cfg.Store.List(ctx, "Models/"+name)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	v := 0
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscanf(e.Name, "%d", &n); err == nil && fmt.Sprint(n) == e.Name && n > v {
			v = n
		}
	}
	return v + 1, nil
}
