// Command tss-lib-bench times bnb-chain/tss-lib v2 GG18 2-of-3 keygen (with pre-generated
// pre-params, i.e. a warm pool) and 2-of-3 signing, in one process, and prints JSON with the
// per-iteration wall-clock milliseconds. bench/gg18.bench.ts runs it next to Custos's GG18 so
// that the comparison is a ratio measured on the same machine in the same run.
//
// With -serve it generates (or loads from -preparams) the parties' pre-params once, then reads
// "keygen" or "sign" lines on stdin and answers each with one JSON line {"op","ms"}: the
// benchmark interleaves these with Custos's own iterations (A B A B ...).
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/bnb-chain/tss-lib/v2/common"
	"github.com/bnb-chain/tss-lib/v2/ecdsa/keygen"
	"github.com/bnb-chain/tss-lib/v2/ecdsa/signing"
	"github.com/bnb-chain/tss-lib/v2/tss"
)

const (
	parties   = 3
	threshold = 1 // tss-lib counts the polynomial degree: threshold+1 = 2 signers
)

// route delivers messages between in-process parties until every party has produced its result.
func route(ps []tss.Party, byIndex func(int) tss.Party, out <-chan tss.Message, errs <-chan *tss.Error, done <-chan struct{}, want int) error {
	finished := 0
	for finished < want {
		select {
		case err := <-errs:
			return err
		case <-done:
			finished++
		case msg := <-out:
			deliver := func(p tss.Party) {
				bz, _, err := msg.WireBytes()
				if err != nil {
					panic(err)
				}
				parsed, err := tss.ParseWireMessage(bz, msg.GetFrom(), msg.IsBroadcast())
				if err != nil {
					panic(err)
				}
				if _, e := p.Update(parsed); e != nil {
					panic(e)
				}
			}
			if to := msg.GetTo(); to == nil {
				for _, p := range ps {
					if p.PartyID().Index != msg.GetFrom().Index {
						go deliver(p)
					}
				}
			} else {
				go deliver(byIndex(to[0].Index))
			}
		}
	}
	return nil
}

func runKeygen(ids tss.SortedPartyIDs, pre []*keygen.LocalPreParams) ([]keygen.LocalPartySaveData, error) {
	ctx := tss.NewPeerContext(ids)
	out := make(chan tss.Message, 1024)
	errs := make(chan *tss.Error, parties)
	end := make(chan *keygen.LocalPartySaveData, parties)
	done := make(chan struct{}, parties)
	ps := make([]tss.Party, parties)
	for i := range ids {
		params := tss.NewParameters(tss.S256(), ctx, ids[i], parties, threshold)
		ps[i] = keygen.NewLocalParty(params, out, end, *pre[i])
	}
	for _, p := range ps {
		go func(p tss.Party) {
			if err := p.Start(); err != nil {
				errs <- err
			}
		}(p)
	}
	results := make([]keygen.LocalPartySaveData, parties)
	collected := make(chan struct{})
	go func() {
		for i := 0; i < parties; i++ {
			save := <-end
			idx, err := save.OriginalIndex()
			if err != nil {
				panic(err)
			}
			results[idx] = *save
			done <- struct{}{}
		}
		close(collected)
	}()
	if err := route(ps, func(i int) tss.Party { return ps[i] }, out, errs, done, parties); err != nil {
		return nil, err
	}
	<-collected
	return results, nil
}

func runSign(ids tss.SortedPartyIDs, keys []keygen.LocalPartySaveData, digest *big.Int) error {
	signers := tss.SortPartyIDs(tss.UnSortedPartyIDs{
		tss.NewPartyID(ids[0].Id, ids[0].Moniker, ids[0].KeyInt()),
		tss.NewPartyID(ids[1].Id, ids[1].Moniker, ids[1].KeyInt()),
	})
	ctx := tss.NewPeerContext(signers)
	out := make(chan tss.Message, 1024)
	errs := make(chan *tss.Error, len(signers))
	end := make(chan *common.SignatureData, len(signers))
	done := make(chan struct{}, len(signers))
	ps := make([]tss.Party, len(signers))
	for i := range signers {
		params := tss.NewParameters(tss.S256(), ctx, signers[i], len(signers), threshold)
		key := keygen.BuildLocalSaveDataSubset(keys[i], signers)
		ps[i] = signing.NewLocalParty(digest, params, key, out, end)
	}
	for _, p := range ps {
		go func(p tss.Party) {
			if err := p.Start(); err != nil {
				errs <- err
			}
		}(p)
	}
	go func() {
		for i := 0; i < len(signers); i++ {
			<-end
			done <- struct{}{}
		}
	}()
	return route(ps, func(i int) tss.Party { return ps[i] }, out, errs, done, len(signers))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loadOrGeneratePreParams reads the parties' pre-params from path, or generates and saves them.
func loadOrGeneratePreParams(path string) []*keygen.LocalPreParams {
	pre := make([]*keygen.LocalPreParams, parties)
	if path != "" {
		if bz, err := os.ReadFile(path); err == nil && json.Unmarshal(bz, &pre) == nil && len(pre) == parties {
			return pre
		}
	}
	for i := range pre {
		// Safe primes take minutes on a loaded machine; generated once, then cached.
		p, err := keygen.GeneratePreParams(time.Hour)
		if err != nil {
			fail(err)
		}
		pre[i] = p
	}
	if path != "" {
		bz, err := json.Marshal(pre)
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(path, bz, 0o600); err != nil {
			fail(err)
		}
	}
	return pre
}

func randomDigest() *big.Int {
	digest := make([]byte, 32)
	if _, err := rand.Read(digest); err != nil {
		fail(err)
	}
	return new(big.Int).SetBytes(digest)
}

// serve answers "keygen" and "sign" lines on stdin, one JSON line each, until stdin closes.
func serve(preparamsPath string) {
	ids := tss.GenerateTestPartyIDs(parties)
	pre := loadOrGeneratePreParams(preparamsPath)
	var keys []keygen.LocalPartySaveData
	var err error
	if keys, err = runKeygen(ids, pre); err != nil {
		fail(err)
	}
	enc := json.NewEncoder(os.Stdout)
	_ = enc.Encode(map[string]any{"op": "ready", "ms": 0})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		start := time.Now()
		switch op := in.Text(); op {
		case "keygen":
			if keys, err = runKeygen(ids, pre); err != nil {
				fail(err)
			}
		case "sign":
			if err = runSign(ids, keys, randomDigest()); err != nil {
				fail(err)
			}
		default:
			fail(fmt.Errorf("unknown request %q", op))
		}
		if err := enc.Encode(map[string]any{"op": in.Text(), "ms": ms(time.Since(start))}); err != nil {
			fail(err)
		}
	}
}

func main() {
	keygens := flag.Int("keygens", 2, "keygen iterations")
	signs := flag.Int("signs", 10, "signing iterations")
	serveMode := flag.Bool("serve", false, "answer keygen/sign requests on stdin (interleaved benchmarks)")
	preparams := flag.String("preparams", "", "with -serve: file caching the parties' pre-params")
	flag.Parse()
	if *serveMode {
		serve(*preparams)
		return
	}

	result := struct {
		PreParamsMs []float64 `json:"preparams_ms"`
		KeygenMs    []float64 `json:"keygen_ms"`
		SignMs      []float64 `json:"sign_ms"`
	}{}
	ids := tss.GenerateTestPartyIDs(parties)
	var keys []keygen.LocalPartySaveData
	for k := 0; k < *keygens; k++ {
		pre := make([]*keygen.LocalPreParams, parties)
		for i := range pre {
			start := time.Now()
			p, err := keygen.GeneratePreParams(10 * time.Minute)
			if err != nil {
				fail(err)
			}
			result.PreParamsMs = append(result.PreParamsMs, ms(time.Since(start)))
			pre[i] = p
		}
		start := time.Now()
		var err error
		if keys, err = runKeygen(ids, pre); err != nil {
			fail(err)
		}
		result.KeygenMs = append(result.KeygenMs, ms(time.Since(start)))
	}
	for s := 0; s < *signs; s++ {
		digest := make([]byte, 32)
		if _, err := rand.Read(digest); err != nil {
			fail(err)
		}
		start := time.Now()
		if err := runSign(ids, keys, new(big.Int).SetBytes(digest)); err != nil {
			fail(err)
		}
		result.SignMs = append(result.SignMs, ms(time.Since(start)))
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tss-lib-bench:", err)
	os.Exit(1)
}
