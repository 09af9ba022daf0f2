// Package pool is meshgen's one worker pool: certificate issuance, cluster
// rendering, prior-state reading and verification all run their
// independent items through Each.
package pool

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each calls f(0..n-1) on up to workers goroutines (GOMAXPROCS when
// workers <= 0). Once an item fails no further items start; Each returns
// the error of the lowest-numbered item that failed, so the error does not
// depend on scheduling.
func Each(n, workers int, f func(i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	var (
		next   atomic.Int64
		failed atomic.Bool
		mu     sync.Mutex
		errAt  = n
		first  error
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					failed.Store(true)
					mu.Lock()
					if i < errAt {
						errAt, first = i, err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// All calls f(0..n-1) on GOMAXPROCS goroutines; f cannot fail.
func All(n int, f func(i int)) {
	_ = Each(n, 0, func(i int) error { f(i); return nil })
}
