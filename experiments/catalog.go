package experiments

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite", pure Go
)

// ErrNotFound is wrapped by lookups of an experiment id that was never recorded.
var ErrNotFound = errors.New("no such experiment")

// Catalog is the index of every experiment: an SQLite database (pure Go, in the workspace's .hops/)
// with one row per experiment and trial and every logged metric value and GPU reading. The store
// holds the files (code, logs, artifacts); the catalog answers listing and lookup fast.
type Catalog struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS experiments (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	started INTEGER NOT NULL,
	state TEXT NOT NULL,
	notebook TEXT NOT NULL,
	record TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS experiments_started ON experiments(started DESC, id DESC);
CREATE INDEX IF NOT EXISTS experiments_name ON experiments(name, started DESC);
CREATE TABLE IF NOT EXISTS trials (
	experiment TEXT NOT NULL,
	id TEXT NOT NULL,
	idx INTEGER NOT NULL,
	record TEXT NOT NULL,
	PRIMARY KEY (experiment, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
	experiment TEXT NOT NULL,
	trial TEXT NOT NULL,
	metric TEXT NOT NULL,
	seq INTEGER NOT NULL,
	step INTEGER NOT NULL,
	value REAL,
	time INTEGER NOT NULL,
	PRIMARY KEY (experiment, trial, metric, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gpu_samples (
	experiment TEXT NOT NULL,
	trial TEXT NOT NULL,
	time INTEGER NOT NULL,
	gpu INTEGER NOT NULL,
	utilization INTEGER NOT NULL,
	memory_used INTEGER NOT NULL,
	memory_total INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS gpu_samples_trial ON gpu_samples(experiment, trial, time);
`

// OpenCatalog opens (creating if needed) the catalog database at path.
func OpenCatalog(path string) (*Catalog, error) {
	// WAL: readers do not wait for the writer; synchronous=NORMAL in WAL mode loses nothing when the
	// process is killed, only (possibly) the last transactions on power loss.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open experiment catalog %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open experiment catalog %s: %w", path, err)
	}
	// Catalogs from before records were split into summary and detail get the detail column.
	var hasDetail int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('experiments') WHERE name = 'detail'`).Scan(&hasDetail); err == nil && hasDetail == 0 {
		if _, err := db.Exec(`ALTER TABLE experiments ADD COLUMN detail TEXT NOT NULL DEFAULT ''`); err != nil {
			db.Close()
			return nil, fmt.Errorf("upgrade experiment catalog %s: %w", path, err)
		}
	}
	return &Catalog{db: db}, nil
}

// Close closes the database.
func (c *Catalog) Close() error { return c.db.Close() }

// Save writes the experiment's row and its trials' rows (timelines and GPU samples excluded: they
// are added as they come with AddPoints and AddGPUSamples).
func (c *Catalog) Save(ctx context.Context, e *Experiment) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveExperiment(ctx, tx, e); err != nil {
			return err
		}
		for _, t := range e.Trials {
			if err := saveTrial(ctx, tx, e.ID, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// inTx runs fn in a transaction, committed when fn succeeds.
func (c *Catalog) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// SaveTrial writes one trial's row (and the experiment's, whose summary may have changed).
func (c *Catalog) SaveTrial(ctx context.Context, e *Experiment, t *Trial) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveExperiment(ctx, tx, e); err != nil {
			return err
		}
		return saveTrial(ctx, tx, e.ID, t)
	})
}

// detail is the part of a record that listings leave out: the code and the environment snapshot
// (a hundred packages make it most of a record).
type detail struct {
	Code        string       `json:"code"`
	Cell        string       `json:"cell"`
	Environment *Environment `json:"environment,omitempty"`
}

func saveExperiment(ctx context.Context, tx *sql.Tx, e *Experiment) error {
	summary := *e
	summary.Trials, summary.Code, summary.Cell, summary.Environment = nil, "", "", nil
	rec, err := json.Marshal(&summary)
	if err != nil {
		return err
	}
	det, err := json.Marshal(detail{Code: e.Code, Cell: e.Cell, Environment: e.Environment})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO experiments(id, name, started, state, notebook, record, detail) VALUES(?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET name=excluded.name, state=excluded.state, notebook=excluded.notebook, record=excluded.record, detail=excluded.detail`,
		e.ID, e.Name, e.Started.UnixMilli(), string(e.State), e.Notebook, string(rec), string(det))
	if err != nil {
		return fmt.Errorf("record experiment %s: %w", e.ID, err)
	}
	return nil
}

func saveTrial(ctx context.Context, tx *sql.Tx, id string, t *Trial) error {
	shallow := *t
	shallow.Timeline, shallow.GPUSamples = nil, nil
	rec, err := json.Marshal(&shallow)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO trials(experiment, id, idx, record) VALUES(?,?,?,?)
		ON CONFLICT(experiment, id) DO UPDATE SET record=excluded.record`, id, t.ID, t.Index, string(rec))
	if err != nil {
		return fmt.Errorf("record trial %s/%s: %w", id, t.ID, err)
	}
	return nil
}

// PointBatch is values logged by one trial for one metric, numbered from First on.
type PointBatch struct {
	Trial  string
	Metric string
	First  int // sequence number of Points[0] within the trial's metric
	Points []Point
}

// AddPoints records logged metric values, all in one transaction.
func (c *Catalog) AddPoints(ctx context.Context, id string, batches []PointBatch) error {
	if len(batches) == 0 {
		return nil
	}
	return c.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO points(experiment, trial, metric, seq, step, value, time) VALUES(?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, b := range batches {
			for i, p := range b.Points {
				var v any = p.Value
				if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
					v = nil // SQLite has no NaN; the timeline shows a gap
				}
				if _, err := stmt.ExecContext(ctx, id, b.Trial, b.Metric, b.First+i, p.Step, v, p.Time.UnixMicro()); err != nil {
					return fmt.Errorf("record metrics of %s/%s: %w", id, b.Trial, err)
				}
			}
		}
		return nil
	})
}

// AddGPUSamples records readings of a trial's GPUs.
func (c *Catalog) AddGPUSamples(ctx context.Context, id, trial string, samples []gpu.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	return c.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range samples {
			if _, err := tx.ExecContext(ctx, `INSERT INTO gpu_samples(experiment, trial, time, gpu, utilization, memory_used, memory_total) VALUES(?,?,?,?,?,?,?)`,
				id, trial, s.Time.UnixMilli(), s.Index, s.UtilizationGPU, s.MemoryUsed, s.MemoryTotal); err != nil {
				return fmt.Errorf("record GPU samples of %s/%s: %w", id, trial, err)
			}
		}
		return nil
	})
}

// Get reads an experiment with its trials; full adds every trial's metric timelines and GPU samples.
func (c *Catalog) Get(ctx context.Context, id string, full bool) (*Experiment, error) {
	var rec, det string
	err := c.db.QueryRowContext(ctx, `SELECT record, detail FROM experiments WHERE id = ?`, id).Scan(&rec, &det)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q (list them with %%hops experiments or GET /api/hops/experiments)", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var e Experiment
	if err := json.Unmarshal([]byte(rec), &e); err != nil {
		return nil, fmt.Errorf("experiment %s: corrupt record: %w", id, err)
	}
	if det != "" {
		var d detail
		if err := json.Unmarshal([]byte(det), &d); err != nil {
			return nil, fmt.Errorf("experiment %s: corrupt record: %w", id, err)
		}
		e.Code, e.Cell, e.Environment = d.Code, d.Cell, d.Environment
	}
	rows, err := c.db.QueryContext(ctx, `SELECT record FROM trials WHERE experiment = ? ORDER BY idx`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[string]*Trial{}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		t := new(Trial)
		if err := json.Unmarshal([]byte(r), t); err != nil {
			return nil, fmt.Errorf("experiment %s: corrupt trial record: %w", id, err)
		}
		e.Trials = append(e.Trials, t)
		byID[t.ID] = t
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !full {
		return &e, nil
	}
	if err := c.readTimelines(ctx, id, byID); err != nil {
		return nil, err
	}
	if err := c.readGPUSamples(ctx, id, byID); err != nil {
		return nil, err
	}
	return &e, nil
}

func (c *Catalog) readTimelines(ctx context.Context, id string, byID map[string]*Trial) error {
	rows, err := c.db.QueryContext(ctx, `SELECT trial, metric, step, value, time FROM points WHERE experiment = ? ORDER BY trial, metric, seq`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var trial, metric string
		var step, at int64
		var value sql.NullFloat64
		if err := rows.Scan(&trial, &metric, &step, &value, &at); err != nil {
			return err
		}
		t := byID[trial]
		if t == nil {
			continue
		}
		if t.Timeline == nil {
			t.Timeline = map[string][]Point{}
		}
		v := math.NaN()
		if value.Valid {
			v = value.Float64
		}
		t.Timeline[metric] = append(t.Timeline[metric], Point{Step: step, Value: v, Time: time.UnixMicro(at).UTC()})
	}
	return rows.Err()
}

func (c *Catalog) readGPUSamples(ctx context.Context, id string, byID map[string]*Trial) error {
	rows, err := c.db.QueryContext(ctx, `SELECT trial, time, gpu, utilization, memory_used, memory_total FROM gpu_samples WHERE experiment = ? ORDER BY trial, time, gpu`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var trial string
		var at int64
		var s gpu.Sample
		if err := rows.Scan(&trial, &at, &s.Index, &s.UtilizationGPU, &s.MemoryUsed, &s.MemoryTotal); err != nil {
			return err
		}
		if t := byID[trial]; t != nil {
			s.Time = time.UnixMilli(at).UTC()
			t.GPUSamples = append(t.GPUSamples, s)
		}
	}
	return rows.Err()
}

// ListOptions filters and pages a listing.
type ListOptions struct {
	Name   string // only experiments with this name
	Limit  int    // at most this many (0: 50)
	Before string // only experiments listed after this id (the previous page's last)
}

// List returns experiment records without their trials, code and environment, newest first.
func (c *Catalog) List(ctx context.Context, o ListOptions) ([]*Experiment, error) {
	if o.Limit <= 0 {
		o.Limit = 50
	}
	q := `SELECT record FROM experiments WHERE 1=1`
	var args []any
	if o.Name != "" {
		q += ` AND name = ?`
		args = append(args, o.Name)
	}
	if o.Before != "" {
		var started int64
		err := c.db.QueryRowContext(ctx, `SELECT started FROM experiments WHERE id = ?`, o.Before).Scan(&started)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: %q (before= takes the id of an experiment listed earlier)", ErrNotFound, o.Before)
		} else if err != nil {
			return nil, err
		}
		q += ` AND (started < ? OR (started = ? AND id < ?))`
		args = append(args, started, started, o.Before)
	}
	q += ` ORDER BY started DESC, id DESC LIMIT ?`
	args = append(args, o.Limit)
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Experiment
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, err
		}
		e := new(Experiment)
		if err := json.Unmarshal([]byte(rec), e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Unfinished returns the ids of experiments recorded as running: after a restart, runs the server
// was killed in the middle of.
func (c *Catalog) Unfinished(ctx context.Context) ([]string, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id FROM experiments WHERE state = ?`, string(Running))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
