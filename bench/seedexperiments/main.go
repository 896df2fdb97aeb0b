// Command seedexperiments fills a workspace's experiment catalog (WORKSPACE/.hops/experiments.db, the
// database hops lab opens) with finished experiments for bench/catalog_bench.py: -n experiments with
// realistic records (a name out of a few dozen, a grid of 1-3 trials over lr/batch/optimizer/dropout,
// final metrics, the cell's code, and an environment snapshot of a real interpreter, taken once and
// reused), written through experiments.OpenCatalog, Catalog.Save and Catalog.AddPoints. -timelines of
// them (spread over the list) get one trial that logged two metrics (loss, accuracy) at -steps steps.
//
// stdout: a JSON array of the ids of the experiments with timelines. -export FILE also writes one JSON
// line per experiment (id, name, started, params and metrics of its best trial, timelines if any) for
// seeding a peer (MLflow) with the same runs. Run it while hops lab is not running on that workspace.
//
// Usage: go run ./bench/seedexperiments -dir WORKSPACE [-n 10000] [-steps 1000] [-timelines 20]
//
//	[-python .venv/bin/python] [-export runs.jsonl] [-seed 1]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hopsml/hops/executors/gpu"
	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/experiments/search"
)

var names = []string{"mnist-cnn", "mnist-mlp", "cifar10-resnet18", "cifar10-resnet50", "cifar100-wrn",
	"imagenet-subset-vit", "bert-finetune-sst2", "bert-finetune-mnli", "distilbert-imdb", "gpt2-small-wikitext",
	"t5-summarize", "xgboost-churn", "lightgbm-ctr", "tabnet-adult", "unet-segmentation", "yolo-detect",
	"lstm-forecast", "transformer-forecast", "wav2vec-asr", "ppo-cartpole", "dqn-atari-pong", "gan-celeba",
	"vae-mnist", "contrastive-simclr", "recsys-two-tower", "gnn-cora", "fraud-detection", "lr-sweep",
	"batch-size-sweep", "dropout-ablation", "optimizer-compare", "baseline"}

var learningRates = []float64{0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001}
var batches = []int{16, 32, 64, 128, 256}
var optimizers = []string{"adam", "adamw", "sgd", "rmsprop"}
var dropouts = []float64{0, 0.1, 0.2, 0.3, 0.5}

const codeTemplate = `import torch, hops
from torch import nn
from torch.utils.data import DataLoader
from data import load_dataset, build_model

train, val = load_dataset(%q)
model = build_model(%q, dropout=dropout).cuda()
opt = getattr(torch.optim, optimizer.capitalize() if optimizer != "adamw" else "AdamW")(model.parameters(), lr=lr)
loader = DataLoader(train, batch_size=batch, shuffle=True, num_workers=4)
for epoch in range(epochs):
    model.train()
    for x, y in loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        opt.step()
    acc = evaluate(model, val)
    hops.log(accuracy=acc, loss=loss.item(), step=epoch)
`

// exported is one line of -export: what a peer needs to hold the same run.
type exported struct {
	ID       string                         `json:"id"`
	Name     string                         `json:"name"`
	Started  int64                          `json:"started_ms"`
	Ended    int64                          `json:"ended_ms"`
	Params   search.Params                  `json:"params"`
	Metrics  map[string]float64             `json:"metrics"`
	Timeline map[string][]experiments.Point `json:"timeline,omitempty"`
}

func main() {
	dir := flag.String("dir", "", "workspace (its .hops/experiments.db is written)")
	n := flag.Int("n", 10000, "experiments")
	steps := flag.Int("steps", 1000, "steps per metric timeline")
	timelines := flag.Int("timelines", 20, "experiments with metric timelines")
	python := flag.String("python", ".venv/bin/python", "interpreter whose environment every record holds")
	export := flag.String("export", "", "also write one JSON line per experiment to this file")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *dir == "" || *n < 1 || *timelines > *n || *steps < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx := context.Background()
	t0 := time.Now()

	env, err := experiments.Snapshot(ctx, *python, func() (gpu.Inventory, error) {
		return gpu.Inventory{}, errors.New("seeded benchmark data: no GPU inventory")
	})
	if err != nil {
		log.Fatalf("environment snapshot of %s: %v", *python, err)
	}
	tSnap := time.Since(t0)

	if err := os.MkdirAll(filepath.Join(*dir, ".hops"), 0o755); err != nil {
		log.Fatal(err)
	}
	cat, err := experiments.OpenCatalog(filepath.Join(*dir, ".hops", "experiments.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer cat.Close()

	var out *bufio.Writer
	if *export != "" {
		f, err := os.Create(*export)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		out = bufio.NewWriterSize(f, 1<<20)
		defer out.Flush()
	}

	rng := rand.New(rand.NewPCG(*seed, 42))
	// Timeline experiments are spread evenly over the list, so they are not all on the first page.
	withTimeline := map[int]bool{}
	for k := 0; k < *timelines; k++ {
		withTimeline[(k*(*n))/(*timelines)+(*n)/(2*max(*timelines, 1))] = true
	}
	// The newest experiment started an hour ago; one every 90 s before it.
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var ids []string
	points := 0
	tSave := time.Duration(0)
	tPoints := time.Duration(0)
	for i := 0; i < *n; i++ {
		started := base.Add(-time.Duration(*n-1-i) * 90 * time.Second)
		name := names[rng.IntN(len(names))]
		e := newExperiment(rng, i, name, started, &env)
		timeline := withTimeline[i]
		if timeline {
			e.Trials = e.Trials[:1]
			e.TrialsTotal = 1
			setBest(e)
		}
		ts := time.Now()
		if err := cat.Save(ctx, e); err != nil {
			log.Fatal(err)
		}
		tSave += time.Since(ts)
		line := exported{ID: e.ID, Name: e.Name, Started: e.Started.UnixMilli(), Ended: e.Ended.UnixMilli()}
		best := e.Trials[0]
		for _, t := range e.Trials {
			if t.ID == e.Best {
				best = t
			}
		}
		line.Params, line.Metrics = best.Params, best.Metrics
		if timeline {
			ids = append(ids, e.ID)
			tl := makeTimeline(rng, best, *steps)
			tp := time.Now()
			var batches []experiments.PointBatch
			for _, m := range []string{"accuracy", "loss"} {
				batches = append(batches, experiments.PointBatch{Trial: best.ID, Metric: m, Points: tl[m]})
				points += len(tl[m])
			}
			if err := cat.AddPoints(ctx, e.ID, batches); err != nil {
				log.Fatal(err)
			}
			tPoints += time.Since(tp)
			line.Timeline = tl
		}
		if out != nil {
			b, err := json.Marshal(line)
			if err != nil {
				log.Fatal(err)
			}
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	envJSON, _ := json.Marshal(env)
	pkgs := 0
	if env.Python != nil {
		pkgs = len(env.Python.Packages)
	}
	fmt.Fprintf(os.Stderr, "seeded %d experiments (%d with %d-step timelines of 2 metrics, %d points) in %s: "+
		"snapshot %s (%d packages, %d bytes of JSON), Save %s, AddPoints %s\n",
		*n, len(ids), *steps, points, time.Since(t0).Round(time.Millisecond), tSnap.Round(time.Millisecond), pkgs,
		len(envJSON), tSave.Round(time.Millisecond), tPoints.Round(time.Millisecond))
	if ids == nil {
		ids = []string{}
	}
	if err := json.NewEncoder(os.Stdout).Encode(ids); err != nil {
		log.Fatal(err)
	}
}

func newExperiment(rng *rand.Rand, i int, name string, started time.Time, env *experiments.Environment) *experiments.Experiment {
	ntrials := 1 + rng.IntN(3)
	lrs := pick(rng, learningRates, ntrials)
	batch := batches[rng.IntN(len(batches))]
	optimizer := optimizers[rng.IntN(len(optimizers))]
	dropout := dropouts[rng.IntN(len(dropouts))]
	epochs := 5 + rng.IntN(50)
	grid := make([]string, len(lrs))
	for k, lr := range lrs {
		grid[k] = fmt.Sprint(lr)
	}
	head := fmt.Sprintf("%%%%hops run --grid lr=%s --param batch=%d --param optimizer=%s --param dropout=%g --param epochs=%d --optimize accuracy:max",
		strings.Join(grid, ","), batch, optimizer, dropout, epochs)
	dataset := strings.SplitN(name, "-", 2)[0]
	code := fmt.Sprintf(codeTemplate, dataset, name)
	id := started.Format("20060102-150405") + fmt.Sprintf("-%04x", i&0xffff)
	e := &experiments.Experiment{
		ID: id, Name: name, User: "bench", Started: started, State: experiments.Finished,
		Code: code, Cell: head + "\n" + code, Notebook: "notebooks/" + name + ".ipynb",
		Commit:    fmt.Sprintf("%040x", rng.Uint64()),
		Method:    search.Grid,
		Objective: &search.Objective{Metric: "accuracy", Direction: search.Max},
		Executors: 1, GPUs: 1, TrialsTotal: ntrials,
		Location: "Experiments/" + id, Environment: env,
	}
	if ntrials == 1 {
		e.Method = search.Single
	}
	at := started.Add(300 * time.Millisecond)
	for k, lr := range lrs {
		dur := time.Duration(30+rng.IntN(600)) * time.Second
		acc := 0.5 + 0.49*rng.Float64()
		exit := 0
		t := &experiments.Trial{
			ID: fmt.Sprintf("t%02d", k), Index: k, State: experiments.Finished, Started: at, Ended: at.Add(dur),
			Params:   search.Params{"lr": lr, "batch": int64(batch), "optimizer": optimizer, "dropout": dropout, "epochs": int64(epochs)},
			Metrics:  map[string]float64{"accuracy": acc, "loss": -math.Log(acc) * (0.8 + 0.4*rng.Float64())},
			ExitCode: &exit, GPUs: []int{0},
		}
		at = t.Ended.Add(50 * time.Millisecond)
		e.Trials = append(e.Trials, t)
	}
	e.Ended = at
	setBest(e)
	return e
}

// setBest sets the best trial by accuracy.
func setBest(e *experiments.Experiment) {
	e.Best, e.BestValue = "", nil
	for _, t := range e.Trials {
		if v := t.Metrics["accuracy"]; e.BestValue == nil || v > *e.BestValue {
			e.Best, e.BestValue = t.ID, &v
		}
	}
	e.Ended = e.Trials[len(e.Trials)-1].Ended.Add(50 * time.Millisecond)
}

// makeTimeline is a training curve that ends at the trial's final metrics: loss decays with noise,
// accuracy rises with noise.
func makeTimeline(rng *rand.Rand, t *experiments.Trial, steps int) map[string][]experiments.Point {
	acc, loss := t.Metrics["accuracy"], t.Metrics["loss"]
	out := map[string][]experiments.Point{}
	dt := t.Ended.Sub(t.Started) / time.Duration(steps)
	for s := 0; s < steps; s++ {
		frac := float64(s+1) / float64(steps)
		at := t.Started.Add(time.Duration(s+1) * dt)
		a, l := acc, loss
		if s < steps-1 {
			a = acc*(1-math.Exp(-5*frac)) + 0.01*rng.NormFloat64()
			l = loss + 2.3*math.Exp(-5*frac) + 0.02*math.Abs(rng.NormFloat64())
		}
		out["accuracy"] = append(out["accuracy"], experiments.Point{Step: int64(s), Value: a, Time: at})
		out["loss"] = append(out["loss"], experiments.Point{Step: int64(s), Value: l, Time: at})
	}
	return out
}

func pick[T any](rng *rand.Rand, from []T, k int) []T {
	idx := rng.Perm(len(from))[:k]
	out := make([]T, k)
	for i, j := range idx {
		out[i] = from[j]
	}
	return out
}
