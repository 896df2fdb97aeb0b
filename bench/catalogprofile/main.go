// Command catalogprofile splits the time of `%hops experiments compare` (magics.ExperimentsAPI.Compare,
// what the hops kernel runs) into its parts against a running hops lab, for bench/catalog_bench.py:
// the HTTP GETs of the full records (body read), decoding them, rendering the bundles (table and plot),
// and encoding the bundles as JSON as the kernel does for a display_data message. Prints one JSON object
// of medians (ms) and sizes (bytes).
//
// Usage: go run ./bench/catalogprofile -url http://127.0.0.1:PORT/ -token T -ids ID1,ID2,... [-repeats 20]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hopsml/hops/experiments"
	"github.com/hopsml/hops/magics"
)

func main() {
	url := flag.String("url", "", "hops lab base URL")
	token := flag.String("token", "", "hops lab token")
	idList := flag.String("ids", "", "comma-separated experiment ids")
	repeats := flag.Int("repeats", 20, "repeats (after 2 warm-ups)")
	flag.Parse()
	ids := strings.Split(*idList, ",")
	client := &magics.Client{BaseURL: *url, Token: *token, HTTP: &http.Client{}}
	api := magics.ExperimentsAPI{Client: client}
	ctx := context.Background()
	series := map[string][]float64{}
	sizes := map[string]int{}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for i := 0; i < *repeats+2; i++ {
		// 1. The GETs alone, body read.
		t0 := time.Now()
		var bodies [][]byte
		for _, id := range ids {
			req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(*url, "/")+"/api/hops/experiments/"+id, nil)
			req.Header.Set("Authorization", "token "+*token)
			resp, err := client.HTTP.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				log.Fatal(err)
			}
			bodies = append(bodies, b)
		}
		tGet := time.Since(t0)
		// 2. Decoding them.
		t0 = time.Now()
		n := 0
		for _, b := range bodies {
			var e experiments.Experiment
			if err := json.Unmarshal(b, &e); err != nil {
				log.Fatal(err)
			}
			n += len(b)
		}
		tDecode := time.Since(t0)
		// 3. The whole Compare (GETs, decode, render).
		t0 = time.Now()
		out, err := api.Compare(ctx, ids)
		if err != nil {
			log.Fatal(err)
		}
		tCompare := time.Since(t0)
		// 4. Encoding the bundles as a display_data's content.
		t0 = time.Now()
		enc := 0
		for _, b := range out {
			j, err := json.Marshal(map[string]any{"data": b, "metadata": map[string]any{}})
			if err != nil {
				log.Fatal(err)
			}
			enc += len(j)
		}
		tEncode := time.Since(t0)
		if i < 2 {
			continue
		}
		series["gets_ms"] = append(series["gets_ms"], ms(tGet))
		series["decode_ms"] = append(series["decode_ms"], ms(tDecode))
		series["compare_ms"] = append(series["compare_ms"], ms(tCompare))
		series["render_ms_estimate"] = append(series["render_ms_estimate"], ms(tCompare-tGet-tDecode))
		series["encode_ms"] = append(series["encode_ms"], ms(tEncode))
		sizes["records_bytes"], sizes["display_bytes"] = n, enc
	}
	res := map[string]any{"sizes": sizes}
	for k, v := range series {
		slices.Sort(v)
		res[k] = v[len(v)/2]
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		log.Fatal(err)
	}
}
