package pool

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

func TestEachRunsEveryItemOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 64} {
		const n = 1000
		var seen [n]atomic.Int32
		var running, peak atomic.Int32
		err := Each(n, workers, func(i int) error {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			seen[i].Add(1)
			running.Add(-1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("workers=%d: item %d ran %d times", workers, i, c)
			}
		}
		if workers > 0 && int(peak.Load()) > workers {
			t.Errorf("workers=%d: %d items ran at once", workers, peak.Load())
		}
	}
	if err := Each(0, 4, func(int) error { t.Error("called for n=0"); return nil }); err != nil {
		t.Error(err)
	}
}

func TestEachReturnsLowestFailureAndStops(t *testing.T) {
	var ran atomic.Int32
	err := Each(10000, 2, func(i int) error {
		ran.Add(1)
		if i == 3 || i == 5 {
			return fmt.Errorf("item %d", i)
		}
		return nil
	})
	if err == nil || err.Error() != "item 3" {
		t.Errorf("err = %v, want item 3", err)
	}
	if ran.Load() > 100 {
		t.Errorf("%d items ran after a failure", ran.Load())
	}
	sentinel := errors.New("x")
	if err := Each(1, 1, func(int) error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("err = %v", err)
	}
}

func TestAll(t *testing.T) {
	var sum atomic.Int64
	All(100, func(i int) { sum.Add(int64(i)) })
	if sum.Load() != 4950 {
		t.Errorf("sum = %d", sum.Load())
	}
}
